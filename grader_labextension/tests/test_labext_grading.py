"""Manual grading and edit copies of a submission, through the instructor's extension."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import nbformat
from grader_fixtures import (
    LECTURE_CODE,
    LECTURE_ID,
    GraderService,
    LabClient,
    answer,
    as_instructor,
    needs_grading,
    submit_as_student,
    wait_for_submission,
)

__all__ = ["as_instructor"]  # the extension runs as the instructor here (a fixture)


def route(assignment: dict[str, Any], submission: dict[str, Any]) -> str:
    return f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions/{submission['id']}"


def answer_cell(path: Path) -> str:
    nb = nbformat.read(path, as_version=4)
    return next(c.source for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution"))


@needs_grading
async def test_manual_grading_pulls_the_autograded_notebooks(
    lab: LabClient, release: Any, grader_service: GraderService, tmp_path: Path, jp_root_dir: Path
) -> None:
    assignment = release()
    submission = submit_as_student(
        grader_service, assignment, tmp_path / "student", "def answer():\n    return 42  # s\n"
    )
    wait_for_submission(
        grader_service,
        assignment,
        submission["id"],
        lambda s: s["auto_status"] in ("automatically_graded", "grading_failed"),
    )
    status, pulled = await lab.post(f"{route(assignment, submission)}/manual")
    assert status == 200, pulled
    folder = (
        jp_root_dir
        / "lectures"
        / LECTURE_CODE
        / "manualgrade"
        / str(assignment["id"])
        / str(submission["id"])
    )
    assert Path(pulled["path"]) == folder and "hw.ipynb" in pulled["files"], pulled
    assert pulled["lab_path"] == folder.relative_to(jp_root_dir).as_posix()
    graded = (folder / "hw.ipynb").read_text()
    assert "return 42  # s" in graded
    # the autograded version: the hidden test is back in and it was executed
    assert "answer() > 0" in graded
    assert "execution_count" in graded and '"execution_count": null' not in graded

    # a grader's notes in the snapshot survive a refresh on a branch of their own
    (folder / "hw.ipynb").write_text(graded.replace("# s", "# looked at"))
    status, again = await lab.post(f"{route(assignment, submission)}/manual")
    assert status == 200, again
    assert "# looked at" not in (folder / "hw.ipynb").read_text()
    kept = subprocess.run(
        ["git", "log", "--all", "-p", "--format=%s"], cwd=folder, capture_output=True, text=True
    ).stdout
    assert "# looked at" in kept


async def test_manual_grading_of_an_ungraded_submission_shows_the_students_files(
    lab: LabClient, release: Any, grader_service: GraderService, tmp_path: Path
) -> None:
    assignment = release(autograde_type="unassisted")
    work = tmp_path / "student"
    first = submit_as_student(grader_service, assignment, work, "def answer():\n    return 1\n")
    submit_as_student(grader_service, assignment, work, "def answer():\n    return 2\n")
    # the first submission's commit, not the newest files of the repository
    status, pulled = await lab.post(f"{route(assignment, first)}/manual")
    assert status == 200, pulled
    assert "return 1" in answer_cell(Path(pulled["path"]) / "hw.ipynb")

    status, error = await lab.post(
        f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions/999999/manual"
    )
    assert status == 404, error


async def test_edit_copy_pull_and_push(
    lab: LabClient, release: Any, grader_service: GraderService, tmp_path: Path
) -> None:
    assignment = release(autograde_type="unassisted")
    submission = submit_as_student(
        grader_service, assignment, tmp_path / "student", "def answer()\n    return 42\n"
    )
    status, pulled = await lab.post(f"{route(assignment, submission)}/edit")
    assert status == 200, pulled
    folder = Path(pulled["path"])
    assert folder.parts[-3:] == ("edit", str(assignment["id"]), str(submission["id"]))
    notebook = folder / "hw.ipynb"
    assert "def answer()\n" in answer_cell(notebook)

    # the tutor fixes the syntax error and pushes the correction
    answer(notebook, "def answer():\n    return 42\n")
    status, pushed = await lab.post(
        f"{route(assignment, submission)}/edit/push", {"message": "fix the colon"}
    )
    assert status == 200 and len(pushed["commit"]) == 40, pushed
    status, after = grader_service.api(
        "GET",
        f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions/{submission['id']}",
        "instructor",
    )
    assert after["edited"] is True, after
    server = tmp_path / "edit-on-server"
    grader_service.git(
        "clone",
        "--quiet",
        f"{grader_service.url}git/{LECTURE_CODE}/{assignment['id']}/edit/{submission['id']}",
        str(server),
    )
    assert answer_cell(server / "hw.ipynb") == "def answer():\n    return 42\n"
    log = subprocess.run(
        ["git", "log", "--format=%s"], cwd=server, capture_output=True, text=True, check=True
    ).stdout
    assert "fix the colon" in log

    # pulling the edit copy again keeps the correction (it is not recreated)
    status, again = await lab.post(f"{route(assignment, submission)}/edit")
    assert status == 200, again
    assert answer_cell(notebook) == "def answer():\n    return 42\n"
