"""Builders for the notebook corpus of the converter tests (all made in code).

The source assignment ``ps1`` has: a read-only intro, two autograded answers with tests
(one test with HIDDEN tests, one with ALWAYS HIDDEN tests), a manually graded markdown
answer with a mark scheme, a task, and a partial-credit test. 12 points in total.
"""

from __future__ import annotations

import copy

import nbformat
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HIDDEN_TEXT = "HIDDEN_CHECK_7731"
ALWAYS_HIDDEN_TEXT = "ALWAYS_HIDDEN_CHECK_9152"
MARK_SCHEME_TEXT = "MARKSCHEME_TEXT_4410"

SQUARES_OK = "def squares(n):\n    return [i * i for i in range(1, n + 1)]\n"
SQUARES_OFF_BY_ONE = "def squares(n):\n    return [i * i for i in range(n)]\n"
FIB_OK = (
    "def fib(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a\n"
)
FIB_WRONG = "def fib(n):\n    return n\n"

POINTS = {
    "test_squares": 2.0,
    "test_fib": 3.0,
    "explain": 2.0,
    "task_plot": 1.0,
    "test_partial": 4.0,
}


def meta(
    grade_id: str,
    *,
    grade: bool = False,
    solution: bool = False,
    locked: bool = False,
    task: bool = False,
    points: float | None = None,
    version: int = 3,
) -> dict:
    """nbgrader cell metadata in schema ``version``."""
    m: dict = {
        "grade": grade,
        "solution": solution,
        "locked": locked,
        "grade_id": grade_id,
        "schema_version": version,
    }
    if task:
        m["task"] = True
    if points is not None:
        m["points"] = points
    return {"nbgrader": m}


def source_notebook() -> NotebookNode:
    """The instructor's version of ps1."""
    cells = [
        new_markdown_cell(
            "# Problem set 1\nAnswer all questions.", metadata=meta("intro", locked=True)
        ),
        new_code_cell(
            "def squares(n):\n    ### BEGIN SOLUTION\n"
            "    return [i * i for i in range(1, n + 1)]\n    ### END SOLUTION\n",
            metadata=meta("squares", solution=True),
        ),
        new_code_cell(
            "assert squares(3) == [1, 4, 9]\n### BEGIN HIDDEN TESTS\n"
            f"assert squares(1) == [1], '{HIDDEN_TEXT}'\n### END HIDDEN TESTS\n",
            metadata=meta("test_squares", grade=True, locked=True, points=2),
        ),
        new_code_cell(
            "def fib(n):\n    ### BEGIN SOLUTION\n"
            + FIB_OK.split("\n", 1)[1]
            + "    ### END SOLUTION\n",
            metadata=meta("fib", solution=True),
        ),
        new_code_cell(
            "assert fib(1) == 1\n### BEGIN ALWAYS HIDDEN TESTS\n"
            f"assert fib(10) == 55, '{ALWAYS_HIDDEN_TEXT}'\n"
            "### END ALWAYS HIDDEN TESTS\n",
            metadata=meta("test_fib", grade=True, locked=True, points=3),
        ),
        new_markdown_cell(
            "=== BEGIN SOLUTION ===\nSquares grow quadratically.\n"
            "=== END SOLUTION ===\n=== BEGIN MARK SCHEME ===\n"
            f"{MARK_SCHEME_TEXT}: mention growth\n=== END MARK SCHEME ===\n",
            metadata=meta("explain", grade=True, solution=True, points=2),
        ),
        new_markdown_cell(
            "Plot the squares in a new cell below.", metadata=meta("task_plot", task=True, points=1)
        ),
        new_code_cell(
            "score = 0\nif squares(2) == [1, 4]:\n    score += 2\n"
            "if fib(2) == 1:\n    score += 1\nscore",
            metadata=meta("test_partial", grade=True, locked=True, points=4),
        ),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def fill(release: NotebookNode, answers: dict[str, str]) -> NotebookNode:
    """A submission: the release notebook with the given answer cells replaced."""
    nb = copy.deepcopy(release)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    return nb


def find(nb: NotebookNode, grade_id: str) -> NotebookNode:
    """The cell with ``grade_id``."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell
    raise KeyError(grade_id)


def write(nb: NotebookNode, path) -> None:
    """Write a notebook to ``path`` (a pathlib.Path)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        nbformat.write(nb, fh)


def read(path) -> NotebookNode:
    """Read a notebook from ``path``."""
    with path.open(encoding="utf-8") as fh:
        return nbformat.read(fh, as_version=4)


# The cross-check with nbgrader (test_nbgrader_crosscheck.py): honest work only.
CROSSCHECK_STUDENTS: dict[str, dict[str, str]] = {
    "correct": {"squares": SQUARES_OK, "fib": FIB_OK, "explain": "Quadratic growth."},
    "partly": {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_OK},
    # passes the visible tests, fails the hidden ones
    "hidden_fail": {
        "squares": "def squares(n):\n    return [1, 4, 9][:n] if n > 1 else []\n",
        "fib": "def fib(n):\n    return 1\n",
        "explain": "Fast.",
    },
    "wrong": {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_WRONG, "explain": "No idea."},
    "untouched": {},
    "raises": {"squares": "def squares(n):\n    return [1 / 0]\n", "fib": FIB_OK},
}
#: A student who also adds cells of their own (graded like "correct").
EXTRA_CELLS = "extra_cells"
#: A test cell that writes a warning to stderr.
STDERR = "warns"
WARNS = (
    "import warnings\n\ndef squares(n):\n"
    "    warnings.warn('squares is slow')\n    return [i * i for i in range(1, n + 1)]\n"
)


def crosscheck_source() -> NotebookNode:
    """ps1 in the subset nbgrader shares with us.

    nbgrader has no ALWAYS HIDDEN TESTS, allows a MARK SCHEME only in task cells, and
    fails on a task cell that is not also locked (its UI always locks them).
    """
    nb = source_notebook()
    for cell in nb.cells:
        cell.source = cell.source.replace("ALWAYS HIDDEN TESTS", "HIDDEN TESTS")
        gid = cell.metadata.nbgrader["grade_id"]
        if gid == "explain":
            cell.source = cell.source.split("=== BEGIN MARK SCHEME")[0]
        if gid == "task_plot":
            cell.metadata.nbgrader["locked"] = True
            cell.source += (
                "\n=== BEGIN MARK SCHEME ===\nA labelled plot.\n=== END MARK SCHEME ===\n"
            )
    return nb


def crosscheck_submissions(release: NotebookNode) -> dict[str, NotebookNode]:
    """Every cross-check student's notebook, made from one tool's release."""
    subs = {name: fill(release, answers) for name, answers in CROSSCHECK_STUDENTS.items()}
    extra = fill(release, CROSSCHECK_STUDENTS["correct"])
    extra.cells.insert(2, new_code_cell("helper = squares(4)\nhelper"))
    extra.cells.append(new_markdown_cell("My plot:"))
    extra.cells.append(new_code_cell("print(helper)"))
    subs[EXTRA_CELLS] = extra
    subs[STDERR] = fill(release, {"squares": WARNS, "fib": FIB_OK, "explain": "Quadratic."})
    return subs
