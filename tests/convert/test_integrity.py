"""Rebuilding a submission from the gradebook: every cheat is undone and reported.

These tests need no kernel: they check the notebook that would be executed.
"""

from __future__ import annotations

import copy

from nbformat.v4 import new_code_cell

from grader_service.convert import restore_notebook

from .notebooks import HIDDEN_TEXT, SQUARES_OK, fill, find


def kinds(events) -> set[str]:
    return {e.kind for e in events}


def test_untouched_submission_has_no_events_and_gets_hidden_tests_back(release) -> None:
    nb, events = restore_notebook(
        fill(release.student_nb, {"squares": SQUARES_OK}), release.gradebook.notebooks["ps1"]
    )
    assert events == []
    assert HIDDEN_TEXT in find(nb, "test_squares").source
    assert find(nb, "squares").source == SQUARES_OK


def test_edited_locked_test_is_restored(release) -> None:
    sub = fill(release.student_nb, {})
    find(sub, "test_squares").source = "pass"
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    assert "assert squares(3) == [1, 4, 9]" in find(nb, "test_squares").source
    assert [e.message for e in events] == [
        "locked cell 'test_squares' was modified; its source was restored from the gradebook"
    ]


def test_changed_points_and_grade_flag_are_restored(release) -> None:
    sub = fill(release.student_nb, {})
    find(sub, "test_fib").metadata.nbgrader.update(points=100, grade=False)
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    meta = find(nb, "test_fib").metadata.nbgrader
    assert meta["points"] == 3.0 and meta["grade"] is True
    assert "points 100 (expected 3)" in events[0].message
    assert "grade False (expected True)" in events[0].message


def test_deleted_test_cell_is_reinserted_in_place(release) -> None:
    sub = fill(release.student_nb, {})
    sub.cells = [c for c in sub.cells if c.metadata.nbgrader["grade_id"] != "test_squares"]
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids.index("test_squares") == ids.index("squares") + 1
    assert kinds(events) == {"deleted"}


def test_duplicated_test_cell_copy_becomes_ordinary(release) -> None:
    sub = fill(release.student_nb, {})
    dup = copy.deepcopy(find(sub, "test_squares"))
    dup.source = "assert True"
    sub.cells.insert(2, dup)
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    graded = [
        c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "test_squares"
    ]
    assert len(graded) == 1 and HIDDEN_TEXT in graded[0].source
    # the first copy counts as the cell (and was edited); the second is demoted
    assert kinds(events) == {"duplicated", "source"}


def test_retyped_cells_get_their_type_back(release) -> None:
    sub = fill(release.student_nb, {})
    idx = sub.cells.index(find(sub, "test_fib"))
    old = sub.cells[idx]
    from nbformat.v4 import new_markdown_cell

    sub.cells[idx] = new_markdown_cell(old.source, metadata=old.metadata)
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    assert find(nb, "test_fib").cell_type == "code"
    assert "changed from code to markdown" in events[0].message


def test_reordered_cells_get_original_order_and_student_cells_stay_attached(release) -> None:
    sub = fill(release.student_nb, {})
    test = find(sub, "test_partial")
    sub.cells.remove(test)
    sub.cells.insert(0, test)
    helper = new_code_cell("helper = 1")
    sub.cells.insert(sub.cells.index(find(sub, "squares")) + 1, helper)
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    ids = [c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells]
    assert ids[-1] == "test_partial"
    assert nb.cells[ids.index("squares") + 1].source == "helper = 1"
    assert kinds(events) == {"reordered"}


def test_invented_graded_cell_carries_no_points(release) -> None:
    sub = fill(release.student_nb, {})
    sub.cells.append(
        new_code_cell(
            "pass",
            metadata={
                "nbgrader": {
                    "grade": True,
                    "grade_id": "bonus",
                    "points": 50,
                    "solution": False,
                    "locked": False,
                    "schema_version": 3,
                }
            },
        )
    )
    nb, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    assert "nbgrader" not in nb.cells[-1].metadata
    assert kinds(events) == {"unknown"}


def test_answer_cell_changes_are_not_tampering(release) -> None:
    sub = fill(release.student_nb, {"squares": "x = 1", "explain": "My own words."})
    sub.cells.append(new_code_cell("print('extra work')"))
    _, events = restore_notebook(sub, release.gradebook.notebooks["ps1"])
    assert events == []
