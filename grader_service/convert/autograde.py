"""autograde: grade a submission against the gradebook, robust to tampering.

Order of work, and why:

1. The gradebook is read before any student code runs (a kernel could rewrite it).
2. Each notebook of the gradebook is looked up in the submission; a missing, renamed or
   unreadable notebook scores 0 on every cell, with the reason in the comments.
3. The notebook is rebuilt from the gradebook (:mod:`.integrity`); tampering is reported
   and, with ``tamper_policy = "zero"``, also scores the notebook 0.
4. It runs in a fresh kernel (:mod:`.execute`) with ``NBGRADER_EXECUTION=autograde``.
5. Scores are computed here from the harness's record of each cell (reply status and
   error outputs), using nbgrader's rules: a test scores full points unless it failed;
   a numeric result of a passing test is partial credit (clamped to [0, points]);
   unanswered manually graded answers score 0; the rest awaits a human.
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from traitlets import Bool, Dict, Enum, Instance, Unicode, default

from . import metadata as md
from .base import BaseConverter
from .execute import CellRun, NotebookRunner
from .gradebook import (
    GRADEBOOK_FILENAME,
    Comment,
    Grade,
    GradeBookModel,
    Notebook,
    read_gradebook,
    write_gradebook,
)
from .harness import guard_harness, reap_descendants
from .integrity import TamperEvent, is_unanswered, restore_notebook
from .regions import strip_hidden


@dataclass
class CellResult:
    """The autograde outcome of one graded cell."""

    grade_id: str
    kind: str  # "test", "answer" (manually graded), "task"
    score: float | None
    max_score: float
    status: str  # "passed", "failed", "partial", "manual", "unanswered", "missing"
    reason: str | None = None


@dataclass
class NotebookResult:
    """The autograde outcome of one notebook."""

    name: str
    status: str  # "graded", "missing", "unreadable"
    cells: list[CellResult] = field(default_factory=list)
    events: list[TamperEvent] = field(default_factory=list)
    reason: str | None = None

    @property
    def score(self) -> float:
        """Points awarded automatically."""
        return sum(c.score or 0.0 for c in self.cells)

    @property
    def max_score(self) -> float:
        """Points available."""
        return sum(c.max_score for c in self.cells)


@dataclass
class AutogradeResult:
    """Everything autograde decided, for the caller (the service stores it)."""

    notebooks: dict[str, NotebookResult]
    gradebook: GradeBookModel
    unexpected_notebooks: list[str] = field(default_factory=list)

    @property
    def score(self) -> float:
        """Total points awarded automatically."""
        return sum(nb.score for nb in self.notebooks.values())

    @property
    def max_score(self) -> float:
        """Total points available."""
        return sum(nb.max_score for nb in self.notebooks.values())

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (without the gradebook)."""
        return {
            "score": self.score,
            "max_score": self.max_score,
            "unexpected_notebooks": self.unexpected_notebooks,
            "notebooks": {
                k: {**asdict(v), "score": v.score, "max_score": v.max_score}
                for k, v in self.notebooks.items()
            },
        }


def _partial_credit(result: str | None, max_score: float) -> tuple[float, str | None]:
    """nbgrader's partial credit: a passing test whose value is a number scores that number.

    ``result`` is the harness's record of the test cell's own value (see CellRun.result),
    not an output from the notebook, so output that student code publishes or floods
    during the test cannot stand in for it.
    """
    if result is None:
        return max_score, None
    try:
        value = float(result.strip())
    except ValueError:
        return max_score, None
    if math.isnan(value) or value < 0:
        return 0.0, f"the test reported an invalid score {result!r}"
    if value > max_score:
        return max_score, f"the test reported {value:g} points, capped at {max_score:g}"
    return value, None


