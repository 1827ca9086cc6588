"""The whole system through a real JupyterHub, in a real browser: what ``python3 dev.py
demo`` starts, driven like a course would use it.

The hub, the hub-managed grader service, the users' JupyterLab servers and the seeded
demo lecture are started by ``demo.launch.Demo`` (the demo's own code) in a temporary
directory on free ports, so this test also proves that the demo works. Headless Chromium
(Debian's ``/usr/bin/chromium``, driven by Python Playwright) logs in at ``/hub/login``;
instructor and student have browser contexts of their own (separate cookies).

Steps (screenshots of each in ``ui-tests/artifacts/hub-e2e/``):

1. the instructor logs in; JupyterLab opens with the extension;
2. in the Course Management view (launcher card) the instructor creates an assignment,
   pulls its empty source repository, pushes the notebook they saved there, previews the
   release and releases it;
3. a student logs in, opens the Assignments sidebar (the seeded demo assignment is there
   too), fetches the new assignment, opens the notebook, types the answer into the
   answer cell, saves, submits (confirming), sees it graded live and opens the feedback;
4. the instructor sees the student's score in the submissions table (and the service's API,
   as the instructor with a token the hub issued to them, agrees) and exports the CSV,
   which lands in their ``lectures/demo/exports/`` and opens in JupyterLab.

Run it (it takes about a minute) with the browser lock other test runs respect::

    flock /tmp/grader-browser.lock .venv/bin/python -m pytest \\
        grader_labextension/ui-tests/test_ui_hub_e2e.py -p no:cacheprovider -q
"""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from lab_fixtures import BROWSER_REQUIREMENTS, CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from demo.launch import (  # noqa: E402 - the repository root is importable only now
    CHP,
    INSTRUCTOR,
    LECTURE_CODE,
    LECTURE_NAME,
    PASSWORD,
    SAMPLE_ASSIGNMENT,
    STUDENTS,
    Demo,
    ServiceClient,
    notebook,
)

ARTIFACTS = Path(__file__).parent / "artifacts" / "hub-e2e"
STUDENT = STUDENTS[0]
NOTEBOOK = "hw.ipynb"
ANSWER = "def answer(): return 42"

try:
    from playwright.sync_api import BrowserContext, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None  # type: ignore[assignment]

pytestmark = [
    pytest.mark.hub,
    *BROWSER_REQUIREMENTS,
    pytest.mark.skipif(
        not CHP.exists(),
        reason=f"configurable-http-proxy is not installed at {CHP} (npm ci --prefix tests/hub)",
    ),
]


def homework() -> dict[str, Any]:
    """A one-point source notebook: the answer cell and a test cell with a hidden test."""

    def nbgrader(grade_id: str, **flags: Any) -> dict[str, Any]:
        cell = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
        return {"nbgrader": {**cell, **flags, "grade_id": grade_id}}

    return notebook(
        [
            {
                "cell_type": "markdown",
                "metadata": {},
                "source": "Write `answer()` so that it returns 42.",
            },
            {
                "cell_type": "code",
                "metadata": nbgrader("answer", solution=True),
                "source": "def answer():\n    ### BEGIN SOLUTION\n    return 42\n"
                "    ### END SOLUTION\n",
                "execution_count": None,
                "outputs": [],
            },
            {
                "cell_type": "code",
                "metadata": nbgrader("test_answer", grade=True, locked=True, points=1),
                "source": "assert answer() == 42\n### BEGIN HIDDEN TESTS\n"
                "assert answer() > 0\n### END HIDDEN TESTS\n",
                "execution_count": None,
                "outputs": [],
            },
        ]
    )


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo, started and seeded exactly as ``python3 dev.py demo`` does."""
    with Demo(tmp_path_factory.mktemp("demo")) as running:
        running.seed()
        yield running


@pytest.fixture(scope="module")
def instructor_api(demo: Demo) -> Iterator[ServiceClient]:
    """The service's API as the instructor (their hub token, revoked afterwards)."""
    with demo.client(INSTRUCTOR, "hub e2e test") as client:
        yield client


@pytest.fixture
def browser_contexts(tmp_path: Path) -> Iterator[dict[str, BrowserContext]]:
    """One headless Chromium, a context (own cookies) per user."""
    assert sync_playwright is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
        )
        contexts = {
            name: browser.new_context(
                viewport={"width": 1400, "height": 900}, accept_downloads=True
            )
            for name in (INSTRUCTOR, STUDENT)
        }
        for context in contexts.values():
            context.set_default_timeout(30_000)
        try:
            yield contexts
        finally:
            browser.close()


