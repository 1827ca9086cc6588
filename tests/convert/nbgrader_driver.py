"""Runs inside nbgrader's own venv (never imported by the test suite).

``python nbgrader_driver.py COURSE_DIR ASSIGNMENT``: releases ``source/ASSIGNMENT`` with
nbgrader, prints ``released``, waits for a line on stdin (the caller writes the students'
submissions meanwhile), autogrades every student under ``submitted/``, and prints one
JSON line: ``{student: {notebook: {grade_id: auto_score}}}`` from nbgrader's gradebook. One process
for all of it, because importing nbgrader alone takes seconds.
"""

import json
import sys
from pathlib import Path

from nbgrader.api import Gradebook
from nbgrader.apps import NbGraderAPI
from traitlets.config import Config


def check(result: dict) -> None:
    """Stop with nbgrader's log if a step failed."""
    if not result.get("success"):
        sys.stderr.write(result.get("log", "") + "\n" + result.get("error", "") + "\n")
        sys.exit(1)


def main() -> None:
    """Release, wait, autograde, report."""
    course, assignment = Path(sys.argv[1]), sys.argv[2]
    config = Config()
    config.CourseDirectory.root = str(course)
    config.CourseDirectory.course_id = "crosscheck"
    api = NbGraderAPI(config=config)
    check(api.generate_assignment(assignment, force=True, create=True))
    print("released", flush=True)
    sys.stdin.readline()
    students = sorted(p.name for p in (course / "submitted").iterdir() if p.is_dir())
    for student in students:
        check(api.autograde(assignment, student, force=True, create=True))
    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in students:
            scores[student] = {
                nb.name: {g.name: g.auto_score for g in nb.grades}
                for nb in gb.find_submission(assignment, student).notebooks
            }
    print(json.dumps(scores), flush=True)


if __name__ == "__main__":
    main()
