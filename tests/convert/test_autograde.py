"""autograde against real kernels: honest work, broken work and cheating.

Every test asserts the exact per-cell automatic scores a grader would see
(``None`` = left for a human). Each test's submission is declared just above it with
``case(...)``; the module fixture ``graded`` autogrades all of them once, concurrently
(the time limits are wall-clock, so sharing the CPU changes no outcome).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jupyter_client.manager import AsyncKernelManager
from nbformat import NotebookNode
from nbformat.v4 import new_code_cell

from grader_service.convert import AutogradeResult
from grader_service.convert.gradebook import read_gradebook

from .conftest import Job, Release, Submission, grade_all, memory_limit_prefix, scores
from .notebooks import (
    ALWAYS_HIDDEN_TEXT,
    FIB_OK,
    FIB_WRONG,
    SQUARES_OFF_BY_ONE,
    SQUARES_OK,
    fill,
    find,
    read,
)

CORRECT = {"squares": SQUARES_OK, "fib": FIB_OK, "explain": "They grow quadratically."}


# squares is right; everything from fib on fails (the task and the manual cell are
# not autograded: None and 0)
ONLY_SQUARES_PASS = {
    "test_squares": 2.0,
    "test_fib": 0.0,
    "explain": 0.0,
    "task_plot": None,
    "test_partial": 0.0,
}


@dataclass
class Case:
    """A submission made from the ps1 release, and how to grade it."""

    build: Callable[[NotebookNode], Submission]
    config: dict[str, Any] = field(default_factory=dict)
    extra_files: dict[str, str] = field(default_factory=dict)


CASES: dict[str, Case] = {}


def case(
    name: str,
    answers: dict[str, str] | Callable[[NotebookNode], Submission],
    *,
    extra_files: dict[str, str] | None = None,
    **config: Any,
) -> str:
    """Declare a submission (answers filled into the release, or a builder); return its name."""
    build = answers if callable(answers) else (lambda nb: fill(nb, answers))
    CASES[name] = Case(build, config, extra_files or {})
    return name


@pytest.fixture(scope="module")
def graded(
    release: Release,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, tuple[AutogradeResult, Path]]:
    """Every case autograded: name -> (result, output directory)."""
    jobs = {
        name: Job(c.build(release.student_nb), release.release_dir, c.config, c.extra_files)
        for name, c in CASES.items()
    }
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GS_SECRET_TOKEN", "s3cr3t")  # a service secret the kernel must not see
        return grade_all(jobs, tmp_path_factory.mktemp("autograde"))


def reasons(result: AutogradeResult) -> dict[str, str | None]:
    """grade_id -> why the cell got its score."""
    return {c.grade_id: c.reason for c in result.notebooks["ps1"].cells}


FULLY_CORRECT = case("fully-correct", CORRECT)


def test_fully_correct(graded) -> None:
    result, out = graded[FULLY_CORRECT]
    assert scores(result) == {
        "test_squares": 2.0,
        "test_fib": 3.0,
        "explain": None,
        "task_plot": None,
        "test_partial": 3.0,
    }
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert gb.grades_dict["test_fib"].auto_score == 3.0
    assert gb.grades_dict["explain"].needs_manual_grade is True
    assert gb.grades_dict["test_partial"].max_score == 4.0
    graded_nb = read(out / "ps1.ipynb")
    assert ALWAYS_HIDDEN_TEXT not in json.dumps(graded_nb)  # even instructors never see it
    assert find(graded_nb, "test_partial").outputs[0]["data"]["text/plain"] == "3"


PARTLY = case("partly-correct", {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_OK})


def test_partly_correct_and_unanswered_answer(graded) -> None:
    result, out = graded[PARTLY]
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }
    assert reasons(result)["test_squares"].startswith("AssertionError")
    assert reasons(result)["explain"] == "No response."
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert gb.grades_dict["test_squares"].failed_tests is True
    assert gb.comments_dict["explain"].auto_comment == "No response."


UNTOUCHED = case("untouched", {})


def test_untouched_release_scores_zero(graded) -> None:
    result, _ = graded[UNTOUCHED]
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 0.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 0.0,
    }


SYNTAX_AND_EXCEPTION = case(
    "syntax-error-and-exception",
    {
        "squares": "def squares(n)\n    return []\n",
        "fib": FIB_OK + "raise ValueError('the answer cell itself fails')\n",
    },
)


def test_syntax_error_and_exception_in_answers(graded) -> None:
    result, _ = graded[SYNTAX_AND_EXCEPTION]
    # fib was defined before the error, so its test passes, as in nbgrader
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 0.0,
    }
    assert reasons(result)["test_squares"].startswith("NameError")


OS_EXIT = case("os-exit", {"squares": SQUARES_OK, "fib": "import os\nos._exit(0)\n"})


def test_os_exit_in_an_answer_fails_the_remaining_tests(graded) -> None:
    result, _ = graded[OS_EXIT]
    assert scores(result) == ONLY_SQUARES_PASS
    assert "the kernel died while running this cell" in reasons(result)["test_fib"]
    assert reasons(result)["test_partial"].startswith("not run: the kernel stopped in cell 3")


RESTART = case(
    "os-exit-restart",
    {"squares": SQUARES_OK, "fib": "import os\nos._exit(1)\n"},
    NotebookRunner__on_kernel_death="restart",
)


def test_kernel_restart_policy_runs_later_tests_in_a_new_kernel(graded) -> None:
    result, _ = graded[RESTART]
    assert scores(result) == ONLY_SQUARES_PASS
    assert reasons(result)["test_fib"].startswith("NameError")  # it ran, in a fresh kernel


LOOP = case(
    "infinite-loop",
    {"squares": SQUARES_OK, "fib": "def fib(n):\n    while True:\n        pass\n"},
    NotebookRunner__cell_timeout=1.0,
)


def test_infinite_loop_hits_the_cell_timeout_and_grading_goes_on(graded) -> None:
    result, _ = graded[LOOP]
    assert scores(result) == ONLY_SQUARES_PASS
    assert reasons(result)["test_fib"] == "the cell exceeded its time limit of 1 s"


STUBBORN = case(
    "loop-ignoring-interrupts",
    {
        "squares": SQUARES_OK,
        "fib": (
            "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass\n"
        ),
    },
    NotebookRunner__cell_timeout=1.0,
    NotebookRunner__interrupt_grace=0.5,
)


def test_loop_that_ignores_interrupts_is_killed(graded) -> None:
    result, _ = graded[STUBBORN]
    assert scores(result) == ONLY_SQUARES_PASS
    # the answer cell itself loops, so the test after it never runs
    assert reasons(result)["test_fib"].startswith("not run: the kernel stopped in cell 3")
    assert "ignored the interrupt" in reasons(result)["test_fib"]


TOTAL_TIMEOUT = case(
    "total-timeout",
    {"squares": SQUARES_OK, "fib": "import time\ntime.sleep(60)\n"},
    NotebookRunner__total_timeout=3.0,
)


def test_total_timeout_fails_everything_after_it(graded) -> None:
    result, _ = graded[TOTAL_TIMEOUT]
    assert scores(result) == ONLY_SQUARES_PASS
    assert "total time limit of 3 s" in reasons(result)["test_fib"]


HUGE_OUTPUT = case(
    "huge-output",
    {
        "squares": SQUARES_OK + "print('x' * 5_000_000)\nfor i in range(20000):\n    print(i)\n",
        "fib": FIB_OK,
    },
    NotebookRunner__max_output_bytes=10_000,
)


def test_huge_output_is_capped(graded) -> None:
    result, out = graded[HUGE_OUTPUT]
    assert scores(result) == {
        "test_squares": 2.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 3.0,
    }
    text = json.dumps(find(read(out / "ps1.ipynb"), "squares").outputs)
    assert len(text) < 12_000
    assert "output truncated by the grader" in text


# The kernel idles at about 0.8 GB of address space (thread stacks, malloc arenas), so
# 1.5 GB leaves it room to work while no blow-up can take more than that from the machine.
KERNEL_MEMORY_LIMIT = 1_500_000_000
HOGS = {
    # one allocation far beyond the limit
    "at-once": "    hog = bytearray(6 * 10**9)\n",
    # the usual kind: memory that grows (and is touched) until nothing is left
    "growing": "    hog = []\n    while True:\n        hog.append(bytearray(32 * 2**20))\n",
}
MEMORY = {
    kind: case(
        f"memory-{kind}",
        {
            "squares": "def squares(n):\n" + hog + "    return [i * i for i in range(1, n + 1)]\n",
            "fib": FIB_OK,
        },
        KernelLauncher__argv_prefix=memory_limit_prefix(KERNEL_MEMORY_LIMIT),
    )
    for kind, hog in HOGS.items()
}


@pytest.mark.parametrize("kind", HOGS)
def test_memory_blowup_under_a_launcher_limit_fails_the_test(graded, kind: str) -> None:
    result, out = graded[MEMORY[kind]]
    # the harness survives: later cells run in the same kernel and are graded
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 0.0,
    }
    assert reasons(result)["test_squares"].startswith("MemoryError")
    assert reasons(result)["test_partial"].startswith("MemoryError")  # squares(2) again
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert gb.comments_dict["test_squares"].auto_comment.startswith("MemoryError")


MONKEYPATCHING = case(
    "monkeypatching",
    {
        "squares": SQUARES_OK,
        "fib": FIB_WRONG
        + (
            "import builtins, sys\n"
            "get_ipython().showtraceback = lambda *a, **k: None\n"
            "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
            "sys.exit = lambda *a: None\n"
            "sys.excepthook = lambda *a: None\n"
            "print('All tests passed! 3/3 points')\n"
        ),
    },
)


def test_monkeypatching_and_fake_success_messages_do_not_pass_tests(graded) -> None:
    result, _ = graded[MONKEYPATCHING]
    assert scores(result) == {
        "test_squares": 2.0,
        "test_fib": 0.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 2.0,
    }


# the answer emits an execute_result "4" from inside the test, then the test fails
FAKE_PARTIAL = case(
    "fake-partial-credit",
    {
        "fib": FIB_OK,
        "squares": SQUARES_OFF_BY_ONE.replace(
            "    return", "    import sys\n    sys.displayhook(4)\n    return"
        ),
    },
)


def test_fake_partial_credit_from_inside_a_test_does_not_count(graded) -> None:
    result, _ = graded[FAKE_PARTIAL]
    # test_partial passes; its own result (1), not the injected 4, is the partial credit
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }


# prints just enough inside a partial-credit test that its result no longer fits the
# output budget (10,000 bytes here)
_FLOODING = "def squares(n):\n    print('x' * 9_960)\n    return [i * i for i in range(n)]\n"
FLOOD = {
    policy: case(
        f"flood-{policy}",
        {"squares": _FLOODING, "fib": FIB_OK},
        NotebookRunner__max_output_bytes=10_000,
        Autograde__fail_on_stderr=policy == "fail-on-stderr",
    )
    for policy in ("default", "fail-on-stderr")
}


@pytest.mark.parametrize("policy", FLOOD)
def test_flooding_the_output_does_not_hide_a_partial_score(graded, policy: str) -> None:
    result, out = graded[FLOOD[policy]]
    # and the grader's own truncation notice on stderr is not the test writing to stderr
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }
    assert "output truncated" in json.dumps(find(read(out / "ps1.ipynb"), "test_partial"))


def _tampered(release_nb: NotebookNode) -> NotebookNode:
    sub = fill(release_nb, {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_OK})
    find(sub, "test_squares").source = "assert True"
    find(sub, "test_fib").metadata.nbgrader["points"] = 100
    sub.cells.remove(find(sub, "test_partial"))
    sub.cells.append(
        new_code_cell(
            "pass",
            metadata={
                "nbgrader": {
                    "grade": True,
                    "solution": False,
                    "locked": False,
                    "grade_id": "bonus",
                    "points": 50,
                    "schema_version": 3,
                }
            },
        )
    )
    dup = copy.deepcopy(find(sub, "test_fib"))
    dup.id = "copy-of-test-fib"
    sub.cells.append(dup)
    return sub


TAMPERED = case("tampered", _tampered)
TAMPERED_ZERO = case("tampered-zero-policy", _tampered, Autograde__tamper_policy="zero")


def test_tampered_notebook_is_graded_as_released_and_reported(graded) -> None:
    result, out = graded[TAMPERED]
    assert scores(result) == {
        "test_squares": 0.0,
        "test_fib": 3.0,
        "explain": 0.0,
        "task_plot": None,
        "test_partial": 1.0,
    }
    assert result.max_score == 12.0
    assert {e.kind for e in result.notebooks["ps1"].events} == {
        "source",
        "metadata",
        "deleted",
        "unknown",
        "duplicated",
    }
    comments = read_gradebook(out / "gradebook.json").notebooks["ps1"].comments_dict
    assert "locked cell 'test_squares' was modified" in comments["test_squares"].auto_comment

    strict, _ = graded[TAMPERED_ZERO]
    assert scores(strict) == {
        "test_squares": 0.0,
        "test_fib": 0.0,
        "explain": 0.0,
        "task_plot": 0.0,
        "test_partial": 0.0,
    }


RENAMED = case("renamed-notebook", lambda nb: {"ps1_final.ipynb": fill(nb, CORRECT)})


def test_missing_renamed_and_unreadable_notebooks_score_zero(graded) -> None:
    result, out = graded[RENAMED]
    nb = result.notebooks["ps1"]
    assert nb.status == "missing" and result.score == 0.0
    assert nb.reason == (
        "notebook 'ps1.ipynb' was not submitted (found instead: ps1_final.ipynb; was it renamed?)"
    )
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert {g.auto_score for g in gb.grades_dict.values()} == {0.0}
    assert not (out / "ps1_final.ipynb").exists()


UNREADABLE = case(
    "unreadable-notebook", lambda nb: {}, extra_files={"ps1.ipynb": "{this is not json"}
)


def test_unreadable_notebook_scores_zero(graded) -> None:
    result, _ = graded[UNREADABLE]
    assert result.notebooks["ps1"].status == "unreadable"
    assert "not a readable notebook" in result.notebooks["ps1"].reason
    assert result.score == 0.0


_FAKE_LAUNCHER = "import pathlib\npathlib.Path('HIJACKED').write_text('yes')\nraise SystemExit(0)\n"
HIJACK = case(
    "kernel-launcher-hijack",
    CORRECT,
    extra_files={"ipykernel_launcher.py": _FAKE_LAUNCHER, "sitecustomize.py": _FAKE_LAUNCHER},
)


def test_submitted_kernel_launcher_cannot_replace_the_kernel(graded) -> None:
    result, out = graded[HIJACK]
    assert result.score == 8.0
    assert not (out.parent / "submission" / "HIJACKED").exists()


STARTED_KERNELS: list[str] = []


def _recording_factory(kernel_name: str, launcher: object) -> AsyncKernelManager:
    STARTED_KERNELS.append(kernel_name)
    return AsyncKernelManager(kernel_name=kernel_name)


PROBE = case(
    "environment-probe",
    {
        "fib": FIB_OK,
        "squares": (
            "import os, helper\nprint('exec', os.environ.get('NBGRADER_EXECUTION'))\n"
            "print('secret', os.environ.get('GS_SECRET_TOKEN'))\n" + SQUARES_OK
        ),
    },
    extra_files={"helper.py": "X = 1\n"},
    KernelLauncher__kernel_manager_factory=_recording_factory,
)


def test_environment_and_custom_kernel_manager(graded) -> None:
    result, out = graded[PROBE]
    assert STARTED_KERNELS == ["python3"]
    text = find(read(out / "ps1.ipynb"), "squares").outputs[0]["text"]
    assert "exec autograde" in text  # and the submission's own helper module imported
    assert "secret None" in text  # GS_SECRET_TOKEN was set in the harness (see graded)
    assert scores(result)["test_squares"] == 2.0
