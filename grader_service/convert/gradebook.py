"""gradebook.json: the per-assignment record of graded cells, sources and grades.

The JSON layout is Grader Service 0.12's (reference §6): dataclasses serialised with a
``_type`` tag, cells keyed by grade_id, notebooks keyed by notebook name, and
``schema_version: "1"`` at the top. Existing tooling reads what we write and we read
what it writes. Derived values (``max_score`` of a grade, notebook totals) are computed
here, never trusted from the file.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from .errors import GradebookError

GRADEBOOK_SCHEMA_VERSION = "1"
GRADEBOOK_FILENAME = "gradebook.json"

T = TypeVar("T", bound="_Model")


@dataclass
class _Model:
    """A record that round-trips through a ``_type``-tagged JSON dict."""

    _derived: ClassVar[tuple[str, ...]] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, with the ``_type`` tag."""
        data = asdict(self)
        data["_type"] = type(self).__name__
        return data

    @classmethod
    def from_dict(cls: type[T], data: dict[str, Any]) -> T:
        """Build from JSON, ignoring the tag, derived values and unknown keys."""
        if not isinstance(data, dict):
            raise GradebookError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass
class GradeCell(_Model):
    """A graded cell: an autograded test or a manually graded answer."""

    id: str
    name: str
    notebook_id: str
    grade_id: str | None = None
    comment_id: str | None = None
    max_score: float = 0.0
    cell_type: str = "code"


@dataclass
class TaskCell(GradeCell):
    """A manually graded task (a markdown cell describing work done elsewhere)."""


@dataclass
class SolutionCell(_Model):
    """A cell in which the student writes an answer."""

    id: str
    name: str
    notebook_id: str
    grade_id: str | None = None
    comment_id: str | None = None


@dataclass
class SourceCell(_Model):
    """The instructor's source of a graded, answer, task or read-only cell."""

    id: str
    name: str
    notebook_id: str
    cell_type: str = "code"
    locked: bool = False
    source: str = ""
    checksum: str | None = None


@dataclass
class Grade(_Model):
    """The score of one graded cell in one submission."""

    id: str
    notebook_id: str
    cell_id: str
    auto_score: float | None = None
    manual_score: float | None = None
    extra_credit: float | None = None
    needs_manual_grade: bool = False
    max_score_gradecell: float | None = None
    max_score_taskcell: float | None = None
    failed_tests: bool = False

    @property
    def max_score(self) -> float:
        """The cell's maximum, from the task or the grade cell."""
        return float(self.max_score_taskcell or self.max_score_gradecell or 0.0)

    @property
    def score(self) -> float:
        """Manual score if set, else the automatic one, plus extra credit."""
        base = self.manual_score if self.manual_score is not None else self.auto_score
        return float(base or 0.0) + float(self.extra_credit or 0.0)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; ``max_score`` is written for readers, never read back."""
        data = super().to_dict()
        data["max_score"] = self.max_score
        return data


@dataclass
class Comment(_Model):
    """Automatic and manual feedback text for one cell."""

    id: str
    notebook_id: str
    cell_id: str
    auto_comment: str | None = None
    manual_comment: str | None = None

    @property
    def comment(self) -> str | None:
        """The manual comment if a grader wrote one, else the automatic one."""
        return self.manual_comment if self.manual_comment is not None else self.auto_comment


_CELL_DICTS: dict[str, type[_Model]] = {
    "grade_cells_dict": GradeCell,
    "solution_cells_dict": SolutionCell,
    "task_cells_dict": TaskCell,
    "source_cells_dict": SourceCell,
    "grades_dict": Grade,
    "comments_dict": Comment,
}


@dataclass
class Notebook(_Model):
    """One notebook of an assignment and, after autograde, its grades."""

    id: str
    name: str
    kernelspec: str = "{}"
    flagged: bool = False
    grade_cells_dict: dict[str, GradeCell] = field(default_factory=dict)
    solution_cells_dict: dict[str, SolutionCell] = field(default_factory=dict)
    task_cells_dict: dict[str, TaskCell] = field(default_factory=dict)
    source_cells_dict: dict[str, SourceCell] = field(default_factory=dict)
    grades_dict: dict[str, Grade] = field(default_factory=dict)
    comments_dict: dict[str, Comment] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form, each cell tagged with its own ``_type``."""
        data: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "flagged": self.flagged,
            "kernelspec": self.kernelspec,
        }
        for key in _CELL_DICTS:
            data[key] = {k: v.to_dict() for k, v in getattr(self, key).items()}
        data["_type"] = "Notebook"
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Notebook:
        """Build from JSON; cell dicts may be missing in hand-written files."""
        if not isinstance(data, dict) or "name" not in data:
            raise GradebookError("notebook entry without a name")
        kwargs: dict[str, Any] = {
            "id": data.get("id") or data["name"],
            "name": data["name"],
            "kernelspec": data.get("kernelspec") or "{}",
            "flagged": bool(data.get("flagged") or False),
        }
        for key, model in _CELL_DICTS.items():
            kwargs[key] = {k: model.from_dict(v) for k, v in (data.get(key) or {}).items()}
        return cls(**kwargs)

    @property
    def graded_cells(self) -> list[GradeCell]:
        """Grade and task cells: everything that carries points."""
        return [*self.grade_cells_dict.values(), *self.task_cells_dict.values()]

    @property
    def max_score(self) -> float:
        """Sum of the points of every graded cell."""
        return sum(float(c.max_score) for c in self.graded_cells)

    @property
    def score(self) -> float:
        """Sum of the scores of the graded cells that have a grade."""
        ids = {c.name for c in self.graded_cells}
        return sum(g.score for k, g in self.grades_dict.items() if k in ids)

    @property
    def failed_tests(self) -> bool:
        """True if any autograded test failed."""
        return any(g.failed_tests for g in self.grades_dict.values())


