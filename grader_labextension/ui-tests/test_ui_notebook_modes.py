"""An instructor in a real browser: authors an assignment in creation mode (the metadata
written is what the service's release accepts, the validator flags a missing
END SOLUTION), and grades a submission by hand in manual grading mode.

Real parts only: the grader service (subprocess), ``jupyter lab`` with this extension as
installed in the environment, headless Chromium driven by Python Playwright. Screenshots
go to ``ui-tests/artifacts/`` (or ``$GRADER_UI_SHOTS``).
"""

from __future__ import annotations

import json
import os
import re
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nbformat
import pytest
from grader_fixtures import (
    HAS_BWRAP,
    LECTURE_CODE,
    LECTURE_ID,
    GraderService,
    clone_source,
    create_assignment,
    push_source,
    release_source,
    submit_as_student,
    wait_for_submission,
    write_notebook,
)
from lab_fixtures import LAB_TOKEN, REQUIREMENTS, running_lab
from nbformat.v4 import new_code_cell, new_markdown_cell

pytest.importorskip("playwright", reason="playwright is not installed (pip)")
from playwright.sync_api import Locator, Page, expect

pytestmark = REQUIREMENTS

SHOTS = Path(os.environ.get("GRADER_UI_SHOTS", Path(__file__).parent / "artifacts"))


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the current step."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"notebook-{name}.png"))


