"""Fixtures of the converter tests.

- ``release`` (session): ps1 released once with GenerateAssignment into a temp dir;
  gives the release dir, its gradebook and the student notebook.
- ``grade_all(jobs, root) -> {name: (result, out_dir)}``: autogrades many submissions
  (``Job``: notebook(s), release, config, extra files) concurrently, one kernel each,
  two at a time. Test modules grade their whole corpus once this way in a module
  fixture and then check one case per test: a kernel start is most of a case's cost.
- ``memory_limit_prefix(n)``: a ``KernelLauncher.argv_prefix`` that caps the kernel's
  address space at ``n`` bytes, so a memory blow-up test cannot hurt the shared machine.
- ``nbgrader_run`` (session, autouse): when cross-check tests (marker ``nbgrader``) are
  selected and ``GRADER_TEST_SKIP_NBGRADER`` is not 1, starts nbgrader's side of the
  cross-check in the background at the first converter test; None otherwise.

Kernel tests use short time limits so the whole suite stays fast. Config keywords are
``Class__trait=value`` (e.g. ``NotebookRunner__cell_timeout=1.0``).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from nbformat import NotebookNode
from traitlets.config import Config

from grader_service.convert import Autograde, AutogradeResult, GenerateAssignment
from grader_service.convert.gradebook import GradeBookModel, read_gradebook

from .nbgrader_env import NbgraderRun
from .notebooks import crosscheck_source, crosscheck_submissions, read, source_notebook, write


@dataclass
class Release:
    """A released assignment."""

    source_dir: Path
    release_dir: Path
    gradebook: GradeBookModel

    @property
    def student_nb(self) -> NotebookNode:
        """The released ps1 notebook, as a student receives it."""
        return read(self.release_dir / "ps1.ipynb")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """ps1, released once for the whole session."""
    root = tmp_path_factory.mktemp("ps1")
    write(source_notebook(), root / "source" / "ps1.ipynb")
    (root / "source" / "data.csv").write_text("x\n1\n")
    GenerateAssignment().convert(root / "source", root / "release")
    return Release(
        root / "source", root / "release", read_gradebook(root / "release" / "gradebook.json")
    )


Submission = NotebookNode | dict[str, NotebookNode]


def autograde_config(**config: Any) -> Config:
    """Test defaults plus ``Class__trait=value`` settings."""
    c = Config()
    c.NotebookRunner.cell_timeout = 5.0
    for key, value in config.items():
        cls, trait = key.split("__")
        c[cls][trait] = value
    return c


@dataclass
class Job:
    """One submission to grade: notebook (ps1) or {file name: notebook}, release, config."""

    submission: Submission
    release_dir: Path
    config: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)

    def stage(self, sub_dir: Path, out_dir: Path) -> None:
        """Lay out the submission directory and an output directory holding the gradebook."""
        # a NotebookNode is a dict too, so test for it first
        notebooks = (
            {"ps1.ipynb": self.submission}
            if isinstance(self.submission, NotebookNode)
            else self.submission
        )
        for name, nb in notebooks.items():
            write(nb, sub_dir / name)
        sub_dir.mkdir(parents=True, exist_ok=True)
        for name, text in self.extra_files.items():
            (sub_dir / name).write_text(text)
        out_dir.mkdir(parents=True)
        shutil.copy(self.release_dir / "gradebook.json", out_dir / "gradebook.json")


def grade_all(
    jobs: dict[str, Job], root: Path, concurrency: int = 2
) -> dict[str, tuple[AutogradeResult, Path]]:
    """Autograde every job (each in its own kernel), ``concurrency`` at a time.

    Job ``name`` is staged in ``root/name/submission`` and graded into
    ``root/name/autograded`` (the returned directory).
    """

    async def one(
        name: str,
        job: Job,
        limit: asyncio.Semaphore,
    ) -> tuple[AutogradeResult, Path]:
        sub_dir, out_dir = root / name / "submission", root / name / "autograded"
        job.stage(sub_dir, out_dir)
        async with limit:
            grader = Autograde(config=autograde_config(**job.config))
            return await grader.convert_async(sub_dir, out_dir), out_dir

    async def run() -> list[tuple[AutogradeResult, Path]]:
        limit = asyncio.Semaphore(concurrency)
        return await asyncio.gather(*(one(name, job, limit) for name, job in jobs.items()))

    return dict(zip(jobs, asyncio.run(run()), strict=True))


# Sets RLIMIT_AS, then becomes the kernel: works wherever Python does (no prlimit needed).
_RLIMIT_EXEC = (
    "import os, resource, sys; n = int(sys.argv[1]); "
    "resource.setrlimit(resource.RLIMIT_AS, (n, n)); "
    "os.execvp(sys.argv[2], sys.argv[2:])"
)


def memory_limit_prefix(limit_bytes: int) -> list[str]:
    """A KernelLauncher.argv_prefix capping the kernel's address space."""
    return [sys.executable, "-c", _RLIMIT_EXEC, str(limit_bytes)]


@pytest.fixture(scope="session", autouse=True)
def nbgrader_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[NbgraderRun | None]:
    """nbgrader's side of the cross-check, started early so it overlaps the other tests."""
    wanted = any(item.get_closest_marker("nbgrader") for item in request.session.items)
    if not wanted or os.environ.get("GRADER_TEST_SKIP_NBGRADER") == "1":
        yield None
        return
    run = NbgraderRun(
        tmp_path_factory.mktemp("nbgrader-course"),
        "ps1",
        crosscheck_source(),
        crosscheck_submissions,
    ).start()
    yield run
    run.stop()


def scores(result: AutogradeResult, notebook: str = "ps1") -> dict[str, float | None]:
    """grade_id -> automatic score of one notebook."""
    return {c.grade_id: c.score for c in result.notebooks[notebook].cells}
