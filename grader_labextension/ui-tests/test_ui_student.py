"""A student in a real browser: sees the assignment, fetches it, submits, watches it
being graded live, and opens the feedback.

Real parts only: the grader service (subprocess, grading in the bubblewrap sandbox),
``jupyter lab`` with this extension as installed in the environment, and headless
Chromium (Debian's ``chromium``) driven by Python Playwright. Screenshots of every step
go to ``ui-tests/artifacts/``.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from grader_fixtures import LECTURE_CODE, GraderService
from lab_fixtures import LAB_TOKEN, REQUIREMENTS, running_lab

pytest.importorskip("playwright", reason="playwright is not installed (pip)")
from playwright.sync_api import Page, expect

ARTIFACTS = Path(__file__).parent / "artifacts"

pytestmark = REQUIREMENTS


def answer_cell(page: Page) -> Any:
    """The answer cell of the open notebook (its first code cell)."""
    return page.locator(".jp-NotebookPanel:visible .jp-CodeCell").first


def type_answer(page: Page, source: str) -> None:
    """Replace the answer cell's code the way a student does: in the editor, unsaved."""
    answer_cell(page).locator(".cm-content").click()
    page.keyboard.press("Control+A")
    # insert_text: no editor auto-indentation on the way, so the code stays as written
    page.keyboard.insert_text(source)
    expect(answer_cell(page)).to_contain_text(source.splitlines()[-1].strip())


@pytest.fixture
def lab_server(grader_service: GraderService, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """``jupyter lab`` for the student, with the extension pointed at the service."""
    with running_lab(grader_service, tmp_path, "student") as lab:
        yield lab


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the current step."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def test_student_fetches_submits_and_reads_feedback(
    grader_service: GraderService, release: Any, lab_server: dict[str, Any], page: Page
) -> None:
    deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    assignment = release(
        autograde_type="full_auto",
        max_submissions=3,
        deadline=deadline.isoformat(),
        late_submission=[{"period": "P1D", "scaling": 0.5}],
    )
    page.goto(f"{lab_server['url']}lab?token={LAB_TOKEN}")
    page.locator("#jp-main-dock-panel").wait_for()

    # the Assignments sidebar shows the released assignment with its limits
    page.locator('li[data-id="grader-labextension-assignments"]').click()
    card = page.locator(f'.jp-grader-card[data-assignment-id="{assignment["id"]}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(assignment["name"])
    expect(card).to_contain_text("3 of 3 submissions left")
    expect(page.locator(".jp-grader-live.jp-mod-live")).to_be_visible()
    # the late rules, with the dates they end on
    card.get_by_text("Late submission rules").click()
    rules = card.get_by_role("table")
    expect(rules.get_by_role("row")).to_have_count(4)  # header, on time, 1 day late, later
    expect(rules.get_by_role("row", name="On time")).to_contain_text("100%")
    expect(rules.get_by_role("row", name="Up to 1 day late")).to_contain_text("50%")
    expect(rules.get_by_role("row", name="Later")).to_contain_text("not accepted")
    shot(page, "01-assignment-listed")

    card.get_by_role("button", name="Fetch").click()
    expect(card.get_by_role("button", name="Open")).to_be_visible()
    work = lab_server["root"] / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    assert (work / "hw.ipynb").exists()
    card.get_by_role("button", name="Open").click()
    expect(page.locator(".jp-NotebookPanel")).to_be_visible()
    shot(page, "02-fetched-and-opened")

    # the student's answer, typed into the notebook; Submit saves it first
    type_answer(page, "def answer():\n    return 42\n")

    card.get_by_role("button", name="Submit").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("3 remaining submissions")
    shot(page, "03-confirm-submit")
    dialog.get_by_role("button", name="Submit").click()

    row = card.locator(".jp-grader-submission").first
    expect(row).to_be_visible()
    expect(card).to_contain_text("2 of 3 submissions left")
    shot(page, "04-submitted")
    # graded, with feedback, pushed live by the event stream (no reload, no click)
    expect(row.locator(".jp-grader-chip-ok")).to_have_text("Graded", timeout=90_000)
    expect(row.get_by_role("button", name="Open feedback")).to_be_visible(timeout=90_000)
    shot(page, "05-graded")

    row.get_by_role("button", name="Open feedback").click()
    tab = page.locator(".lm-TabBar-tab", has_text="hw.html")
    expect(tab).to_be_visible()
    shot(page, "06-feedback-open")

    # a second try, then back to the first one with "Restore" (confirmed inline)
    page.locator(".lm-TabBar-tab", has_text="hw.ipynb").click()  # back from the feedback
    type_answer(page, "def answer():\n    return 41  # second try\n")
    card.get_by_role("button", name="Submit").click()
    dialog = page.locator(".jp-Dialog")
    expect(dialog).to_contain_text("2 remaining submissions")
    dialog.get_by_role("button", name="Submit").click()
    expect(card).to_contain_text("1 of 3 submissions left")
    rows = card.locator(".jp-grader-submission")
    expect(rows).to_have_count(2)
    # the newest submission's files are the current ones: nothing to restore there
    expect(rows.nth(0).get_by_role("button", name="Restore")).to_be_disabled()
    # unsubmitted work that the restore must keep
    type_answer(page, "def answer():\n    return 40  # unsubmitted idea\n")
    rows.nth(1).get_by_role("button", name="Restore").click()
    confirm = rows.nth(1).get_by_role("group", name="Confirm restoring")
    expect(confirm).to_contain_text("nothing is lost")
    shot(page, "07-confirm-restore")
    confirm.get_by_role("button", name="Restore these files").click()
    expect(page.locator(".jp-toast-message", has_text="are back")).to_be_visible()
    shot(page, "08-restored")
    assert "return 42" in (work / "hw.ipynb").read_text()
    # the open notebook shows the restored files, not the stale ones
    expect(answer_cell(page)).to_contain_text("return 42")
    history = subprocess.run(
        ["git", "log", "-p", "--format=%s"], cwd=work, capture_output=True, text=True, check=True
    ).stdout
    assert "unsubmitted idea" in history
