"""autograde against real kernels: honest work, broken work and cheating.

Every test asserts the exact per-cell automatic scores a grader would see
(``None`` = left for a human).
"""

from __future__ import annotations

import copy
import json
import shutil

import pytest
from jupyter_client.manager import AsyncKernelManager
from nbformat.v4 import new_code_cell

from grader_service.convert.gradebook import read_gradebook

from .conftest import scores
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


def test_fully_correct(release, grade) -> None:
    result, out = grade(fill(release.student_nb, CORRECT))
    assert scores(result) == {"test_squares": 2.0, "test_fib": 3.0, "explain": None,
                              "task_plot": None, "test_partial": 3.0}
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert gb.grades_dict["test_fib"].auto_score == 3.0
    assert gb.grades_dict["explain"].needs_manual_grade is True
    assert gb.grades_dict["test_partial"].max_score == 4.0
    graded = read(out / "ps1.ipynb")
    assert ALWAYS_HIDDEN_TEXT not in json.dumps(graded)  # even instructors never see it
    assert find(graded, "test_partial").outputs[0]["data"]["text/plain"] == "3"


def test_partly_correct_and_unanswered_answer(release, grade) -> None:
    result, out = grade(fill(release.student_nb, {"squares": SQUARES_OFF_BY_ONE,
                                                  "fib": FIB_OK}))
    assert scores(result) == {"test_squares": 0.0, "test_fib": 3.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 1.0}
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert cells["test_squares"].reason.startswith("AssertionError")
    assert cells["explain"].reason == "No response."
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert gb.grades_dict["test_squares"].failed_tests is True
    assert gb.comments_dict["explain"].auto_comment == "No response."


def test_untouched_release_scores_zero(release, grade) -> None:
    result, _ = grade(release.student_nb)
    assert scores(result) == {"test_squares": 0.0, "test_fib": 0.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 0.0}


def test_syntax_error_and_exception_in_answers(release, grade) -> None:
    result, _ = grade(fill(release.student_nb, {
        "squares": "def squares(n)\n    return []\n",
        "fib": FIB_OK + "raise ValueError('the answer cell itself fails')\n"}))
    # fib was defined before the error, so its test passes, as in nbgrader
    assert scores(result) == {"test_squares": 0.0, "test_fib": 3.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 0.0}
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert cells["test_squares"].reason.startswith("NameError")


def test_os_exit_in_an_answer_fails_the_remaining_tests(release, grade) -> None:
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK,
                                                "fib": "import os\nos._exit(0)\n"}))
    assert scores(result) == {"test_squares": 2.0, "test_fib": 0.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 0.0}
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert "the kernel died while running this cell" in cells["test_fib"].reason
    assert cells["test_partial"].reason.startswith("not run: the kernel stopped in cell 3")


def test_kernel_restart_policy_runs_later_tests_in_a_new_kernel(release, grade) -> None:
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK,
                                                "fib": "import os\nos._exit(1)\n"}),
                      NotebookRunner__on_kernel_death="restart")
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert cells["test_fib"].score == 0.0
    assert cells["test_fib"].reason.startswith("NameError")  # it ran, in a fresh kernel


def test_infinite_loop_hits_the_cell_timeout_and_grading_goes_on(release, grade) -> None:
    loop = "def fib(n):\n    while True:\n        pass\n"
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK, "fib": loop}),
                      NotebookRunner__cell_timeout=1.0)
    assert scores(result) == {"test_squares": 2.0, "test_fib": 0.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 0.0}
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert cells["test_fib"].reason == "the cell exceeded its time limit of 1 s"


def test_loop_that_ignores_interrupts_is_killed(release, grade) -> None:
    stubborn = ("import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                "while True:\n    pass\n")
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK, "fib": stubborn}),
                      NotebookRunner__cell_timeout=1.0, NotebookRunner__interrupt_grace=0.5)
    assert scores(result)["test_squares"] == 2.0
    assert scores(result)["test_fib"] == 0.0
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert "ignored the interrupt" in cells["test_fib"].reason


def test_total_timeout_fails_everything_after_it(release, grade) -> None:
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK,
                                                "fib": "import time\ntime.sleep(60)\n"}),
                      NotebookRunner__total_timeout=3.0)
    assert scores(result) == {"test_squares": 2.0, "test_fib": 0.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 0.0}
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert "total time limit of 3 s" in cells["test_fib"].reason


def test_huge_output_is_capped(release, grade) -> None:
    noisy = SQUARES_OK + "print('x' * 5_000_000)\nfor i in range(20000):\n    print(i)\n"
    result, out = grade(fill(release.student_nb, {"squares": noisy, "fib": FIB_OK}),
                        NotebookRunner__max_output_bytes=10_000)
    assert scores(result)["test_squares"] == 2.0
    cell = find(read(out / "ps1.ipynb"), "squares")
    text = json.dumps(cell.outputs)
    assert len(text) < 12_000
    assert "output truncated by the grader" in text


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux prlimit")
def test_memory_blowup_under_a_launcher_limit_fails_the_test(release, grade) -> None:
    greedy = "def squares(n):\n    hog = bytearray(6 * 10**9)\n    return [1, 4, 9]\n"
    result, _ = grade(fill(release.student_nb, {"squares": greedy, "fib": FIB_OK}),
                      KernelLauncher__argv_prefix=["prlimit", "--as=3000000000", "--"])
    cells = {c.grade_id: c for c in result.notebooks["ps1"].cells}
    assert cells["test_squares"].score == 0.0
    assert cells["test_squares"].reason.startswith("MemoryError")
    assert cells["test_fib"].score == 3.0


