"""A process left behind by student code cannot rewrite the results (grading pods).

In a pod the kernel runs as the harness's own user. The hostile submission below
double-forks a daemon that waits for ``gradebook.json`` to be written and then gives
itself full marks. Without ``isolate_harness`` the forgery works (the control case,
which shows the test can fail); with it the daemon is gone before results are written.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import Release
from .notebooks import fill, write

FORGER = """
import json, os, pathlib, time
def squares(n):
    return []
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        target = pathlib.Path({gradebook!r})
        before = target.stat().st_mtime_ns
        for _ in range(400):
            time.sleep(0.025)
            if target.stat().st_mtime_ns != before:
                time.sleep(0.1)  # let the harness finish writing
                book = json.loads(target.read_text())
                for nb in book["notebooks"].values():
                    for grade in nb["grades_dict"].values():
                        grade["auto_score"] = grade["max_score_gradecell"] or 0
                target.write_text(json.dumps(book))
                break
    os._exit(0)
"""


def _grade(release: Release, root: Path, isolate: bool) -> float:
    submission, out = root / "submission", root / "out"
    out.mkdir(parents=True)
    shutil.copy(release.release_dir / "gradebook.json", out / "gradebook.json")
    gradebook = out / "gradebook.json"
    write(
        fill(release.student_nb, {"squares": FORGER.format(gradebook=str(gradebook))}),
        submission / "ps1.ipynb",
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "grader_service.convert.main",
            "autograde",
            "-i",
            str(submission),
            "-o",
            str(out),
            "--NotebookRunner.cell_timeout=10",
            f"--Autograde.isolate_harness={isolate}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    time.sleep(1.5)  # time for a surviving daemon to strike
    book = json.loads(gradebook.read_text())
    return sum(
        grade["auto_score"] or 0
        for nb in book["notebooks"].values()
        for grade in nb["grades_dict"].values()
    )


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux only")
def test_isolated_harness_kills_what_student_code_left_behind(
    release: Release, tmp_path: Path
) -> None:
    forged = _grade(release, tmp_path / "control", isolate=False)
    assert forged >= 9, "control: without isolation the daemon should forge full marks"
    honest = _grade(release, tmp_path / "isolated", isolate=True)
    assert honest < forged
    assert honest <= 4  # only what the wrong squares() leaves (fib and partial credit)
