"""A student restores an earlier submission: the files come back, nothing is lost."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from grader_fixtures import LECTURE_CODE, GraderService, LabClient, answer
from test_labext_student import local


def git(work: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=work, capture_output=True, text=True, check=True
    ).stdout


async def test_restore_brings_back_a_submission_and_keeps_the_current_work(
    lab: LabClient, release: Any, jp_root_dir: Path, grader_service: GraderService, tmp_path: Path
) -> None:
    assignment = release()
    await lab.post(f"{local(assignment)}/fetch")
    work = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    answer(work / "hw.ipynb", "def answer():\n    return 1  # first try\n")
    status, first = await lab.post(f"{local(assignment)}/submit", {"message": "first"})
    assert status == 201, first
    answer(work / "hw.ipynb", "def answer():\n    return 2  # second try\n")
    status, second = await lab.post(f"{local(assignment)}/submit", {"message": "second"})
    assert status == 201, second

    # work in progress, never submitted, and a scratch file the service would refuse
    answer(work / "hw.ipynb", "def answer():\n    return 3  # unsaved idea\n")
    (work / "scratch.txt").write_text("my notes")

    status, state = await lab.post(f"{local(assignment)}/restore", {"commit": first["commit_hash"]})
    assert status == 200, state
    assert "return 1  # first try" in (work / "hw.ipynb").read_text()
    assert state["changed_files"] == [] and state["untracked_files"] == ["scratch.txt"], state
    assert (work / "scratch.txt").read_text() == "my notes"  # untouched on disk

    # the unsubmitted idea is a commit in the history, and the server has it too
    saved = state["saved_commit"]
    assert saved, state
    assert "return 3  # unsaved idea" in git(work, "show", f"{saved}:hw.ipynb")
    server_copy = tmp_path / "server-copy"
    grader_service.git(
        "clone",
        "--quiet",
        f"{grader_service.url}git/{LECTURE_CODE}/{assignment['id']}/user/student",
        str(server_copy),
        user="student",
    )
    server_log = git(server_copy, "log", "--format=%H")
    assert saved in server_log and second["commit_hash"] in server_log
    # the restore is one new commit on top, and it is what the server's main holds
    assert git(server_copy, "rev-parse", "HEAD").strip() == state["commit"]
    assert git(work, "rev-parse", "HEAD~1").strip() == saved
    assert "return 1  # first try" in (server_copy / "hw.ipynb").read_text()

    # restoring the current files again changes nothing and saves nothing
    status, again = await lab.post(f"{local(assignment)}/restore", {"commit": first["commit_hash"]})
    assert status == 200 and again["saved_commit"] is None, again
    assert again["commit"] == state["commit"]


async def test_restore_refuses_commits_that_are_not_submissions(
    lab: LabClient, release: Any
) -> None:
    assignment = release()
    await lab.post(f"{local(assignment)}/fetch")
    status, error = await lab.post(f"{local(assignment)}/restore", {"commit": "f" * 40})
    assert status == 409 and "not in your repository" in error["message"], error
    status, error = await lab.post(f"{local(assignment)}/restore", {"commit": "HEAD~1"})
    assert status == 409 and "not a submission" in error["message"], error
    status, error = await lab.post(f"{local(assignment)}/restore", {})
    assert status == 400, error
