"""Helpers of the grading tests: a service that grades, students that push and submit.

Grading tests run the real thing: the service's scheduler, the warm worker process,
kernels in the bubblewrap sandbox, git over HTTP. Limits are small so hostile
notebooks finish fast.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from tests.gitutil import GitClient
from tests.utils import ApiClient, MockGraderService

needs_bwrap = pytest.mark.skipif(
    shutil.which("bwrap") is None,
    reason="bubblewrap is not installed (apt-get install bubblewrap; CI installs it)",
)


def grading_config(**overrides: Any) -> Config:
    """A grading service config for tests: fast polling, small sandbox limits."""
    c = Config()
    c.GraderService.grading_enabled = True
    c.GradingScheduler.poll_interval = 0.2
    c.GradingScheduler.max_concurrent_jobs = 2
    c.GradingScheduler.retry_backoff = 0.2
    c.KernelPool.size = 1
    c.Sandbox.memory_limit = 512 * 1024 * 1024
    c.Sandbox.pids_limit = 64
    c.CellTimeoutPolicy.default_cell_timeout = 10
    c.CellTimeoutPolicy.min_cell_timeout = 1
    # kernels talk over Unix sockets in here: pytest's tmp paths are too long for them
    c.LocalAutogradeExecutor.work_dir = tempfile.mkdtemp(prefix="gs-", dir="/tmp")
    for key, value in overrides.items():
        section, trait = key.split("__")
        setattr(c[section], trait, value)
    return c


def answer_notebook(release_nb: Path, answer_source: str) -> nbformat.NotebookNode:
    """The released notebook with the answer cell replaced by ``answer_source``."""
    nb = nbformat.read(release_nb, as_version=4)
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = answer_source
    return nb


class Student:
    """One student with a clone of their assignment repository."""

    def __init__(self, app: MockGraderService, api: ApiClient, name: str, root: Path) -> None:
        self.app = app
        self.api = api
        self.name = name
        self.git = GitClient(app.url, api.tokens[name], name)
        self.root = root / name

    async def submit(
        self,
        lecture_id: int,
        lecture_code: str,
        assignment_id: int,
        answer_source: str,
        *,
        extra_files: dict[str, str] | None = None,
        notebook: str = "hw.ipynb",
    ) -> dict[str, Any]:
        """Clone (first time), write the answer, push, submit; returns the submission."""
        work = self.root / str(assignment_id)
        if not work.exists():
            await self.git.clone(f"{lecture_code}/{assignment_id}/user/{self.name}", work)
        nbformat.write(answer_notebook(work / notebook, answer_source), work / notebook)
        for name, text in (extra_files or {}).items():
            (work / name).write_text(text)
        return await self.submit_work(lecture_id, assignment_id, work)

    async def submit_work(self, lecture_id: int, assignment_id: int, work: Path) -> dict[str, Any]:
        """Commit everything in the clone ``work``, push it and submit the commit."""
        sha = await self.git.commit_all(work, "my work")
        await self.git.run("push", "--quiet", "origin", "main", cwd=work)
        r = await self.api.post(
            f"lectures/{lecture_id}/assignments/{assignment_id}/submissions",
            user=self.name,
            body={"commit_hash": sha},
        )
        assert r.status == 201, r.body
        submission: dict[str, Any] = r.json
        return submission


async def wait_graded(
    api: ApiClient,
    lecture_id: int,
    assignment_id: int,
    submission_id: int,
    *,
    field: str = "auto_status",
    done: tuple[str, ...] = ("automatically_graded", "grading_failed"),
    timeout: float = 90.0,
    user: str = "instructor",
) -> dict[str, Any]:
    """Poll the submission (as staff) until ``field`` reaches one of ``done``."""
    path = f"lectures/{lecture_id}/assignments/{assignment_id}/submissions/{submission_id}"
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        r = await api.get(path, user=user)
        assert r.status == 200, r.body
        if r.json[field] in done:
            result: dict[str, Any] = r.json
            return result
        if loop.time() > deadline:
            raise AssertionError(f"submission {submission_id} still {r.json[field]}: {r.json}")
        await asyncio.sleep(0.2)


async def gradebook_comments(
    api: ApiClient, lecture_id: int, assignment_id: int, submission_id: int
) -> dict[str, str]:
    """grade_id -> the autograder's comment, from the submission's gradebook."""
    r = await api.get(
        f"lectures/{lecture_id}/assignments/{assignment_id}/submissions/{submission_id}/properties",
        user="instructor",
    )
    assert r.status == 200, r.body
    comments: dict[str, str] = {}
    for nb in r.json["notebooks"].values():
        for gid, comment in nb.get("comments_dict", {}).items():
            comments[gid] = comment.get("auto_comment") or ""
    return comments
