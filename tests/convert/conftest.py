"""Fixtures of the converter tests.

- ``release`` (session): ps1 released once with GenerateAssignment into a temp dir;
  gives the release dir, its gradebook and the student notebook.
- ``grade`` (function): ``grade(submission_nb, **runner_config) -> (result, out_dir)``
  autogrades one submission in a fresh directory (one kernel start).

Kernel tests use short time limits so the whole suite stays fast.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from nbformat import NotebookNode
from traitlets.config import Config

from grader_service.convert import Autograde, AutogradeResult, GenerateAssignment
from grader_service.convert.gradebook import GradeBookModel, read_gradebook

from .notebooks import read, source_notebook, write


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
    return Release(root / "source", root / "release",
                   read_gradebook(root / "release" / "gradebook.json"))


GradeFn = Callable[..., tuple[AutogradeResult, Path]]


@pytest.fixture
def grade(release: Release, tmp_path: Path) -> GradeFn:
    """Autograde a submission notebook (or a dict of notebooks) against ps1."""

    runs = iter(range(100))

    def _grade(submission: NotebookNode | dict[str, NotebookNode], *, extra_files:
               dict[str, str] | None = None, **config: Any) -> tuple[AutogradeResult, Path]:
        n = next(runs)
        sub_dir = tmp_path / ("submission" if n == 0 else f"submission{n}")
        out_dir = tmp_path / f"autograded{n}"
        # a NotebookNode is a dict too, so test for it first
        notebooks = {"ps1.ipynb": submission} if isinstance(submission, NotebookNode) \
            else submission
        for name, nb in notebooks.items():
            write(nb, sub_dir / name)
        sub_dir.mkdir(exist_ok=True)
        for name, text in (extra_files or {}).items():
            (sub_dir / name).write_text(text)
        out_dir.mkdir()
        shutil.copy(release.release_dir / "gradebook.json", out_dir / "gradebook.json")
        c = Config()
        c.NotebookRunner.cell_timeout = 5.0
        for key, value in config.items():
            cls, trait = key.split("__")
            c[cls][trait] = value
        result = Autograde(config=c).convert(sub_dir, out_dir)
        return result, out_dir

    return _grade


def scores(result: AutogradeResult, notebook: str = "ps1") -> dict[str, float | None]:
    """grade_id -> automatic score of one notebook."""
    return {c.grade_id: c.score for c in result.notebooks[notebook].cells}
