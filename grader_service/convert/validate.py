"""validate: what a student can check before submitting (and an instructor on a source).

Reports malformed grading metadata, locked cells the student changed (by the checksum
stored when the assignment was released), answers still unanswered, and, after running
the notebook, which tests pass and fail. Nothing here decides a grade.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from pathlib import Path

from nbformat import NotebookNode
from traitlets import Bool, Instance, default

from . import metadata as md
from .base import BaseConverter
from .errors import ConvertError, MetadataError
from .execute import NotebookRunner


@dataclass
class NotebookValidation:
    """Findings for one notebook."""

    name: str
    errors: list[str] = field(default_factory=list)
    changed_locked_cells: list[str] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)
    passed_tests: list[str] = field(default_factory=list)
    failed_tests: dict[str, str] = field(default_factory=dict)
    cell_errors: dict[int, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True if nothing needs the student's attention."""
        return not (
            self.errors or self.changed_locked_cells or self.unanswered or self.failed_tests
        )

    def summary(self) -> str:
        """Human-readable lines for the terminal."""
        lines = [f"{self.name}: {'OK' if self.ok else 'needs attention'}"]
        lines += [f"  error: {e}" for e in self.errors]
        lines += [
            f"  locked cell changed (it will be restored when graded): {g}"
            for g in self.changed_locked_cells
        ]
        lines += [f"  not answered yet: {g}" for g in self.unanswered]
        lines += [f"  test passed: {g}" for g in self.passed_tests]
        lines += [f"  test failed: {g}: {r}" for g, r in self.failed_tests.items()]
        lines += [f"  error in cell {i}: {r}" for i, r in sorted(self.cell_errors.items())]
        return "\n".join(lines)


class Validate(BaseConverter):
    """Check notebooks for problems without grading them."""

    execute = Bool(True, help="Run the notebook to find failing tests.").tag(config=True)

    runner = Instance(NotebookRunner, help="Executes the notebooks; configure its limits.")

    @default("runner")
    def _runner_default(self) -> NotebookRunner:
        return NotebookRunner(parent=self)

    def validate(self, input_dir: str | Path) -> list[NotebookValidation]:
        """Synchronous :meth:`validate_async`."""
        return asyncio.run(self.validate_async(input_dir))

    async def validate_async(self, input_dir: str | Path) -> list[NotebookValidation]:
        """Validate every matching notebook of ``input_dir``."""
        input_dir = Path(input_dir)
        reports = []
        for path in self.find_notebooks(input_dir):
            report = NotebookValidation(self.notebook_id(path, input_dir))
            try:
                nb = self.read_notebook(path)
            except ConvertError as err:
                report.errors.append(str(err))
            else:
                await self.validate_notebook(nb, report, cwd=path.parent)
            reports.append(report)
        return reports

    async def validate_notebook(
        self, nb: NotebookNode, report: NotebookValidation, *, cwd: Path
    ) -> None:
        """Fill ``report`` for one notebook."""
        nb = copy.deepcopy(nb)
        try:
            md.upgrade_notebook(nb, name=report.name)
        except MetadataError as err:
            report.errors.append(str(err))
            return
        for cell in nb.cells:
            meta = md.nbgrader_meta(cell) or {}
            gid = md.grade_id(cell)
            checksum = meta.get("checksum")
            if gid is None or not checksum:
                continue
            unchanged = md.compute_checksum(cell) == checksum
            if md.is_solution(cell) and unchanged:
                report.unanswered.append(gid)
            elif md.is_locked(cell) and not unchanged:
                report.changed_locked_cells.append(gid)
        if not self.execute:
            return
        kernel = nb.metadata.get("kernelspec", {}).get("name")
        runs = await self.runner.run(
            nb, cwd=str(cwd), env={"NBGRADER_VALIDATING": "1"}, kernel_name=kernel
        )
        for index, run in sorted(runs.items()):
            cell = nb.cells[index]
            gid = md.grade_id(cell)
            is_test = md.is_grade(cell) and not md.is_solution(cell)
            if is_test and gid:
                if run.succeeded:
                    report.passed_tests.append(gid)
                else:
                    report.failed_tests[gid] = run.reason or run.status
            elif not run.succeeded:
                report.cell_errors[index] = run.reason or run.status