def test_monkeypatching_and_fake_success_messages_do_not_pass_tests(release, grade) -> None:
    cheat = FIB_WRONG + (
        "import builtins, sys\n"
        "get_ipython().showtraceback = lambda *a, **k: None\n"
        "builtins.AssertionError = type('AssertionError', (Exception,), {})\n"
        "sys.exit = lambda *a: None\n"
        "sys.excepthook = lambda *a: None\n"
        "print('All tests passed! 3/3 points')\n")
    result, _ = grade(fill(release.student_nb, {"squares": SQUARES_OK, "fib": cheat}))
    assert scores(result) == {"test_squares": 2.0, "test_fib": 0.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 2.0}


def test_fake_partial_credit_before_a_failure_does_not_count(release, grade) -> None:
    # the answer emits an execute_result "4" from inside the test, then the test fails
    cheat = SQUARES_OFF_BY_ONE.replace(
        "    return", "    import sys\n    sys.displayhook(4)\n    return")
    result, _ = grade(fill(release.student_nb, {"squares": cheat, "fib": FIB_OK}))
    assert scores(result)["test_squares"] == 0.0


@pytest.mark.filterwarnings("ignore::nbformat.warnings.DuplicateCellId")
def test_tampered_notebook_is_graded_as_released_and_reported(release, grade) -> None:
    sub = fill(release.student_nb, {"squares": SQUARES_OFF_BY_ONE, "fib": FIB_OK})
    find(sub, "test_squares").source = "assert True"
    find(sub, "test_fib").metadata.nbgrader["points"] = 100
    sub.cells.remove(find(sub, "test_partial"))
    sub.cells.append(new_code_cell("pass", metadata={"nbgrader": {
        "grade": True, "solution": False, "locked": False, "grade_id": "bonus", "points": 50,
        "schema_version": 3}}))
    dup = copy.deepcopy(find(sub, "test_fib"))
    sub.cells.append(dup)
    result, out = grade(sub)
    assert scores(result) == {"test_squares": 0.0, "test_fib": 3.0, "explain": 0.0,
                              "task_plot": None, "test_partial": 1.0}
    assert result.max_score == 12.0
    assert {e.kind for e in result.notebooks["ps1"].events} == {
        "source", "metadata", "deleted", "unknown", "duplicated"}
    comments = read_gradebook(out / "gradebook.json").notebooks["ps1"].comments_dict
    assert "locked cell 'test_squares' was modified" in comments["test_squares"].auto_comment

    strict, _ = grade(sub, Autograde__tamper_policy="zero")
    assert strict.score == 0.0


def test_missing_renamed_and_unreadable_notebooks_score_zero(release, grade, tmp_path) -> None:
    result, out = grade({"ps1_final.ipynb": fill(release.student_nb, CORRECT)})
    nb = result.notebooks["ps1"]
    assert nb.status == "missing" and result.score == 0.0
    assert nb.reason == ("notebook 'ps1.ipynb' was not submitted "
                         "(found instead: ps1_final.ipynb; was it renamed?)")
    gb = read_gradebook(out / "gradebook.json").notebooks["ps1"]
    assert {g.auto_score for g in gb.grades_dict.values()} == {0.0}
    assert not (out / "ps1_final.ipynb").exists()


def test_unreadable_notebook_scores_zero(release, grade) -> None:
    result, _ = grade({}, extra_files={"ps1.ipynb": "{this is not json"})
    assert result.notebooks["ps1"].status == "unreadable"
    assert "not a readable notebook" in result.notebooks["ps1"].reason
    assert result.score == 0.0


def test_submitted_kernel_launcher_cannot_replace_the_kernel(release, grade, tmp_path) -> None:
    fake = ("import pathlib\npathlib.Path('HIJACKED').write_text('yes')\n"
            "raise SystemExit(0)\n")
    result, _ = grade(fill(release.student_nb, CORRECT),
                      extra_files={"ipykernel_launcher.py": fake, "sitecustomize.py": fake})
    assert result.score == 8.0
    assert not (tmp_path / "submission" / "HIJACKED").exists()


def test_environment_and_custom_kernel_manager(release, grade, monkeypatch) -> None:
    monkeypatch.setenv("GS_SECRET_TOKEN", "s3cr3t")
    started = []

    def factory(kernel_name, launcher):
        started.append(kernel_name)
        return AsyncKernelManager(kernel_name=kernel_name)

    probe = ("import os, helper\nprint('exec', os.environ.get('NBGRADER_EXECUTION'))\n"
             "print('secret', os.environ.get('GS_SECRET_TOKEN'))\n" + SQUARES_OK)
    result, out = grade(fill(release.student_nb, {"squares": probe, "fib": FIB_OK}),
                        extra_files={"helper.py": "X = 1\n"},
                        KernelLauncher__kernel_manager_factory=factory)
    assert started == ["python3"]
    text = find(read(out / "ps1.ipynb"), "squares").outputs[0]["text"]
    assert "exec autograde" in text  # and the submission's own helper module imported
    assert "secret None" in text
    assert scores(result)["test_squares"] == 2.0
