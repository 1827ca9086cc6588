"""The submission corpus: every cheat, and notebooks in schema v1 and v2.

Each case is a submission with its exact expected per-cell scores. The cases need no
timing, so they are autograded once, concurrently (one kernel each), by a module
fixture; each test then checks one case.

Every cheat starts from the same honestly *wrong* answers, so a cheat that worked would
show up as points: the expected scores are always those of the honest wrong work.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_output, new_raw_cell

from grader_service.convert import AutogradeResult, GenerateAssignment

from .conftest import Job, Release, grade_all, scores
from .notebooks import (
    FIB_OK,
    FIB_WRONG,
    SQUARES_OFF_BY_ONE,
    SQUARES_OK,
    fill,
    find,
    read,
    source_notebook,
    write,
)

WRONG = {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_WRONG, "explain": "Linear growth."}
WRONG_SCORES = {
    "test_squares": 0.0,
    "test_fib": 0.0,
    "explain": None,
    "task_plot": None,
    "test_partial": 0.0,
}
CORRECT = {"squares": SQUARES_OK, "fib": FIB_OK, "explain": "Quadratic growth."}
TESTS = ("test_squares", "test_fib", "test_partial")


@dataclass
class Cheat:
    """A change a student makes to the released notebook, and what we must report."""

    mutate: Callable[[NotebookNode], None]
    events: set[str] = field(default_factory=set)


def _edit_locked_tests(nb: NotebookNode) -> None:
    find(nb, "test_squares").source = "assert True"
    find(nb, "test_partial").source = "4"  # claims full partial credit


def _raise_points(nb: NotebookNode) -> None:
    find(nb, "test_fib").metadata.nbgrader["points"] = 100
    find(nb, "test_partial").metadata.nbgrader["points"] = 1000


def _test_made_an_answer(nb: NotebookNode) -> None:
    # answer cells keep the student's source, so this would keep the edit
    find(nb, "test_squares").metadata.nbgrader.update(solution=True, grade=False, locked=False)
    find(nb, "test_squares").source = "pass"


def _answer_made_a_test(nb: NotebookNode) -> None:
    # a graded code cell without errors scores full points
    find(nb, "squares").metadata.nbgrader.update(grade=True, points=50)


def _unlock_test(nb: NotebookNode) -> None:
    find(nb, "test_fib").metadata.nbgrader["locked"] = False
    find(nb, "test_fib").metadata["editable"] = True
    find(nb, "test_fib").source = "assert fib(1) == fib(1)"


def _delete_tests(nb: NotebookNode) -> None:
    nb.cells = [c for c in nb.cells if c.metadata.nbgrader["grade_id"] not in TESTS]


def _duplicate_test_first(nb: NotebookNode) -> None:
    # the edited copy comes first, hoping to be taken for the real one
    test = find(nb, "test_squares")
    dup = copy.deepcopy(test)
    dup.source = "assert True"
    dup.id = "dup-of-test-squares"
    nb.cells.insert(nb.cells.index(test), dup)


def _retype_tests(nb: NotebookNode) -> None:
    # a raw or markdown cell never runs, so it cannot fail
    for gid, cell_type in (("test_squares", "raw"), ("test_fib", "markdown")):
        index = nb.cells.index(find(nb, gid))
        old = nb.cells[index]
        new = (
            new_raw_cell(old.source, metadata=old.metadata)
            if cell_type == "raw"
            else copy.deepcopy(old)
        )
        if cell_type == "markdown":
            new.cell_type = "markdown"
            del new["outputs"], new["execution_count"]
        nb.cells[index] = new


def _rename_test(nb: NotebookNode) -> None:
    find(nb, "test_squares").metadata.nbgrader["grade_id"] = "test_squares_mine"
    find(nb, "test_squares_mine").source = "pass"


def _invent_graded_cell(nb: NotebookNode) -> None:
    nb.cells.append(
        new_code_cell(
            "pass",
            metadata={
                "nbgrader": {
                    "grade": True,
                    "solution": False,
                    "locked": True,
                    "grade_id": "bonus",
                    "points": 50,
                    "schema_version": 3,
                }
            },
        )
    )


def _reorder_tests(nb: NotebookNode) -> None:
    # tests first, so they would run before the (wrong) answers exist
    tests = [find(nb, gid) for gid in TESTS]
    nb.cells = tests + [c for c in nb.cells if c not in tests]


def _fake_outputs(nb: NotebookNode) -> None:
    # outputs of a "successful run" saved in the notebook are never trusted
    for gid in TESTS:
        cell = find(nb, gid)
        cell.execution_count = 1
        cell.outputs = [new_output("stream", name="stdout", text="All tests passed!\n")]
    find(nb, "test_partial").outputs.append(
        new_output("execute_result", data={"text/plain": "4"}, execution_count=1)
    )


def _swap_kernel(nb: NotebookNode) -> None:
    # the gradebook's kernelspec is used, not one the student picks
    nb.metadata["kernelspec"] = {
        "name": "no-such-kernel",
        "display_name": "x",
        "language": "python",
    }


_NO_ASSERTS = (
    "import ast\n"
    "class _NoAsserts(ast.NodeTransformer):\n"
    "    def visit_Assert(self, node):\n"
    "        return ast.Pass()\n"
    "get_ipython().ast_transformers.append(_NoAsserts())\n"
)


def _disable_asserts_in_later_cells(nb: NotebookNode) -> None:
    find(nb, "fib").source = FIB_WRONG + _NO_ASSERTS


CHEATS: dict[str, Cheat] = {
    "edit-locked-tests": Cheat(_edit_locked_tests, {"source"}),
    "raise-points": Cheat(_raise_points, {"metadata"}),
    "test-made-an-answer": Cheat(_test_made_an_answer, {"metadata", "source"}),
    "answer-made-a-test": Cheat(_answer_made_a_test, {"metadata"}),
    "unlock-and-edit-test": Cheat(_unlock_test, {"metadata", "source"}),
    "delete-tests": Cheat(_delete_tests, {"deleted"}),
    "duplicate-test-first": Cheat(_duplicate_test_first, {"duplicated", "source"}),
    "retype-tests": Cheat(_retype_tests, {"cell_type"}),
    "rename-test": Cheat(_rename_test, {"deleted", "unknown"}),
    "invent-graded-cell": Cheat(_invent_graded_cell, {"unknown"}),
    "reorder-tests": Cheat(_reorder_tests, {"reordered"}),
    "fake-outputs": Cheat(_fake_outputs),
    "swap-kernel": Cheat(_swap_kernel),
    "disable-asserts": Cheat(_disable_asserts_in_later_cells),
}

KNOWN_HOLES = {
    "disable-asserts": "student code runs in the kernel before the tests and can rewrite "
    "them (IPython AST or input transformers); nbgrader has the same hole",
}


def old_schema(nb: NotebookNode, version: int) -> NotebookNode:
    """``nb`` with nbgrader metadata as schema ``version`` (1 or 2) wrote it."""
    nb = copy.deepcopy(nb)
    # task cells only exist since v3
    nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("task")]
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        if meta is None:
            continue
        meta["schema_version"] = version
        meta.pop("task", None)
        if version == 1:
            meta.pop("cell_type", None)  # v2 added it
        else:
            meta["cell_type"] = cell.cell_type
    return nb


OLD_SCHEMA_SCORES = {"test_squares": 2.0, "test_fib": 3.0, "explain": None, "test_partial": 3.0}


@pytest.fixture(scope="module")
def corpus(
    release: Release,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, AutogradeResult]:
    """Every case of the corpus, autograded."""
    root = tmp_path_factory.mktemp("corpus")
    jobs: dict[str, Job] = {}
    for name, cheat in CHEATS.items():
        sub = fill(release.student_nb, WRONG)
        cheat.mutate(sub)
        jobs[name] = Job(sub, release.release_dir)
    for version in (1, 2):
        # an assignment authored in the old schema, released by us
        source = root / f"v{version}-source"
        write(old_schema(source_notebook(), version), source / "ps1.ipynb")
        GenerateAssignment().convert(source, root / f"v{version}-release")
        old_release = read(root / f"v{version}-release" / "ps1.ipynb")
        jobs[f"v{version}-source"] = Job(fill(old_release, CORRECT), root / f"v{version}-release")
        # a student copy still carrying old metadata (released by an older tool)
        jobs[f"v{version}-student-copy"] = Job(
            old_schema(fill(old_release, CORRECT), version), root / f"v{version}-release"
        )
    return {name: result for name, (result, _) in grade_all(jobs, root / "graded").items()}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=KNOWN_HOLES[name]))
        if name in KNOWN_HOLES
        else name
        for name in CHEATS
    ],
)
def test_cheat_earns_nothing_and_is_reported(corpus, name: str) -> None:
    result = corpus[name]
    assert scores(result) == WRONG_SCORES
    assert result.max_score == 12.0
    assert {e.kind for e in result.notebooks["ps1"].events} == CHEATS[name].events


def test_every_reported_cheat_is_explained_to_graders(corpus) -> None:
    messages = [e.message for e in corpus["raise-points"].notebooks["ps1"].events]
    assert messages == [
        "grading metadata of cell 'test_fib' was changed: points 100 (expected 3); it was restored",
        "grading metadata of cell 'test_partial' was changed: points 1000 (expected 4); "
        "it was restored",
    ]
    [renamed] = [e for e in corpus["rename-test"].notebooks["ps1"].events if e.kind == "unknown"]
    assert renamed.grade_id == "test_squares_mine"


@pytest.mark.parametrize("version", [1, 2])
def test_old_schema_assignment_is_graded_exactly(corpus, version: int) -> None:
    result = corpus[f"v{version}-source"]
    assert scores(result) == OLD_SCHEMA_SCORES
    assert result.max_score == 11.0
    assert result.notebooks["ps1"].events == []


@pytest.mark.parametrize("version", [1, 2])
def test_student_copy_in_old_schema_is_not_taken_for_tampering(corpus, version: int) -> None:
    result = corpus[f"v{version}-student-copy"]
    assert scores(result) == OLD_SCHEMA_SCORES
    assert result.notebooks["ps1"].events == []
