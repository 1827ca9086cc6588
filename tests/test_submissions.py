"""Submissions: the submission rules, listing, statuses, withdrawal, grading actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import grader_service.store.submissions as store
from tests.commits import pushed_commit
from tests.utils import ApiClient, MockGraderService, assert_error

pytestmark = pytest.mark.asyncio

A = "lectures/1/assignments"


async def work(app: MockGraderService, path: str, user: str = "student") -> dict[str, str]:
    """A submission body naming a commit ``user`` pushed to the assignment at ``path``."""
    return {"commit_hash": await pushed_commit(app, "lect1", int(path.rsplit("/", 1)[1]), user)}


async def released(api: ApiClient, **settings: Any) -> str:
    """Create and release an assignment; return its URL path."""
    r = await api.post(A, user="instructor", body={"name": "hw", "settings": settings})
    assert r.status == 201, r.body
    path = f"{A}/{r.json['id']}"
    for status in ("pushed", "released"):
        assert (await api.put(path, user="instructor", body={"status": status})).status == 200
    return path


async def test_submit_queues_autograde_in_same_transaction(
    app: MockGraderService, api: ApiClient
) -> None:
    path = await released(api)
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    assert r.status == 201, r.body
    sub = r.json
    assert sub["auto_status"] == "pending" and sub["username"] == "student"
    assert sub["job"]["kind"] == "autograde" and sub["job"]["state"] == "queued"
    assert sub["job"]["queue_position"] == 0
    # re-posting the action returns the same job
    r = await api.post(f"{path}/submissions/{sub['id']}/autograde", user="tutor")
    assert r.status == 202 and r.json["id"] == sub["job"]["id"]
    r = await api.get(f"{path}/grading/{sub['id']}/auto", user="tutor")
    assert r.status == 202 and r.json["id"] == sub["job"]["id"]


async def test_unassisted_queues_nothing(app: MockGraderService, api: ApiClient) -> None:
    path = await released(api, autograde_type="unassisted")
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    assert r.json["job"] is None and r.json["auto_status"] == "not_graded"


async def test_bad_commit_and_unreleased(api: ApiClient) -> None:
    path = await released(api)
    assert_error(
        await api.post(f"{path}/submissions", user="student", body={"commit_hash": "xyz"}),
        400,
        "body.commit_hash",
    )
    # a well-formed hash that was never pushed
    assert_error(
        await api.post(f"{path}/submissions", user="student", body={"commit_hash": "e" * 40}),
        409,
        "Push your work first",
    )
    r = await api.post(A, user="instructor", body={"name": "draft"})
    assert_error(
        await api.post(
            f"{A}/{r.json['id']}/submissions", user="student", body={"commit_hash": "a" * 40}
        ),
        404,
    )


async def test_max_submissions_with_extension(app: MockGraderService, api: ApiClient) -> None:
    path = await released(
        api, max_submissions=1, extensions=[{"username": "student", "extra_submissions": 1}]
    )
    for _ in range(2):
        r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
        assert r.status == 201
    assert_error(
        await api.post(f"{path}/submissions", user="student", body=await work(app, path)),
        409,
        "all 2 submissions",
    )
    r = await api.get(f"{path}/submissions/count", user="student")
    assert r.json == {"submission_count": 2, "allowed": 2, "remaining": 0}
    # staff may still submit for the student
    r = await api.post(
        f"{path}/submissions",
        user="instructor",
        body={**await work(app, path), "username": "student"},
    )
    assert r.status == 201 and r.json["username"] == "student"


async def test_students_cannot_see_others_or_scores_before_feedback(
    app: MockGraderService, api: ApiClient
) -> None:
    path = await released(api)
    r = await api.post(
        f"{path}/submissions",
        user="instructor",
        body={**await work(app, path, "tutor"), "username": "tutor"},
    )
    tutor_sub = r.json["id"]
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    own = r.json["id"]
    assert_error(await api.get(f"{path}/submissions/{tutor_sub}", user="student"), 404)
    assert_error(await api.get(f"{path}/submissions/{tutor_sub}/properties", user="student"), 404)
    assert_error(await api.get(f"{path}/submissions/{own}/logs", user="student"), 403)
    assert_error(await api.get(f"{path}/submissions?instructor-version=true", user="student"), 403)
    r = await api.get(f"{path}/submissions", user="student")
    assert [s["id"] for s in r.json] == [own]
    # staff set a score; the student sees it only with feedback
    gradebook: dict[str, Any] = {"notebooks": {}, "extra_files": [], "_type": "GradeBookModel"}
    r = await api.put(f"{path}/submissions/{own}/properties", user="tutor", body=gradebook)
    assert r.status == 200
    assert (await api.get(f"{path}/submissions/{own}", user="student")).json["score"] is None
    await api.put(f"{path}/submissions/{own}", user="tutor", body={"feedback_status": "generated"})
    assert (await api.get(f"{path}/submissions/{own}", user="student")).json["score"] == 0.0


async def test_latest_and_best_filters_break_ties(app: MockGraderService, api: ApiClient) -> None:
    path = await released(api)
    ids = []
    for _ in range(3):
        r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
        ids.append(r.json["id"])
    r = await api.get(f"{path}/submissions?filter=latest&instructor-version=true", user="tutor")
    assert [s["id"] for s in r.json] == [ids[-1]]
    # equal (null) scores: best falls back to the latest
    r = await api.get(f"{path}/submissions?filter=best&instructor-version=true", user="tutor")
    assert [s["id"] for s in r.json] == [ids[-1]]
    r = await api.get(f"{path}/submissions?instructor-version=true&limit=2&offset=1", user="tutor")
    assert [s["id"] for s in r.json] == [ids[1], ids[0]] and r.headers["X-Total-Count"] == "3"
    r = await api.get(f"{path}/submissions?instructor-version=true&format=csv", user="tutor")
    assert r.headers["Content-Type"].startswith("text/csv")
    assert r.body.decode().splitlines()[0].startswith("id,assignment_id,username")


async def test_withdraw_before_deadline_only(app: MockGraderService, api: ApiClient) -> None:
    soon = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    path = await released(api, deadline=soon)
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    sid = r.json["id"]
    assert_error(
        await api.delete(f"{path}/submissions/{sid}", user="tutor"), 403, "Only the student"
    )
    assert (await api.delete(f"{path}/submissions/{sid}", user="student")).status == 204
    assert (await api.get(f"{path}/submissions", user="student")).json == []
    # withdrawing does not refund the attempt
    assert (await api.get(f"{path}/submissions/count", user="student")).json[
        "submission_count"
    ] == 1


async def test_grade_sheet_and_user_submissions(app: MockGraderService, api: ApiClient) -> None:
    path = await released(api)
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    await api.put(
        f"{path}/submissions/{r.json['id']}/properties", user="tutor", body={"notebooks": {}}
    )
    r = await api.get("lectures/1/submissions", user="instructor")
    assert r.json == [
        {
            "user_id": r.json[0]["user_id"],
            "username": "student",
            "display_name": "student",
            "scores": {"hw": 0.0},
        }
    ]
    r = await api.get("lectures/1/submissions?format=csv&filter=latest", user="tutor")
    assert r.body.decode().splitlines() == ["username,display_name,hw", "student,student,0.0"]
    assert_error(await api.get("lectures/1/submissions", user="student"), 403)
    r = await api.get("users/student/submissions", user="student")
    assert r.json[0]["lecture_code"] == "lect1" and r.json[0]["score"] is None
    assert_error(await api.get("users/student/submissions", user="tutor"), 403)


async def test_csv_exports_never_become_spreadsheet_formulas(api: ApiClient) -> None:
    r = await api.post("lectures/1/assignments", user="instructor", body={"name": "=1+1"})
    assert r.status == 201, r.body
    r = await api.get("lectures/1/submissions?format=csv", user="tutor")
    header = r.body.decode().splitlines()[0]
    assert header.split(",")[-1] == "'=1+1"


async def test_failed_request_leaves_no_partial_rows(
    app: MockGraderService, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The submission row is written before its job; if queueing fails, neither stays."""
    path = await released(api)

    def broken_queue(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("queue unavailable")

    monkeypatch.setattr(store, "new_submission_job", broken_queue)
    r = await api.post(f"{path}/submissions", user="student", body=await work(app, path))
    assert_error(r, 500)
    monkeypatch.undo()
    assert (await api.get(f"{path}/submissions", user="student")).json == []
    assert (await api.get(f"{path}/submissions/count", user="student")).json[
        "submission_count"
    ] == 0