@dataclass
class GradeBookModel(_Model):
    """The whole gradebook of one assignment (or one submission after autograde)."""

    notebooks: dict[str, Notebook] = field(default_factory=dict)
    extra_files: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form written to gradebook.json."""
        return {
            "notebooks": {k: nb.to_dict() for k, nb in self.notebooks.items()},
            "extra_files": list(self.extra_files),
            "_type": "GradeBookModel",
            "schema_version": GRADEBOOK_SCHEMA_VERSION,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeBookModel:
        """Build from JSON; rejects gradebooks from a newer format version."""
        if not isinstance(data, dict):
            raise GradebookError("gradebook must be a JSON object")
        version = str(data.get("schema_version", GRADEBOOK_SCHEMA_VERSION))
        if version != GRADEBOOK_SCHEMA_VERSION:
            raise GradebookError(
                f"gradebook schema_version {version!r} is not supported "
                f"(expected {GRADEBOOK_SCHEMA_VERSION!r})"
            )
        notebooks = {k: Notebook.from_dict(v) for k, v in (data.get("notebooks") or {}).items()}
        return cls(notebooks=notebooks, extra_files=list(data.get("extra_files") or []))

    @property
    def score(self) -> float:
        """Total score over all notebooks."""
        return sum(nb.score for nb in self.notebooks.values())

    @property
    def max_score(self) -> float:
        """Total points over all notebooks."""
        return sum(nb.max_score for nb in self.notebooks.values())


def read_gradebook(path: str | os.PathLike[str]) -> GradeBookModel:
    """Read gradebook.json; raises GradebookError with the reason if it is unusable."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradebookError(f"gradebook not found: {path}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise GradebookError(f"gradebook {path} is not valid JSON: {err}") from None
    try:
        return GradeBookModel.from_dict(data)
    except (TypeError, KeyError) as err:
        raise GradebookError(f"gradebook {path} is malformed: {err}") from None


def write_gradebook(gradebook: GradeBookModel, path: str | os.PathLike[str]) -> None:
    """Write gradebook.json atomically, so a crash never leaves half a gradebook."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".gradebook-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(gradebook.to_dict(), fh, indent=1)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