@pytest.fixture
def instructor_lab(grader_service: GraderService, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` for the instructor (lectures dir: ``{root}/lectures``)."""
    with running_lab(grader_service, tmp_path, "instructor") as lab:
        yield lab


def lab_post(lab: dict[str, Any], path: str) -> Any:
    """POST to the extension as the lab's user (token auth: no XSRF cookie needed)."""
    request = urllib.request.Request(  # noqa: S310 - a local test server
        f"{lab['url']}grader_labextension/{path}",
        data=b"{}",
        method="POST",
        headers={"Authorization": f"token {LAB_TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def open_notebook(page: Page, lab: dict[str, Any], lab_path: str) -> Locator:
    """Open a notebook by URL; the notebook panel once its cells are there."""
    page.goto(f"{lab['url']}lab/tree/{lab_path}?token={LAB_TOKEN}")
    panel = page.locator(".jp-NotebookPanel")
    expect(panel.locator(".jp-Cell").first).to_be_visible(timeout=60_000)
    return panel


def open_for_grading(
    page: Page, lab: dict[str, Any], assignment: dict[str, Any], submission: dict[str, Any]
) -> tuple[str, Locator]:
    """Pull a submission for manual grading and open its notebook; its API path, the panel."""
    base = f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/submissions/{submission['id']}"
    pulled = lab_post(lab, f"{base}/manual")
    return base, open_notebook(page, lab, f"{pulled['lab_path']}/hw.ipynb")


def cell(panel: Locator, index: int) -> Locator:
    return panel.locator(".jp-Notebook .jp-Cell").nth(index)


def test_creation_mode_writes_metadata_the_release_accepts(
    grader_service: GraderService, instructor_lab: dict[str, Any], page: Page
) -> None:
    assignment = create_assignment(grader_service, f"authored-{time.monotonic_ns()}", {})
    source = instructor_lab["root"] / "lectures" / LECTURE_CODE / "source" / str(assignment["id"])
    source.parent.mkdir(parents=True)
    clone_source(grader_service, assignment, source)
    # an unmarked draft: the solution's END marker is missing, no cell has a type yet
    write_notebook(
        source / "hw.ipynb",
        [
            new_markdown_cell("Write `answer()` so that it returns 42."),
            new_code_cell("def answer():\n    ### BEGIN SOLUTION\n    return 42"),
            new_code_cell("assert answer() == 42"),
        ],
    )

    panel = open_notebook(
        page, instructor_lab, f"lectures/{LECTURE_CODE}/source/{assignment['id']}/hw.ipynb"
    )
    toggle = panel.get_by_role("button", name="Creation mode")
    expect(toggle).to_have_attribute("aria-pressed", "false")
    # the badge counts problems even while the mode is off
    expect(panel.get_by_test_id("creation-problem-count")).to_have_text("2")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    problems = panel.get_by_role("region", name="Assignment problems")
    expect(problems).to_contain_text("is never closed")
    expect(problems).to_contain_text("SOLUTION markers but no cell type")
    shot(page, "01-creation-mode-problems")

    cell(panel, 0).get_by_label("Cell type").select_option(label="Readonly")
    cell(panel, 1).get_by_label("Cell type").select_option(label="Autograded answer")
    cell(panel, 2).get_by_label("Cell type").select_option(label="Autograded tests")
    # a markdown cell cannot be an autograded test: the option is offered disabled
    expect(cell(panel, 0).get_by_role("option", name="Autograded tests")).to_be_disabled()
    points = cell(panel, 2).get_by_label("Points")
    points.fill("-1")
    points.press("Enter")
    expect(cell(panel, 2).get_by_role("alert")).to_contain_text("enter 0 or more")
    points.fill("2")
    points.press("Enter")
    grade_id = cell(panel, 2).get_by_label("Grade id")
    grade_id.fill("test_answer")
    grade_id.press("Enter")
    cell(panel, 1).get_by_role("button", name="Add hint").click()
    cell(panel, 1).get_by_label("Hint").fill("Which number answers everything?")
    cell(panel, 1).get_by_label("Hint").blur()
    expect(problems).to_contain_text("1 problem to fix")
    expect(problems).to_contain_text("is never closed")
    shot(page, "02-cell-types-set")

    # clicking the problem goes to its cell
    problems.get_by_role("button", name="Error, cell 2").click()
    expect(cell(panel, 1)).to_have_class(re.compile(r"\bjp-mod-active\b"))

    # add the missing marker in the editor
    cell(panel, 1).locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.press("Enter")
    page.keyboard.type("### END SOLUTION")
    page.keyboard.press("Escape")
    expect(problems).to_contain_text("No problems found")
    expect(problems).to_contain_text("2 points in total")
    expect(panel.get_by_test_id("creation-problem-count")).to_have_count(0)
    page.keyboard.press("Control+s")
    shot(page, "03-no-problems")

    deadline = time.monotonic() + 20
    while True:
        try:
            saved = nbformat.read(source / "hw.ipynb", as_version=4)
        except nbformat.reader.NotJSONError:
            # the server writes the file in place: caught in the middle of the save
            saved = None
        done = saved is not None and "END SOLUTION" in saved.cells[1].source
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert saved is not None, "the notebook was still being written after 20 s"
    metas = [c.metadata.get("nbgrader") for c in saved.cells]
    assert metas[0]["locked"] is True and metas[0]["schema_version"] == 3
    assert metas[1]["solution"] is True and metas[1]["grade"] is False
    assert metas[2] | {"grade_id": None} == {
        "schema_version": 3,
        "grade": True,
        "solution": False,
        "locked": True,
        "task": False,
        "points": 2,
        "grade_id": None,
    }
    assert metas[2]["grade_id"] == "test_answer"
    # the hint lives beside nbgrader's keys (the converter drops unknown nbgrader keys)
    assert saved.cells[1].metadata["hint"] == "Which number answers everything?"

    # the service releases what creation mode wrote, worth the points set
    push_source(grader_service, source, "authored in creation mode")
    released = release_source(grader_service, assignment)
    assert released["assignment"]["points"] == 2


@pytest.mark.skipif(not HAS_BWRAP, reason="grading needs bubblewrap")
def test_manual_grading_saves_scores_and_finishes(
    grader_service: GraderService,
    release: Any,
    instructor_lab: dict[str, Any],
    page: Page,
    tmp_path: Path,
) -> None:
    assignment = release(autograde_type="auto")
    submission = submit_as_student(
        grader_service, assignment, tmp_path / "student", "def answer():\n    return 42\n"
    )
    wait_for_submission(
        grader_service,
        assignment,
        submission["id"],
        lambda s: s["auto_status"] == "automatically_graded",
    )
    base, panel = open_for_grading(page, instructor_lab, assignment, submission)

    header = panel.get_by_role("region", name="Manual grading")
    expect(header).to_contain_text("student, submission")
    expect(panel.get_by_test_id("grading-total")).to_have_text("Score: 1 / 1")
    grading = panel.get_by_role("group", name="Grading of test_answer")
    expect(grading).to_contain_text("Auto score: 1 / 1")
    shot(page, "04-manual-grading")

    score = grading.get_by_label("Manual score")
    score.fill("5")
    expect(grading.get_by_role("alert")).to_have_text("Manual score must be between 0 and 1.")
    expect(header.get_by_role("button", name="Save grades")).to_be_disabled()
    score.fill("0.5")
    grading.get_by_label("Extra credit").fill("0.25")
    grading.get_by_label("Comment").fill("Right result, but explain why.")
    expect(panel.get_by_test_id("grading-total")).to_have_text("Score: 0.75 / 1")
    header.get_by_role("button", name="Save grades").click()
    expect(header.get_by_role("status")).to_contain_text("Grades saved. Score: 0.75.")
    shot(page, "05-grades-saved")

    status, gradebook = grader_service.api("GET", f"{base}/properties", "instructor")
    assert status == 200
    grade = gradebook["notebooks"]["hw"]["grades_dict"]["test_answer"]
    assert (grade["auto_score"], grade["manual_score"], grade["extra_credit"]) == (1, 0.5, 0.25)
    comment = gradebook["notebooks"]["hw"]["comments_dict"]["test_answer"]
    assert comment["manual_comment"] == "Right result, but explain why."

    header.get_by_role("button", name="Finish manual grading").click()
    expect(header).to_contain_text("Manually graded")
    status, graded = grader_service.api("GET", base, "instructor")
    assert status == 200
    assert graded["manual_status"] == "manually_graded"
    assert graded["score"] == 0.75
    shot(page, "06-finished")


def test_student_notebook_shows_the_deadline(
    grader_service: GraderService, release: Any, instructor_lab: dict[str, Any], page: Page
) -> None:
    due = datetime.now(UTC) + timedelta(days=2, minutes=5)
    assignment = release(deadline=due.isoformat())
    lectures = instructor_lab["root"] / "lectures"
    work = lectures / LECTURE_CODE / "assignments" / str(assignment["id"])
    work.mkdir(parents=True)
    write_notebook(
        work / "hw.ipynb",
        [new_code_cell("x = 1", metadata={"hint": "Try 42."}), new_code_cell("y = 2")],
    )

    panel = open_notebook(
        page, instructor_lab, f"lectures/{LECTURE_CODE}/assignments/{assignment['id']}/hw.ipynb"
    )
    banner = panel.get_by_role("note", name="Deadline")
    expect(banner).to_contain_text(assignment["name"])
    expect(banner).to_contain_text("Due in 2 days 0 h")
    # the instructor's hint, only on the cell that has one
    expect(panel.get_by_role("button", name="Show hint")).to_have_count(1)
    expect(panel.get_by_text("Try 42.")).to_be_hidden()
    cell(panel, 0).get_by_role("button", name="Show hint").click()
    expect(panel.get_by_text("Try 42.")).to_be_visible()
    # a student's copy is no place for authoring tools
    expect(panel.get_by_role("button", name="Creation mode")).to_have_count(0)
    shot(page, "07-deadline-banner")


def test_manual_grading_of_a_submission_never_autograded(
    grader_service: GraderService,
    release: Any,
    instructor_lab: dict[str, Any],
    page: Page,
    tmp_path: Path,
) -> None:
    assignment = release(autograde_type="unassisted")
    submission = submit_as_student(
        grader_service, assignment, tmp_path / "student", "def answer():\n    return 41\n"
    )
    base, panel = open_for_grading(page, instructor_lab, assignment, submission)

    header = panel.get_by_role("region", name="Manual grading")
    expect(header.get_by_role("status")).to_contain_text("Not autograded")
    expect(panel.get_by_test_id("grading-total")).to_have_text("Score: 0 / 1")
    grading = panel.get_by_role("group", name="Grading of test_answer")
    expect(grading).to_contain_text("Auto score: none")
    expect(grading).to_contain_text("needs grading")
    grading.get_by_label("Manual score").fill("1")
    header.get_by_role("button", name="Save grades").click()
    expect(header.get_by_role("status")).to_contain_text("Grades saved. Score: 1.")
    shot(page, "08-graded-by-hand")

    status, graded = grader_service.api("GET", base, "instructor")
    assert status == 200
    assert graded["score"] == 1
    assert graded["manual_status"] == "being_edited"
