"""generate_assignment (the student version + gradebook) and generate_solution."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path

from nbformat import NotebookNode
from traitlets import Bool, Dict, Unicode

from . import metadata as md
from .base import BaseConverter
from .errors import ConvertError, MetadataError, RegionError
from .gradebook import (
    GRADEBOOK_FILENAME,
    GradeBookModel,
    GradeCell,
    Notebook,
    SolutionCell,
    SourceCell,
    TaskCell,
    write_gradebook,
)
from .regions import (
    ALWAYS_HIDDEN_TESTS,
    HIDDEN_TESTS,
    MARK_SCHEME,
    SOLUTION,
    Region,
    replace_region,
    strip_region,
)


def _check_region_placement(cell: NotebookNode, index: int, name: str) -> None:
    """Markers outside the cells meant for them would ship answers or tests to students."""
    checks: list[tuple[Region, bool, str]] = [
        (SOLUTION, md.is_solution(cell), "an answer cell"),
        (HIDDEN_TESTS, md.is_grade(cell) and not md.is_solution(cell), "a test cell"),
        (ALWAYS_HIDDEN_TESTS, md.is_grade(cell) and not md.is_solution(cell), "a test cell"),
    ]
    for region, allowed, what in checks:
        if region.present(cell.source) and not allowed:
            raise RegionError(
                f"'{region.begin}' may only appear in {what}", notebook=name, cell_index=index
            )


class GenerateAssignment(BaseConverter):
    """Turn instructor notebooks into the student version and record the gradebook."""

    code_stub = Dict(
        value_trait=Unicode(),
        default_value={
            "python": "# YOUR CODE HERE\nraise NotImplementedError()",
            "R": "# YOUR CODE HERE\nstop('No Answer Given!')",
            "julia": '# YOUR CODE HERE\nthrow(ErrorException("No Answer Given!"))',
        },
        help="Replacement for a solution region in code cells, per kernel language.",
    ).tag(config=True)

    text_stub = Unicode(
        "YOUR ANSWER HERE", help="Replacement for a solution region in markdown cells."
    ).tag(config=True)

    lock_all_cells = Bool(
        False, help="Make every cell read-only, not only graded and read-only cells."
    ).tag(config=True)

    copy_files = Bool(
        True, help="Copy non-notebook files of the source directory into the release."
    ).tag(config=True)

    def stub_for(self, nb: NotebookNode, cell: NotebookNode) -> str:
        """The stub replacing a solution in ``cell``."""
        if cell.cell_type != "code":
            return str(self.text_stub)
        language = (
            nb.metadata.get("kernelspec", {}).get("language")
            or nb.metadata.get("language_info", {}).get("name")
            or "python"
        )
        return str(self.code_stub.get(language, self.code_stub["python"]))

    def convert_notebook(
        self,
        source_nb: NotebookNode,
        name: str,
    ) -> tuple[NotebookNode, Notebook]:
        """Return the student version of one notebook and its gradebook entry."""
        nb = copy.deepcopy(source_nb)
        md.upgrade_notebook(nb, name=name)
        gb_nb = Notebook(
            id=name, name=name, kernelspec=json.dumps(nb.metadata.get("kernelspec", {}))
        )
        for index, cell in enumerate(nb.cells):
            _check_region_placement(cell, index, name)
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
            try:
                if md.is_solution(cell):
                    new, found = replace_region(cell.source, SOLUTION, self.stub_for(nb, cell))
                    cell.source = new if found else self.stub_for(nb, cell)
                if md.is_nbgrader_cell(cell):
                    self._record(gb_nb, cell)
                self._finish_release_cell(cell)
            except RegionError as err:
                raise RegionError(str(err), notebook=name, cell_index=index) from None
        return nb, gb_nb

    def _record(self, gb_nb: Notebook, cell: NotebookNode) -> None:
        """Save the cell (hidden tests included) into the gradebook."""
        meta = md.nbgrader_meta(cell)
        gid = md.grade_id(cell)
        if meta is None or gid is None:  # validate_cell guarantees both
            raise MetadataError("nbgrader cell without grade_id")
        meta["locked"] = md.is_locked(cell)
        meta["cell_type"] = cell.cell_type
        meta.pop("checksum", None)
        common = {
            "id": gid,
            "name": gid,
            "notebook_id": gb_nb.id,
            "grade_id": gid,
            "comment_id": gid,
        }
        if md.is_grade(cell):
            gb_nb.grade_cells_dict[gid] = GradeCell(
                **common, max_score=float(meta["points"]), cell_type=cell.cell_type
            )
        if md.is_task(cell):
            gb_nb.task_cells_dict[gid] = TaskCell(
                **common, max_score=float(meta["points"]), cell_type="markdown"
            )
        if md.is_solution(cell):
            gb_nb.solution_cells_dict[gid] = SolutionCell(**common)
        gb_nb.source_cells_dict[gid] = SourceCell(
            id=gid,
            name=gid,
            notebook_id=gb_nb.id,
            cell_type=cell.cell_type,
            locked=md.is_locked(cell),
            source=cell.source,
            checksum=md.compute_checksum(cell),
        )

    def _finish_release_cell(self, cell: NotebookNode) -> None:
        """Remove hidden tests, lock, and checksum the cell as the student will see it."""
        if md.is_grade(cell) and not md.is_solution(cell):
            cell.source = strip_region(strip_region(cell.source, ALWAYS_HIDDEN_TESTS), HIDDEN_TESTS)
        # the gradebook keeps the mark scheme for graders; students never see it
        cell.source = strip_region(cell.source, MARK_SCHEME)
        if md.is_nbgrader_cell(cell):
            meta = md.nbgrader_meta(cell)
            assert meta is not None
            meta["checksum"] = md.compute_checksum(cell)
            # lets the lab extension offer "revert this cell"
            cell.metadata["revert"] = cell.source
            cell.metadata["deletable"] = False
        if md.is_locked(cell) or self.lock_all_cells:
            cell.metadata["editable"] = False

    def convert(self, input_dir: str | Path, output_dir: str | Path) -> GradeBookModel:
        """Release every matching notebook of ``input_dir`` into ``output_dir``.

        Writes the student notebooks and ``gradebook.json`` (which holds hidden tests:
        never hand it to students) and returns the gradebook.
        """
        started = time.perf_counter()
        input_dir, output_dir = Path(input_dir), Path(output_dir)
        notebooks = self.find_notebooks(input_dir)
        if not notebooks:
            raise ConvertError(f"no notebooks matching {self.file_pattern!r} in {input_dir}")
        gradebook = GradeBookModel()
        releases = []
        for path in notebooks:
            name = self.notebook_id(path, input_dir)
            release, gb_nb = self.convert_notebook(self.read_notebook(path), name)
            gradebook.notebooks[name] = gb_nb
            releases.append((path, release))
        # write only once every notebook converted, so an error leaves no half release
        output_dir.mkdir(parents=True, exist_ok=True)
        for path, release in releases:
            self.write_notebook(release, output_dir / path.relative_to(input_dir))
        if self.copy_files:
            gradebook.extra_files = self.copy_extra_files(input_dir, output_dir)
        write_gradebook(gradebook, output_dir / GRADEBOOK_FILENAME)
        self.log.info(
            "Released %d notebook(s) in %.3f s", len(releases), time.perf_counter() - started
        )
        return gradebook


class GenerateSolution(BaseConverter):
    """Produce the solution notebooks: answers kept, region markers removed, no secrets."""

    include_hidden_tests = Bool(
        False, help="Keep 'HIDDEN TESTS' regions (never 'ALWAYS HIDDEN TESTS') in solutions."
    ).tag(config=True)

    def convert_notebook(self, source_nb: NotebookNode, name: str) -> NotebookNode:
        """Return the solution version of one source notebook."""
        nb = copy.deepcopy(source_nb)
        md.upgrade_notebook(nb, name=name)
        for index, cell in enumerate(nb.cells):
            _check_region_placement(cell, index, name)
            try:
                replace_region(cell.source, SOLUTION, None)  # raises if unbalanced
                # keep the answer, drop only its delimiter lines
                source = _unwrap(cell.source, SOLUTION)
                source = strip_region(source, ALWAYS_HIDDEN_TESTS)
                source = (
                    _unwrap(source, HIDDEN_TESTS)
                    if self.include_hidden_tests
                    else strip_region(source, HIDDEN_TESTS)
                )
                cell.source = strip_region(source, MARK_SCHEME)
            except RegionError as err:
                raise RegionError(str(err), notebook=name, cell_index=index) from None
            if cell.cell_type == "code":
                cell.outputs = []
                cell.execution_count = None
        return nb

    def convert(self, input_dir: str | Path, output_dir: str | Path) -> list[Path]:
        """Write the solution version of every matching notebook; return the written paths."""
        input_dir, output_dir = Path(input_dir), Path(output_dir)
        written = []
        for path in self.find_notebooks(input_dir):
            nb = self.convert_notebook(self.read_notebook(path), self.notebook_id(path, input_dir))
            target = output_dir / path.relative_to(input_dir)
            self.write_notebook(nb, target)
            written.append(target)
        return written


def _unwrap(source: str, region: Region) -> str:
    """Remove only the delimiter lines of ``region``, keeping its content."""
    lines = source.splitlines(keepends=True)
    kept = [ln for ln in lines if region.begin not in ln and region.end not in ln]
    text = "".join(kept)
    if text.endswith("\n") and not source.endswith("\n"):
        text = text[:-1]
    return text
