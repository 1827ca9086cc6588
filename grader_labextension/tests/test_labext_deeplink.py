"""Deep links into an assignment: fetched on first use, then opened in JupyterLab."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from grader_fixtures import LECTURE_CODE, LECTURE_ID, answer


async def test_deep_link_fetches_and_redirects_to_the_notebook(
    jp_fetch: Callable[..., Any], release: Any, jp_root_dir: Path, jp_base_url: str
) -> None:
    assignment = release()
    folder = jp_root_dir / "lectures" / LECTURE_CODE / "assignments" / str(assignment["id"])
    link = ("grader_labextension", "open", str(LECTURE_ID), str(assignment["id"]))
    response = await jp_fetch(*link, "hw.ipynb", follow_redirects=False, raise_error=False)
    assert response.code == 302, response.body
    lab_path = f"lectures/{LECTURE_CODE}/assignments/{assignment['id']}"
    assert response.headers["Location"] == f"{jp_base_url}lab/tree/{lab_path}/hw.ipynb"
    assert (folder / "hw.ipynb").is_file()

    # opening it again never refetches over the student's work
    answer(folder / "hw.ipynb", "def answer():\n    return 42  # mine\n")
    response = await jp_fetch(*link, follow_redirects=False, raise_error=False)
    assert response.code == 302
    assert response.headers["Location"] == f"{jp_base_url}lab/tree/{lab_path}"
    assert "# mine" in (folder / "hw.ipynb").read_text()


async def test_deep_link_to_a_missing_assignment_explains_itself(
    jp_fetch: Callable[..., Any],
) -> None:
    response = await jp_fetch(
        "grader_labextension", "open", str(LECTURE_ID), "999999", raise_error=False
    )
    assert response.code == 404
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.body.decode()
    assert "999999" in page and "Assignments panel" in page
