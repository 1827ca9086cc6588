"""A student's work through the server extension, against a real grader service."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import nbformat
from grader_fixtures import LECTURE_CODE, LECTURE_ID, TOKENS, GraderService, LabClient, answer

ASSIGNMENTS = f"api/lectures/{LECTURE_ID}/assignments"


def local(assignment: dict[str, Any]) -> str:
    """The extension's route prefix of one assignment's local work."""
    return f"lectures/{LECTURE_ID}/assignments/{assignment['id']}"


def git_log(path: Path) -> list[str]:
    out = subprocess.run(
        ["git", "log", "--format=%H %s"], cwd=path, capture_output=True, text=True, check=True
    )
    return out.stdout.splitlines()


async def test_lists_lectures_and_assignments_through_the_proxy(
    lab: LabClient, release: Any
) -> None:
    assignment = release()
    status, lectures = await lab.get("api/lectures")
    assert status == 200, lectures
    assert [lecture["code"] for lecture in lectures] == [LECTURE_CODE]
    status, assignments = await lab.get(ASSIGNMENTS)
    assert status == 200, assignments
    assert assignment["id"] in [a["id"] for a in assignments]
    status, count = await lab.get(f"{ASSIGNMENTS}/{assignment['id']}/submissions/count")
    assert status == 200 and count["submission_count"] == 0, count


async def test_fetch_edit_submit(
    lab: LabClient, release: Any, jp_root_dir: Path, grader_service: GraderService
) -> None:
    assignment = release()
    status, state = await lab.get(f"{local(assignment)}/local")
    assert status == 200 and state["fetched"] is False, state

    status, state = await lab.post(f"{local(assignment)}/fetch")
    assert status == 200, state
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    assert state["fetched"] and Path(state["path"]) == work
    assert state["lab_path"] == f"lectures/{LECTURE_CODE}/assignments/{assignment['id']}"
    assert state["files"] == ["hw.ipynb"]
    # the student version: no solution, no hidden test
    released = (work / "hw.ipynb").read_text()
    assert "return 42" not in released and "answer() > 0" not in released
    # the token went through the environment only
    for secret_place in (work / ".git" / "config", work / ".git" / "FETCH_HEAD"):
        if secret_place.exists():
            assert TOKENS["student"] not in secret_place.read_text()

    answer(work / "hw.ipynb", "def answer():\n    return 42\n")
    status, state = await lab.get(f"{local(assignment)}/local")
    assert state["changed_files"] == ["hw.ipynb"], state

    # updating now could overwrite the answer: refused, with what to do
    status, error = await lab.post(f"{local(assignment)}/fetch")
    assert status == 409, error
    assert error["error"] == "Conflict" and "hw.ipynb" in error["message"]
    assert "Submit" in error["message"]
    assert "return 42" in (work / "hw.ipynb").read_text()

    status, submission = await lab.post(f"{local(assignment)}/submit", {"message": "my answer"})
    assert status == 201, submission
    head = git_log(work)[0].split()[0]
    assert submission["commit_hash"] == head
    assert submission["username"] == "student"
    assert submission["auto_status"] in ("pending", "not_graded", "automatically_graded")

    status, submissions = await lab.get(f"{ASSIGNMENTS}/{assignment['id']}/submissions")
    assert status == 200 and [s["id"] for s in submissions] == [submission["id"]]
    # the service has the commit: the instructor sees the answer in the student's repo
    status, count = await lab.get(f"{ASSIGNMENTS}/{assignment['id']}/submissions/count")
    assert count["submission_count"] == 1

    # after submitting, the working tree is clean and updating works again
    status, state = await lab.post(f"{local(assignment)}/fetch")
    assert status == 200 and state["changed_files"] == [], state


async def test_submit_selected_files_only(lab: LabClient, release: Any, jp_root_dir: Path) -> None:
    assignment = release()
    await lab.post(f"{local(assignment)}/fetch")
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    answer(work / "hw.ipynb", "def answer():\n    return 42\n")
    (work / "notes.txt").write_text("scratch")
    status, submission = await lab.post(f"{local(assignment)}/submit", {"files": ["hw.ipynb"]})
    assert status == 201, submission
    status, state = await lab.get(f"{local(assignment)}/local")
    assert state["untracked_files"] == ["notes.txt"], state

    status, error = await lab.post(f"{local(assignment)}/submit", {"files": ["../../etc"]})
    assert status == 409 and "not a file of the assignment" in error["message"], error
    status, error = await lab.post(f"{local(assignment)}/submit", {"files": "hw.ipynb"})
    assert status == 400, error


async def test_reset_keeps_the_work_in_history(
    lab: LabClient, release: Any, jp_root_dir: Path
) -> None:
    assignment = release()
    await lab.post(f"{local(assignment)}/fetch")
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    pristine = (work / "hw.ipynb").read_text()
    answer(work / "hw.ipynb", "def answer():\n    return 41  # almost\n")

    status, state = await lab.post(f"{local(assignment)}/reset")
    assert status == 200, state
    assert state["saved_commit"], state
    assert nbformat.reads((work / "hw.ipynb").read_text(), as_version=4) == nbformat.reads(
        pristine, as_version=4
    )
    log = git_log(work)
    assert any(line.startswith(state["saved_commit"]) for line in log), log
    saved = subprocess.run(
        ["git", "show", f"{state['saved_commit']}:hw.ipynb"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "return 41" in saved
    assert state["changed_files"] == []


async def test_service_errors_pass_through_as_json(lab: LabClient, release: Any) -> None:
    status, error = await lab.get("api/lectures/999999")
    assert status in (403, 404)
    assert set(error) == {"status", "error", "message"} and error["status"] == status

    status, error = await lab.post(
        f"api/lectures/{LECTURE_ID}/assignments", {"name": "students cannot create"}
    )
    assert status == 403 and error["status"] == 403, error

    status, error = await lab.post(f"lectures/{LECTURE_ID}/assignments/999999/fetch")
    assert status == 404 and error["message"], error

    status, error = await lab.post("lectures/999999/assignments/1/fetch")
    assert status in (403, 404) and error["message"], error

    status, error = await lab.get("api/lectures/../health")
    assert status in (400, 404), error


async def test_feedback_before_it_exists_is_a_clear_conflict(
    lab: LabClient, release: Any, jp_root_dir: Path
) -> None:
    assignment = release(autograde_type="unassisted")
    await lab.post(f"{local(assignment)}/fetch")
    status, submission = await lab.post(f"{local(assignment)}/submit")
    assert status == 201, submission
    status, error = await lab.post(f"{local(assignment)}/submissions/{submission['id']}/feedback")
    assert status == 409 and "no feedback" in error["message"], error


async def test_a_refused_submission_changes_nothing_and_the_rest_can_be_submitted(
    lab: LabClient, release: Any, jp_root_dir: Path
) -> None:
    assignment = release(allowed_files=["*.csv"])
    await lab.post(f"{local(assignment)}/fetch")
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    head = git_log(work)[0]
    answer(work / "hw.ipynb", "def answer():\n    return 42\n")
    (work / "data.csv").write_text("x\n1\n")
    (work / "scratch.txt").write_text("notes")

    # everything at once: the service refuses the text file, and says which and why
    status, error = await lab.post(f"{local(assignment)}/submit")
    assert status == 502, error
    assert "scratch.txt" in error["message"] and "*.csv" in error["message"], error
    assert "Nothing was sent" in error["message"]
    # not even a local commit is left behind that would block the next try
    assert git_log(work)[0] == head
    status, state = await lab.get(f"{local(assignment)}/local")
    assert state["changed_files"] == ["hw.ipynb"], state
    assert state["untracked_files"] == ["data.csv", "scratch.txt"], state

    # what the panel sends after its check: the allowed files only
    status, submission = await lab.post(
        f"{local(assignment)}/submit", {"files": ["hw.ipynb", "data.csv"]}
    )
    assert status == 201, submission
    status, state = await lab.get(f"{local(assignment)}/local")
    assert state["untracked_files"] == ["scratch.txt"] and state["changed_files"] == [], state