class Autograde(BaseConverter):
    """Grade the notebooks of a submission; write graded notebooks and the gradebook."""

    tamper_policy = Enum(
        ["restore", "zero"],
        "restore",
        help="""What tampering costs. 'restore' (nbgrader's behaviour): restored cells are
        graded normally and the changes are reported in the comments. 'zero': a notebook
        with any tampering scores 0 on every cell (still reported).""",
    ).tag(config=True)

    fail_on_stderr = Bool(
        False,
        help="""Fail a test cell that wrote to stderr even without an error, as nbgrader
        (0.9) does. Off by default, because warnings go to stderr too and a library's
        DeprecationWarning should cost no points; turn it on for nbgrader's exact scores.""",
    ).tag(config=True)

    extra_env = Dict(
        Unicode(),
        help="Extra kernel environment; NBGRADER_EXECUTION=autograde is always set.",
    ).tag(config=True)

    report_file = Unicode(
        "",
        help="If set, a JSON summary (scores, reasons, tampering) is written to this path "
        "(relative paths are relative to the output directory).",
    ).tag(config=True)

    isolate_harness = Bool(
        False,
        help="""Protect this process from the student code it runs when both share a
        user (a grading pod): make it non-dumpable (no ptrace, no /proc/<pid>/mem) and a
        child subreaper, and kill every process left behind before writing any result,
        so a background process cannot rewrite the gradebook afterwards. Linux only.""",
    ).tag(config=True)

    runner = Instance(NotebookRunner, help="Executes the notebooks; configure its limits.")

    @default("runner")
    def _runner_default(self) -> NotebookRunner:
        return NotebookRunner(parent=self)

    def convert(
        self, input_dir: str | Path, output_dir: str | Path, gradebook: GradeBookModel | None = None
    ) -> AutogradeResult:
        """Synchronous :meth:`convert_async` (for the CLI; not from inside an event loop)."""
        return asyncio.run(self.convert_async(input_dir, output_dir, gradebook))

    async def convert_async(
        self, input_dir: str | Path, output_dir: str | Path, gradebook: GradeBookModel | None = None
    ) -> AutogradeResult:
        """Grade ``input_dir`` against ``gradebook`` (default: OUTPUT/gradebook.json)."""
        input_dir, output_dir = Path(input_dir), Path(output_dir)
        if self.isolate_harness and not guard_harness():
            raise RuntimeError("isolate_harness needs Linux (prctl)")
        if gradebook is None:
            gradebook = read_gradebook(output_dir / GRADEBOOK_FILENAME)
        submitted = {self.notebook_id(p, input_dir): p for p in self.find_notebooks(input_dir)}
        unexpected = sorted(f"{k}.ipynb" for k in submitted if k not in gradebook.notebooks)
        result = AutogradeResult({}, gradebook, unexpected)
        graded: list[tuple[Path, NotebookNode]] = []
        for name, gb_nb in gradebook.notebooks.items():
            path = submitted.get(name)
            if path is None:
                reason = f"notebook '{name}.ipynb' was not submitted"
                if unexpected:
                    reason += f" (found instead: {', '.join(unexpected)}; was it renamed?)"
                result.notebooks[name] = self._score_missing(gb_nb, "missing", reason)
                continue
            try:
                student_nb = self.read_notebook(path)
            except Exception as err:
                result.notebooks[name] = self._score_missing(gb_nb, "unreadable", str(err))
                continue
            nb, nb_result = await self.grade_notebook(student_nb, gb_nb, cwd=path.parent)
            result.notebooks[name] = nb_result
            graded.append((output_dir / path.relative_to(input_dir), nb))
        if self.isolate_harness:
            left = await asyncio.to_thread(reap_descendants)
            if left:
                self.log.warning("Killed %d processes the student code left running", left)
        output_dir.mkdir(parents=True, exist_ok=True)
        for target, nb in graded:
            self.write_notebook(nb, target)
        write_gradebook(gradebook, output_dir / GRADEBOOK_FILENAME)
        if self.report_file:
            (output_dir / self.report_file).write_text(json.dumps(result.to_dict(), indent=1))
        self.log.info("Autograded: %.2f / %.2f points", result.score, result.max_score)
        return result

    async def grade_notebook(
        self, student_nb: NotebookNode, gb_nb: Notebook, *, cwd: Path
    ) -> tuple[NotebookNode, NotebookResult]:
        """Rebuild, execute and score one notebook; updates ``gb_nb`` grades and comments."""
        nb, events = restore_notebook(student_nb, gb_nb)
        kernelspec = json.loads(gb_nb.kernelspec or "{}")
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        for event in events:
            self.log.warning("%s: %s", gb_nb.name, event.message)
        runs = await self.runner.run(
            nb,
            cwd=str(cwd),
            env={**self.extra_env, "NBGRADER_EXECUTION": "autograde"},
            kernel_name=kernelspec.get("name"),
        )
        nb_result = NotebookResult(gb_nb.name, "graded", events=events)
        index_of = {md.grade_id(c): i for i, c in enumerate(nb.cells) if md.grade_id(c)}
        for gid in gb_nb.source_cells_dict:
            cell = nb.cells[index_of[gid]]
            cell_result = self._score_cell(gb_nb, gid, cell, runs.get(index_of[gid]))
            if cell_result is not None:
                nb_result.cells.append(cell_result)
        if events and self.tamper_policy == "zero":
            for cr in nb_result.cells:
                cr.score, cr.status = 0.0, "failed"
                cr.reason = "the notebook was tampered with (see comments)"
        self._save(gb_nb, nb_result, events)
        for cell in nb.cells:
            # instructors see hidden tests in the graded notebook, never always-hidden ones
            cell.source = strip_hidden(cell.source, always_hidden_only=True)
        return nb, nb_result

    def _score_cell(
        self, gb_nb: Notebook, gid: str, cell: NotebookNode, run: CellRun | None
    ) -> CellResult | None:
        if gid in gb_nb.task_cells_dict:
            return CellResult(gid, "task", None, gb_nb.task_cells_dict[gid].max_score, "manual")
        if gid not in gb_nb.grade_cells_dict:
            return None
        points = float(gb_nb.grade_cells_dict[gid].max_score)
        if gid in gb_nb.solution_cells_dict:
            if is_unanswered(gb_nb, gid, cell):
                return CellResult(gid, "answer", 0.0, points, "unanswered", "No response.")
            return CellResult(gid, "answer", None, points, "manual")
        if cell.cell_type != "code":
            return CellResult(gid, "test", None, points, "manual")
        if run is None or not run.succeeded:
            reason = run.reason if run is not None else "the cell was not executed"
            return CellResult(gid, "test", 0.0, points, "failed", reason)
        if self.fail_on_stderr and run.wrote_stderr:
            return CellResult(gid, "test", 0.0, points, "failed", "the test wrote to stderr")
        score, note = _partial_credit(run.result, points)
        status = "passed" if score == points else "partial"
        return CellResult(gid, "test", score, points, status, note)

    def _score_missing(self, gb_nb: Notebook, status: str, reason: str) -> NotebookResult:
        nb_result = NotebookResult(gb_nb.name, status, reason=reason)
        for cell in gb_nb.graded_cells:
            kind = (
                "task"
                if cell.name in gb_nb.task_cells_dict
                else ("answer" if cell.name in gb_nb.solution_cells_dict else "test")
            )
            nb_result.cells.append(
                CellResult(cell.name, kind, 0.0, float(cell.max_score), "missing", reason)
            )
        self._save(gb_nb, nb_result, [])
        return nb_result

    def _save(self, gb_nb: Notebook, nb_result: NotebookResult, events: list[TamperEvent]) -> None:
        """Write grades and comments into the gradebook, keeping manual scores."""
        by_cell: dict[str | None, list[str]] = {}
        for event in events:
            by_cell.setdefault(event.grade_id, []).append(event.message)
        for cr in nb_result.cells:
            old = gb_nb.grades_dict.get(cr.grade_id)
            grade = Grade(
                id=cr.grade_id,
                notebook_id=gb_nb.id,
                cell_id=cr.grade_id,
                auto_score=cr.score,
                manual_score=old.manual_score if old else None,
                extra_credit=old.extra_credit if old else None,
                max_score_gradecell=(
                    gb_nb.grade_cells_dict[cr.grade_id].max_score
                    if cr.grade_id in gb_nb.grade_cells_dict
                    else None
                ),
                max_score_taskcell=(
                    gb_nb.task_cells_dict[cr.grade_id].max_score
                    if cr.grade_id in gb_nb.task_cells_dict
                    else None
                ),
            )
            grade.needs_manual_grade = cr.score is None or grade.manual_score is not None
            grade.failed_tests = cr.kind == "test" and cr.score == 0.0
            gb_nb.grades_dict[cr.grade_id] = grade
        for gid in gb_nb.source_cells_dict:
            texts = [cr.reason for cr in nb_result.cells if cr.grade_id == gid and cr.reason]
            texts += by_cell.get(gid, [])
            if gid == next(iter(gb_nb.source_cells_dict), None):
                texts += by_cell.get(None, [])  # notebook-wide events go on the first cell
            old_comment = gb_nb.comments_dict.get(gid)
            if (
                not texts
                and old_comment is None
                and gid not in gb_nb.solution_cells_dict
                and gid not in gb_nb.task_cells_dict
            ):
                continue
            gb_nb.comments_dict[gid] = Comment(
                id=gid,
                notebook_id=gb_nb.id,
                cell_id=gid,
                auto_comment="\n".join(texts) or None,
                manual_comment=old_comment.manual_comment if old_comment else None,
            )
