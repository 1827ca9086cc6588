"""generate_assignment and generate_solution."""

from __future__ import annotations

import json
import time

import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader_service.convert import (
    GenerateAssignment,
    GenerateSolution,
    RegionError,
    SchemaTooNewError,
)
from grader_service.convert import metadata as md

from .notebooks import (
    ALWAYS_HIDDEN_TEXT,
    HIDDEN_TEXT,
    MARK_SCHEME_TEXT,
    POINTS,
    find,
    meta,
    read,
    source_notebook,
    write,
)


def test_release_hides_solutions_hidden_tests_and_mark_schemes(release) -> None:
    text = (release.release_dir / "ps1.ipynb").read_text()
    for secret in (
        "i * i for i in range(1, n + 1)",
        "a, b = b, a + b",
        HIDDEN_TEXT,
        ALWAYS_HIDDEN_TEXT,
        MARK_SCHEME_TEXT,
        "Squares grow quadratically",
        "BEGIN SOLUTION",
        "HIDDEN TESTS",
    ):
        assert secret not in text
    nb = release.student_nb
    assert find(nb, "squares").source == (
        "def squares(n):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
    )
    assert find(nb, "explain").source == "YOUR ANSWER HERE\n"
    assert find(nb, "test_squares").source == "assert squares(3) == [1, 4, 9]\n"


def test_release_locks_cells_and_records_checksums(release) -> None:
    nb = release.student_nb
    test = find(nb, "test_squares")
    assert test.metadata.editable is False and test.metadata.deletable is False
    assert test.metadata.nbgrader["locked"] is True
    assert find(nb, "squares").metadata.get("editable", True) is True
    for cell in nb.cells:
        assert md.compute_checksum(cell) == cell.metadata.nbgrader["checksum"]
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_gradebook_records_points_and_full_sources(release) -> None:
    gb_nb = release.gradebook.notebooks["ps1"]
    assert {k: c.max_score for k, c in gb_nb.grade_cells_dict.items()} == {
        k: v for k, v in POINTS.items() if k != "task_plot"
    }
    assert gb_nb.task_cells_dict["task_plot"].max_score == 1.0
    assert set(gb_nb.solution_cells_dict) == {"squares", "fib", "explain"}
    assert HIDDEN_TEXT in gb_nb.source_cells_dict["test_squares"].source
    assert ALWAYS_HIDDEN_TEXT in gb_nb.source_cells_dict["test_fib"].source
    assert "intro" in gb_nb.source_cells_dict  # read-only cells are recorded too
    assert json.loads(gb_nb.kernelspec)["name"] == "python3"
    assert release.gradebook.extra_files == ["data.csv"]
    assert (release.release_dir / "data.csv").read_text() == "x\n1\n"
    raw = json.loads((release.release_dir / "gradebook.json").read_text())
    assert raw["notebooks"]["ps1"]["grade_cells_dict"]["test_fib"]["_type"] == "GradeCell"


@pytest.mark.parametrize("version", [1, 2])
def test_old_schema_notebooks_are_released_as_v3(tmp_path, version: int) -> None:
    nb = source_notebook()
    # task cells only exist since v3
    nb.cells = [c for c in nb.cells if c.metadata.nbgrader["grade_id"] != "task_plot"]
    for cell in nb.cells:
        cell.metadata.nbgrader["schema_version"] = version
    write(nb, tmp_path / "src" / "ps1.ipynb")
    gb = GenerateAssignment().convert(tmp_path / "src", tmp_path / "out")
    out = read(tmp_path / "out" / "ps1.ipynb")
    assert {c.metadata.nbgrader["schema_version"] for c in out.cells} == {3}
    assert gb.notebooks["ps1"].max_score == 11.0


def test_too_new_schema_fails_with_notebook_and_cell(tmp_path) -> None:
    nb = new_notebook(cells=[new_code_cell("1", metadata=meta("a", solution=True, version=7))])
    write(nb, tmp_path / "src" / "hw.ipynb")
    with pytest.raises(SchemaTooNewError, match=r"hw, cell 0: .*schema_version 7"):
        GenerateAssignment().convert(tmp_path / "src", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing half-released


def test_solution_markers_outside_answer_cells_are_refused(tmp_path) -> None:
    nb = new_notebook(cells=[new_code_cell("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")])
    write(nb, tmp_path / "src" / "hw.ipynb")
    with pytest.raises(RegionError, match="may only appear in an answer cell"):
        GenerateAssignment().convert(tmp_path / "src", tmp_path / "out")


def test_forty_cell_notebook_releases_in_under_100ms() -> None:
    base = source_notebook()
    nb = new_notebook(metadata=base.metadata)
    for i in range(5):
        for cell in base.cells:
            copy = cell.copy()
            copy.metadata = {
                "nbgrader": {
                    **cell.metadata.nbgrader,
                    "grade_id": f"{cell.metadata.nbgrader['grade_id']}{i}",
                }
            }
            nb.cells.append(copy)
    assert len(nb.cells) == 40
    converter = GenerateAssignment()
    started = time.perf_counter()
    converter.convert_notebook(nb, "big")
    assert time.perf_counter() - started < 0.1


def test_solution_keeps_answers_and_never_always_hidden_tests(release, tmp_path) -> None:
    GenerateSolution().convert(release.source_dir, tmp_path / "sol")
    text = (tmp_path / "sol" / "ps1.ipynb").read_text()
    assert "i * i for i in range(1, n + 1)" in text
    assert "BEGIN SOLUTION" not in text
    assert ALWAYS_HIDDEN_TEXT not in text and HIDDEN_TEXT not in text
    assert MARK_SCHEME_TEXT not in text
    GenerateSolution(include_hidden_tests=True).convert(release.source_dir, tmp_path / "sol2")
    text2 = (tmp_path / "sol2" / "ps1.ipynb").read_text()
    assert HIDDEN_TEXT in text2 and ALWAYS_HIDDEN_TEXT not in text2
