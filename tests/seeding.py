"""Seeding helpers for API tests: a real assignment, pushed over git and released by the
service, so routes that need files or a gradebook have something to work on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from tests.gitutil import GitClient
from tests.utils import ApiClient, MockGraderService

HIDDEN_TEST = "answer() > 0"
"""Source of the hidden test: students must never receive it."""


def _nbgrader(grade_id: str, **flags: Any) -> dict[str, Any]:
    cell = {"grade": False, "solution": False, "locked": False, "schema_version": 3}
    return {"nbgrader": {**cell, **flags, "grade_id": grade_id}}


def write_source(work: Path) -> None:
    """A one-point assignment (one answer cell, one test cell with a hidden test)."""
    nb = new_notebook(
        cells=[
            new_code_cell(
                "def answer():\n    ### BEGIN SOLUTION\n    return 42\n    ### END SOLUTION\n",
                metadata=_nbgrader("answer", solution=True),
            ),
            new_code_cell(
                f"assert answer() == 42\n### BEGIN HIDDEN TESTS\nassert {HIDDEN_TEST}\n"
                "### END HIDDEN TESTS\n",
                metadata=_nbgrader("test_answer", grade=True, locked=True, points=1),
            ),
        ]
    )
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, work / "hw.ipynb")


async def release_assignment(
    app: MockGraderService,
    api: ApiClient,
    work: Path,
    *,
    lecture_id: int = 1,
    lecture_code: str = "lect1",
    name: str = "hw",
    instructor: str = "instructor",
) -> dict[str, Any]:
    """Create an assignment, push its source as ``instructor`` and release it.

    Returns the release (``release_commit``, ``assignment``, ...) as the API sent it.
    """
    r = await api.post(f"lectures/{lecture_id}/assignments", user=instructor, body={"name": name})
    assert r.status == 201, r.body
    assignment_id = r.json["id"]
    git = GitClient(app.url, api.tokens[instructor], instructor)
    await git.clone(f"{lecture_code}/{assignment_id}/source", work)
    write_source(work)
    await git.commit_all(work, name)
    await git.run("push", "--quiet", "origin", "main", cwd=work)
    r = await api.post(
        f"lectures/{lecture_id}/assignments/{assignment_id}/release", user=instructor
    )
    assert r.status == 201, r.body
    release: dict[str, Any] = r.json
    return release
