"""Deadline arithmetic: before, at, inside each late period, after; extensions; recompute."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from grader_service.orm.settings import AssignmentSettings
from grader_service.rules import score_scaling, submission_allowance
from tests.commits import pushed_commit
from tests.utils import ApiClient, MockGraderService, assert_error

DEADLINE = datetime(2030, 3, 1, 12, 0, tzinfo=UTC)
SETTINGS = AssignmentSettings.model_validate(
    {
        "deadline": DEADLINE.isoformat(),
        "late_submission": [{"period": "P1D", "scaling": 0.75}, {"period": "P1W", "scaling": 0.5}],
        "max_submissions": 2,
        "extensions": [
            {"username": "ext", "deadline": (DEADLINE + timedelta(days=2)).isoformat()},
            {"username": "more", "extra_submissions": 3},
        ],
    }
)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("username", "submitted_at", "expected"),
    [
        ("s", DEADLINE - timedelta(days=3), 1.0),
        ("s", DEADLINE, 1.0),  # exactly at the deadline is on time
        ("s", DEADLINE + SECOND, 0.75),
        ("s", DEADLINE + timedelta(days=1), 0.75),  # the end of a period belongs to it
        ("s", DEADLINE + timedelta(days=1) + SECOND, 0.5),
        ("s", DEADLINE + timedelta(weeks=1), 0.5),
        ("s", DEADLINE + timedelta(weeks=1) + SECOND, None),  # too late
        ("ext", DEADLINE + timedelta(days=2), 1.0),  # extension moves the deadline
        ("ext", DEADLINE + timedelta(days=2, hours=1), 0.75),  # and the periods with it
        ("ext", DEADLINE + timedelta(days=9) + SECOND, None),
        ("more", DEADLINE + SECOND, 0.75),  # extra submissions do not move the deadline
    ],
)
def test_score_scaling(username: str, submitted_at: datetime, expected: float | None) -> None:
    assert score_scaling(SETTINGS, username, submitted_at) == expected


def test_no_deadline_means_always_on_time() -> None:
    assert score_scaling(AssignmentSettings(), "s", datetime(2099, 1, 1, tzinfo=UTC)) == 1.0


def test_submission_allowance_with_extension() -> None:
    assert submission_allowance(SETTINGS, "s") == 2
    assert submission_allowance(SETTINGS, "more") == 5
    assert submission_allowance(AssignmentSettings(), "more") is None


def test_invalid_settings_name_the_problem() -> None:
    with pytest.raises(ValueError, match="need a deadline"):
        AssignmentSettings.model_validate({"late_submission": [{"period": "P1D", "scaling": 0.5}]})
    with pytest.raises(ValueError, match="more than once"):
        AssignmentSettings.model_validate({"extensions": [{"username": "a"}, {"username": "a"}]})
    with pytest.raises(ValueError, match="scaling"):
        AssignmentSettings.model_validate(
            {
                "deadline": DEADLINE.isoformat(),
                "late_submission": [{"period": "P1D", "scaling": 1.5}],
            }
        )


@pytest.mark.asyncio
async def test_late_submission_scaled_and_recomputed_when_deadline_moves(
    app: MockGraderService, api: ApiClient
) -> None:
    now = datetime.now(UTC)
    settings = {
        "deadline": (now - timedelta(hours=1)).isoformat(),
        "late_submission": [{"period": "P1D", "scaling": 0.5}],
    }
    r = await api.post(
        "lectures/1/assignments", user="instructor", body={"name": "late", "settings": settings}
    )
    path = f"lectures/1/assignments/{r.json['id']}"
    for status in ("pushed", "released"):
        await api.put(path, user="instructor", body={"status": status})
    aid = int(path.rsplit("/", 1)[1])
    commit = await pushed_commit(app, "lect1", aid, "student")
    r = await api.post(f"{path}/submissions", user="student", body={"commit_hash": commit})
    assert r.status == 201 and r.json["score_scaling"] == 0.5
    sid = r.json["id"]
    await api.put(f"{path}/submissions/{sid}/properties", user="tutor", body={"notebooks": {}})

    # the instructor extends the deadline: the submission is on time now
    later = {**settings, "deadline": (now + timedelta(days=1)).isoformat()}
    assert (await api.put(path, user="instructor", body={"settings": later})).status == 200
    r = await api.get(f"{path}/submissions/{sid}", user="tutor")
    assert r.json["score_scaling"] == 1.0

    # an individual extension takes precedence for that student only
    earlier = {
        **settings,
        "deadline": (now - timedelta(days=3)).isoformat(),
        "extensions": [{"username": "student", "deadline": (now - timedelta(hours=2)).isoformat()}],
    }
    assert (await api.put(path, user="instructor", body={"settings": earlier})).status == 200
    r = await api.get(f"{path}/submissions/{sid}", user="tutor")
    assert r.json["score_scaling"] == 0.5

    # no extension: beyond the last period, the accepted submission keeps 0 points
    del earlier["extensions"]
    assert (await api.put(path, user="instructor", body={"settings": earlier})).status == 200
    r = await api.get(f"{path}/submissions/{sid}", user="tutor")
    assert r.json["score_scaling"] == 0.0 and r.json["score"] == 0.0
    assert_error(
        await api.post(
            f"{path}/submissions",
            user="student",
            body={"commit_hash": await pushed_commit(app, "lect1", aid, "student", "again")},
        ),
        409,
        "deadline",
    )
