"""generate_feedback (no leaks), validate, and the grader-convert command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from grader_service.convert import GenerateFeedback, Validate
from grader_service.convert.gradebook import read_gradebook
from grader_service.convert.main import main

from .notebooks import (
    ALWAYS_HIDDEN_TEXT,
    FIB_OK,
    HIDDEN_TEXT,
    MARK_SCHEME_TEXT,
    SQUARES_OFF_BY_ONE,
    SQUARES_OK,
    fill,
    find,
    meta,
    write,
)


@pytest.fixture(scope="module")
def graded_by_cli(release, tmp_path_factory) -> Path:
    """A partly wrong submission autograded through ``grader-convert autograde``."""
    root = tmp_path_factory.mktemp("cli")
    write(
        fill(release.student_nb, {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_OK}),
        root / "sub" / "ps1.ipynb",
    )
    (root / "out").mkdir()
    shutil.copy(release.release_dir / "gradebook.json", root / "out")
    assert (
        main(
            [
                "autograde",
                "-i",
                str(root / "sub"),
                "-o",
                str(root / "out"),
                "--NotebookRunner.cell_timeout=5",
                "--quiet",
            ]
        )
        == 0
    )
    return root / "out"


def test_cli_autograde_writes_scores_into_the_gradebook(graded_by_cli) -> None:
    gb = read_gradebook(graded_by_cli / "gradebook.json").notebooks["ps1"]
    assert {k: g.auto_score for k, g in gb.grades_dict.items()} == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }
    assert (graded_by_cli / "ps1.ipynb").is_file()


def test_feedback_shows_scores_and_never_hidden_tests(graded_by_cli, tmp_path) -> None:
    assert main(["generate_feedback", "-i", str(graded_by_cli), "-o", str(tmp_path)]) == 0
    page = (tmp_path / "ps1.html").read_text()
    for secret in (
        HIDDEN_TEXT,
        ALWAYS_HIDDEN_TEXT,
        MARK_SCHEME_TEXT,
        "HIDDEN TESTS",
        "squares(1) == [1]",
        "fib(10) == 55",
    ):
        assert secret not in page
    assert "Score: 4 / 12" in page
    assert "0 / 2 point(s)" in page and "1 / 4 point(s)" in page
    assert "No response." in page
    assert "Some tests in this cell failed." in page  # instead of the hidden assertion
    assert "assert squares(3) == [1, 4, 9]" in page  # visible tests stay visible
    assert not (tmp_path / "gradebook.json").exists()


def test_feedback_can_show_hidden_but_never_always_hidden_tests(graded_by_cli) -> None:
    gb = read_gradebook(graded_by_cli / "gradebook.json")
    from grader_service.convert.base import BaseConverter

    nb = BaseConverter.read_notebook(graded_by_cli / "ps1.ipynb")
    page = GenerateFeedback(show_hidden_tests=True).render_notebook(nb, gb.notebooks["ps1"])
    assert HIDDEN_TEXT in page and ALWAYS_HIDDEN_TEXT not in page
    missing = GenerateFeedback().render_notebook(None, gb.notebooks["ps1"])
    assert "This notebook was not submitted." in missing


def test_feedback_escapes_student_html(release, graded_by_cli, tmp_path) -> None:
    gb = read_gradebook(graded_by_cli / "gradebook.json").notebooks["ps1"]
    nb = fill(release.student_nb, {"explain": "<script>alert(1)</script>"})
    page = GenerateFeedback().render_notebook(nb, gb)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_validate_reports_failures_changes_and_unanswered_cells(release, tmp_path) -> None:
    sub = fill(release.student_nb, {"squares": SQUARES_OFF_BY_ONE})
    find(sub, "test_fib").source = "assert True"
    write(sub, tmp_path / "ps1.ipynb")
    [report] = Validate().validate(tmp_path)
    assert not report.ok
    assert report.changed_locked_cells == ["test_fib"]
    assert report.unanswered == ["fib", "explain"]
    assert report.passed_tests == ["test_fib"]
    assert report.failed_tests["test_squares"].startswith("AssertionError")
    assert "test failed: test_squares" in report.summary()


def test_validate_cli_reports_malformed_metadata(tmp_path, capsys) -> None:
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[new_code_cell("1", metadata=meta("t", grade=True, points=1, version=5))]
    )
    write(nb, tmp_path / "in" / "hw.ipynb")
    code = main(["validate", "-i", str(tmp_path / "in"), "-o", str(tmp_path / "out")])
    assert code == 1
    assert "schema_version 5 is newer" in capsys.readouterr().out
    data = json.loads((tmp_path / "out" / "validation.json").read_text())
    assert data[0]["ok"] is False


def test_validate_passes_a_correct_source_notebook_without_kernel_noise(release) -> None:
    [report] = Validate().validate(release.source_dir)
    assert report.ok and report.passed_tests == ["test_squares", "test_fib", "test_partial"]


def test_cli_generate_assignment_solution_and_errors(release, tmp_path) -> None:
    out = tmp_path / "rel"
    assert (
        main(
            ["generate_assignment", "-i", str(release.source_dir), "-o", str(out), "-p", "*.ipynb"]
        )
        == 0
    )
    assert (out / "gradebook.json").is_file() and (out / "ps1.ipynb").is_file()
    assert (
        main(["generate_solution", "-i", str(release.source_dir), "-o", str(tmp_path / "sol")]) == 0
    )
    solution = (tmp_path / "sol" / "ps1.ipynb").read_text()
    assert SQUARES_OK.strip().splitlines()[1].strip() in solution
    assert main(["autograde", "-i", str(tmp_path), "-o", str(tmp_path / "nogb")]) == 1
    assert main(["generate_assignment", "-i", str(tmp_path / "empty")]) == 1


# Passes the visible tests and fails the hidden ones, so assertion tracebacks quote hidden
# test lines; and it smuggles the kernel's input history (which holds the restored hidden
# tests) into places feedback shows: the reason of a visible test and a cell of its own.
SNEAKY = {
    "squares": (
        "def squares(n):\n    if n == 2:\n        raise ValueError('\\n'.join(In))\n"
        "    return [1, 4, 9]\n"
    ),
    "fib": "def fib(n):\n    return 1\n",
    "explain": "Because.",
}


@pytest.fixture(scope="module")
def sneaky_feedback(release, tmp_path_factory) -> tuple[Path, str]:
    """The sneaky submission autograded and its feedback page rendered."""
    from nbformat.v4 import new_code_cell

    root = tmp_path_factory.mktemp("sneaky")
    sub = fill(release.student_nb, SNEAKY)
    sub.cells.append(new_code_cell("print('\\n'.join(In))"))
    write(sub, root / "sub" / "ps1.ipynb")
    (root / "out").mkdir()
    shutil.copy(release.release_dir / "gradebook.json", root / "out")
    assert main(["autograde", "-i", str(root / "sub"), "-o", str(root / "out"), "--quiet"]) == 0
    assert main(["generate_feedback", "-i", str(root / "out"), "-o", str(root / "fb")]) == 0
    return root / "out", (root / "fb" / "ps1.html").read_text()


def test_hidden_test_failures_are_scored_and_their_text_never_reaches_feedback(
    sneaky_feedback,
) -> None:
    out, page = sneaky_feedback
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert {k: g.auto_score for k, g in gb.grades_dict.items()} == {
        "test_squares": 0.0,
        "test_fib": 0.0,
        "explain": None,
        "task_plot": None,
        "test_partial": 0.0,
    }
    graded = (out / "ps1.ipynb").read_text()
    assert HIDDEN_TEXT in graded  # the instructor's copy has it: it is really there
    for secret in (
        HIDDEN_TEXT,
        ALWAYS_HIDDEN_TEXT,
        "squares(1) == [1]",
        "fib(10) == 55",
        "HIDDEN TESTS",
    ):
        assert secret not in page
    assert "Score: 0 / 12" in page
    assert "[hidden]" in page  # the smuggled copies were found and blanked out
    assert "ValueError" in page  # while the visible test's reason is still shown


def test_validate_reports_errors_in_answers_and_a_dead_kernel(release, tmp_path, capsys) -> None:
    sub = fill(
        release.student_nb,
        {"squares": SQUARES_OK + "1 / 0\n", "fib": "import os\nos._exit(0)\n", "explain": "Yes."},
    )
    write(sub, tmp_path / "in" / "ps1.ipynb")
    assert main(["validate", "-i", str(tmp_path / "in"), "--NotebookRunner.cell_timeout=5"]) == 1
    printed = capsys.readouterr().out
    assert "test passed: test_squares" in printed  # squares was defined before the error
    assert "error in cell 1: ZeroDivisionError: division by zero" in printed
    assert "error in cell 3: the kernel died while running this cell" in printed
    assert "test failed: test_fib: not run: the kernel stopped in cell 3" in printed
    assert "test failed: test_partial: not run: the kernel stopped in cell 3" in printed


def test_validate_accepts_an_old_schema_student_copy(release, tmp_path) -> None:
    sub = fill(release.student_nb, {"squares": SQUARES_OK})
    for cell in sub.cells:
        cell.metadata.nbgrader["schema_version"] = 1
        cell.metadata.nbgrader.pop("cell_type", None)
    write(sub, tmp_path / "ps1.ipynb")
    [report] = Validate(execute=False).validate(tmp_path)
    assert report.errors == [] and report.changed_locked_cells == []
    assert report.unanswered == ["fib", "explain"]
