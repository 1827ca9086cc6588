"""Cross-check with nbgrader, the reference implementation of the format.

The same source notebook is released by both tools, honest students fill in each
tool's own release, both tools autograde, and the per-cell automatic scores must be
equal. We also grade the submissions made from nbgrader's release (a course moving from
nbgrader): same scores, and nothing taken for tampering.

nbgrader runs in its own throw-away venv (see :mod:`.nbgrader_env`; building it needs
PyPI once), in the background from the start of the session (the ``nbgrader_run``
fixture). ``GRADER_TEST_SKIP_NBGRADER=1`` skips these tests; ``-m nbgrader`` selects
them alone.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from grader_service.convert import AutogradeResult, GenerateAssignment

from .conftest import Job, grade_all, scores
from .nbgrader_env import NbgraderRun
from .notebooks import (
    CROSSCHECK_STUDENTS,
    EXTRA_CELLS,
    STDERR,
    crosscheck_source,
    crosscheck_submissions,
    read,
    write,
)

pytestmark = pytest.mark.nbgrader

ASSIGNMENT = "ps1"
STUDENTS = [*CROSSCHECK_STUDENTS, EXTRA_CELLS]


@dataclass
class CrossCheck:
    """What both tools decided."""

    theirs: dict[str, dict[str, float | None]]  # student -> grade_id -> nbgrader's score
    ours: dict[str, AutogradeResult]  # "ours-<student>", "theirs-<student>", "nbgrader-mode"

    def our_scores(self, key: str) -> dict[str, float | None]:
        """grade_id -> our score for one of our runs."""
        return scores(self.ours[key], ASSIGNMENT)


@pytest.fixture(scope="module")
def crosscheck(
    nbgrader_run: NbgraderRun | None, tmp_path_factory: pytest.TempPathFactory
) -> CrossCheck:
    """Both tools' scores for every student."""
    if nbgrader_run is None:
        pytest.skip("GRADER_TEST_SKIP_NBGRADER=1")
    root = tmp_path_factory.mktemp("crosscheck")
    write(crosscheck_source(), root / "source" / f"{ASSIGNMENT}.ipynb")
    GenerateAssignment().convert(root / "source", root / "release")
    our_release = read(root / "release" / f"{ASSIGNMENT}.ipynb")
    jobs = {
        f"ours-{name}": Job(nb, root / "release")
        for name, nb in crosscheck_submissions(our_release).items()
    }
    # nbgrader fails a test that writes to stderr; we do only with fail_on_stderr
    jobs["nbgrader-mode"] = Job(
        jobs[f"ours-{STDERR}"].submission, root / "release", {"Autograde__fail_on_stderr": True}
    )
    their_release, their_scores = nbgrader_run.wait()
    jobs.update(
        {
            f"theirs-{name}": Job(nb, root / "release")
            for name, nb in crosscheck_submissions(their_release).items()
        }
    )
    results = grade_all(jobs, root / "graded")
    return CrossCheck(
        {student: notebooks[ASSIGNMENT] for student, notebooks in their_scores.items()},
        {key: result for key, (result, _) in results.items()},
    )


@pytest.mark.parametrize("student", STUDENTS)
def test_per_cell_scores_equal_nbgraders(crosscheck, student: str) -> None:
    assert crosscheck.our_scores(f"ours-{student}") == crosscheck.theirs[student]


@pytest.mark.parametrize("student", STUDENTS)
def test_nbgrader_releases_are_graded_alike_and_not_taken_for_tampering(
    crosscheck, student: str
) -> None:
    assert crosscheck.ours[f"theirs-{student}"].notebooks[ASSIGNMENT].events == []
    assert crosscheck.our_scores(f"theirs-{student}") == crosscheck.theirs[student]


def test_the_expected_scores_are_the_ones_both_tools_give(crosscheck) -> None:
    # pins the cross-check itself, so a change in both tools cannot go unnoticed
    assert crosscheck.theirs["correct"] == {
        "test_squares": 2.0,
        "test_fib": 3.0,
        "explain": None,
        "task_plot": None,
        "test_partial": 3.0,
    }
    assert crosscheck.theirs["partly"] == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }
    assert crosscheck.theirs["hidden_fail"] == {
        "test_squares": 0.0,
        "test_fib": 0.0,
        "explain": None,
        "task_plot": None,
        "test_partial": 3.0,
    }


def test_stderr_in_a_test_fails_it_only_in_nbgrader_mode(crosscheck) -> None:
    theirs = crosscheck.theirs[STDERR]
    assert theirs["test_squares"] == 0.0 and theirs["test_partial"] == 0.0
    assert crosscheck.our_scores("nbgrader-mode") == theirs
    assert crosscheck.our_scores(f"ours-{STDERR}") == {
        **theirs,
        "test_squares": 2.0,
        "test_partial": 3.0,
    }