def shot(page: Page, name: str) -> None:
    """Save a screenshot of the current step."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def log_in(context: BrowserContext, demo: Demo, username: str, step: str) -> Page:
    """Log in with the hub's login form; returns the page once JupyterLab is ready."""
    page = context.new_page()
    page.goto(f"{demo.url}hub/login")
    page.get_by_label("Username:").fill(username)
    page.get_by_label("Password:").fill(PASSWORD)
    shot(page, f"{step}-login-{username}")
    page.get_by_role("button", name="Sign in").click()
    # the hub spawns the user's server and redirects to it once it is up
    page.wait_for_url(f"**/user/{username}/lab**", timeout=60_000)
    page.locator("#jp-main-dock-panel").wait_for(timeout=60_000)
    # the extension is there: its Assignments sidebar tab
    expect(page.locator('li[data-id="grader-labextension-assignments"]')).to_be_visible(
        timeout=30_000
    )
    return page


def wait_for(condition: Any, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.2)


def test_course_through_the_hub(
    demo: Demo,
    instructor_api: ServiceClient,
    browser_contexts: dict[str, BrowserContext],
) -> None:
    started = time.monotonic()

    # 1. the instructor logs in: JupyterLab with the extension
    instructor = log_in(browser_contexts[INSTRUCTOR], demo, INSTRUCTOR, "01")
    shot(instructor, "02-instructor-lab")

    # 2. the instructor creates, fills and releases an assignment in Course Management
    instructor.locator(".jp-LauncherCard", has_text="Course Management").click()
    view = instructor.locator(".jp-grader-CourseManagement")
    expect(view.get_by_role("heading", name="Course Management")).to_be_visible()
    view.get_by_role("button", name=LECTURE_NAME).click()
    # the demo's seeded assignment is in the lecture's table
    expect(view.locator("tr[data-assignment-id]", has_text=SAMPLE_ASSIGNMENT)).to_be_visible()
    view.get_by_role("button", name="New assignment").click()
    name = f"E2E homework {int(time.time())}"
    view.get_by_label("Name", exact=True).fill(name)
    view.get_by_label("Grading", exact=True).select_option("full_auto")
    view.get_by_label("Maximum submissions", exact=True).fill("2")
    shot(instructor, "03-instructor-new-assignment")
    view.get_by_role("button", name="Save", exact=True).click()
    assignment_view = view.locator(".jp-grader-assignment-view")
    expect(assignment_view).to_be_visible()
    assignment_id = int(assignment_view.get_attribute("data-assignment-id") or "0")

    view.get_by_role("button", name="Pull source").click()
    # the local copy of the (still empty) source repository, in the instructor's home
    source_lab_path = f"lectures/{LECTURE_CODE}/source/{assignment_id}"
    expect(assignment_view.locator("dd", has_text=source_lab_path)).to_be_visible()
    source = demo.home(INSTRUCTOR) / source_lab_path
    assert source.is_dir(), source
    # the instructor's notebook, saved where Pull source put the repository (the
    # notebook editor writes the same file)
    (source / NOTEBOOK).write_text(json.dumps(homework(), indent=1))
    view.get_by_role("button", name="Refresh source status").click()
    expect(view.get_by_role("checkbox", name=NOTEBOOK)).to_be_visible()
    view.get_by_label("Commit message").fill("Homework with tests")
    view.get_by_role("button", name="Push source").click()
    expect(view.get_by_role("status").filter(has_text="Pushed commit")).to_be_visible()
    view.get_by_role("button", name="Preview release").click()
    expect(view.locator("caption", has_text="Student version of source commit")).to_contain_text(
        "1 points"
    )
    shot(instructor, "04-instructor-release-preview")
    view.get_by_role("button", name="Release", exact=True).click()
    expect(view.get_by_role("status").filter(has_text="students can fetch")).to_be_visible()
    shot(instructor, "05-instructor-released")
    lecture = instructor_api.lecture(LECTURE_CODE)
    assignment = instructor_api.api("GET", f"lectures/{lecture['id']}/assignments/{assignment_id}")
    assert assignment["status"] == "released", assignment
    assert assignment["settings"]["max_submissions"] == 2, assignment

    # 3. the student: Assignments sidebar, fetch, open, answer, save, submit
    student = log_in(browser_contexts[STUDENT], demo, STUDENT, "06")
    student.locator('li[data-id="grader-labextension-assignments"]').click()
    card = student.locator(f'.jp-grader-card[data-assignment-id="{assignment_id}"]')
    expect(card).to_be_visible()
    expect(card).to_contain_text(name)
    expect(card).to_contain_text("2 of 2 submissions left")
    # the demo's seeded assignment is listed as well
    expect(student.locator(".jp-grader-card", has_text=SAMPLE_ASSIGNMENT)).to_be_visible()
    shot(student, "07-student-assignments")

    card.get_by_role("button", name="Fetch").click()
    expect(card.get_by_role("button", name="Open")).to_be_visible()
    work = demo.home(STUDENT) / "lectures" / LECTURE_CODE / "assignments" / str(assignment_id)
    assert (work / NOTEBOOK).exists()
    card.get_by_role("button", name="Open").click()
    panel = student.locator(".jp-NotebookPanel")
    expect(panel).to_be_visible()
    # the released notebook: the solution is replaced by a stub for the student
    answer_cell = panel.locator(".jp-Cell").nth(1)
    expect(answer_cell).to_contain_text("NotImplementedError")
    shot(student, "08-student-notebook")

    editor = answer_cell.locator(".cm-content")
    editor.click()
    student.keyboard.press("Control+A")
    student.keyboard.type(ANSWER)
    expect(answer_cell).to_contain_text(ANSWER)
    student.keyboard.press("Control+S")

    def saved() -> bool:
        cells = json.loads((work / NOTEBOOK).read_text())["cells"]
        return any("".join(c["source"]) == ANSWER for c in cells)

    wait_for(saved, 20, f"the answer was not saved to {work / NOTEBOOK}")
    shot(student, "09-student-answered-and-saved")

    # grading status arrives live (the sidebar's event stream is connected)
    expect(student.locator(".jp-grader-live.jp-mod-live")).to_be_visible(timeout=20_000)
    card.get_by_role("button", name="Submit").click()
    dialog = student.locator(".jp-Dialog")
    expect(dialog).to_contain_text("2 remaining submissions")
    shot(student, "10-student-confirm-submit")
    dialog.get_by_role("button", name="Submit").click()

    row = card.locator(".jp-grader-submission").first
    expect(row).to_be_visible()
    expect(card).to_contain_text("1 of 2 submissions left")
    shot(student, "11-student-submitted")
    # graded and feedback generated, pushed by the event stream (no reload, no click)
    expect(row.locator(".jp-grader-chip-ok")).to_have_text("Graded", timeout=90_000)
    expect(row.get_by_role("button", name="Open feedback")).to_be_visible(timeout=90_000)
    shot(student, "12-student-graded")
    row.get_by_role("button", name="Open feedback").click()
    expect(student.locator(".lm-TabBar-tab", has_text="hw.html")).to_be_visible()
    shot(student, "13-student-feedback")

    # 4. the instructor sees the score in the submissions table and exports the CSV
    instructor.bring_to_front()
    assignment_view.get_by_role("tab", name="Submissions").click()
    submission_row = assignment_view.locator("tr[data-submission-id]", has_text=STUDENT)
    expect(submission_row.locator("td.jp-grader-number")).to_have_text("1 / 1", timeout=30_000)
    # the table follows the whole lecture's grading live
    expect(assignment_view.locator(".jp-grader-live.jp-mod-live")).to_be_visible(timeout=20_000)
    shot(instructor, "15-instructor-submissions")
    # the service agrees
    [graded] = [
        s
        for s in instructor_api.api(
            "GET",
            f"lectures/{lecture['id']}/assignments/{assignment_id}/submissions"
            "?instructor-version=true",
        )
        if s["username"] == STUDENT
    ]
    assert graded["score"] == 1, graded

    exports = demo.home(INSTRUCTOR) / "lectures" / LECTURE_CODE / "exports"
    assignment_view.get_by_role("button", name="Export CSV").click()
    # the export lands in the instructor's exports folder and opens in JupyterLab
    csv_tab = instructor.locator(".lm-TabBar-tab", has_text=".csv")
    expect(csv_tab).to_be_visible()
    [path] = exports.glob("*.csv")
    expect(csv_tab).to_contain_text(path.name)
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert [r["username"] for r in rows] == [STUDENT], rows
    assert float(rows[0]["score"]) == 1.0, rows
    shot(instructor, "16-instructor-exported-csv")
    instructor.locator(".lm-TabBar-tab", has_text="Course Management").click()
    expect(
        assignment_view.get_by_role("status").filter(has_text="Exported 1 row(s)")
    ).to_be_visible()

    # the whole course in well under the 3 minutes budgeted for it
    assert time.monotonic() - started < 180
