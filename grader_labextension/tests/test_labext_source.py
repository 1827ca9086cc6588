"""An instructor's source repository through the extension: pull, push, release."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from grader_fixtures import (
    LECTURE_CODE,
    LECTURE_ID,
    GraderService,
    LabClient,
    as_instructor,
    clone_source,
    create_assignment,
    push_source,
    write_source,
)

__all__ = ["as_instructor"]  # the extension runs as the instructor here (a fixture)


def new_assignment(grader_service: GraderService) -> dict[str, Any]:
    return create_assignment(grader_service, f"source-{time.monotonic_ns()}")


async def test_pull_push_release_a_new_assignment(
    lab: LabClient, grader_service: GraderService, jp_root_dir: Path, tmp_path: Path
) -> None:
    assignment = new_assignment(grader_service)
    route = f"lectures/{LECTURE_ID}/assignments/{assignment['id']}/source"
    folder = jp_root_dir / "lectures" / LECTURE_CODE / "source" / str(assignment["id"])

    status, state = await lab.get(route)
    assert status == 200, state
    assert state["fetched"] is False and state["remote_commit"] is None, state

    # a brand-new assignment's source is empty: the folder exists anyway, ready to fill
    status, state = await lab.post(f"{route}/pull")
    assert status == 200, state
    assert folder.is_dir() and state["fetched"] and state["files"] == [], state
    assert state["lab_path"] == f"lectures/{LECTURE_CODE}/source/{assignment['id']}"

    status, error = await lab.post(f"{route}/push", {"message": "nothing yet"})
    assert status == 409 and "nothing to push" in error["message"], error

    write_source(folder)
    status, pushed = await lab.post(f"{route}/push", {"message": "first version"})
    assert status == 200, pushed
    assert pushed["remote_commit"] == pushed["commit"] == pushed["commit"]
    assert pushed["changed_files"] == [] and pushed["untracked_files"] == [], pushed

    # release through the proxy, as the course-management UI does
    api = f"api/lectures/{LECTURE_ID}/assignments/{assignment['id']}"
    status, preview = await lab.get(f"{api}/release/preview")
    assert status == 200 and preview["source_commit"] == pushed["commit"], preview
    assert preview["points"] == 1, preview
    status, released = await lab.post(f"{api}/release")
    assert status == 201, released
    assert released["assignment"]["status"] == "released"

    # a co-instructor pushes: the status says the server is ahead; pull brings it in
    other = tmp_path / "co-instructor"
    clone_source(grader_service, assignment, other)
    (other / "data.csv").write_text("x,y\n1,2\n")
    push_source(grader_service, other, "data")
    status, state = await lab.get(route)
    assert state["remote_commit"] != state["commit"], state
    status, state = await lab.post(f"{route}/pull")
    assert status == 200 and state["files"] == ["data.csv", "hw.ipynb"], state
    assert state["remote_commit"] == state["commit"]

    # local edits are never overwritten by a pull
    (folder / "hw.ipynb").write_text((folder / "hw.ipynb").read_text().replace("42", "43"))
    status, error = await lab.post(f"{route}/pull")
    assert status == 409 and "hw.ipynb" in error["message"], error
    assert "Push" in error["message"]

    # pushing only some files leaves the others as they are
    (folder / "extra.txt").write_text("extra")
    status, pushed = await lab.post(f"{route}/push", {"message": "extra", "files": ["extra.txt"]})
    assert status == 200, pushed
    assert pushed["changed_files"] == ["hw.ipynb"], pushed
    assert "extra.txt" in pushed["files"] and pushed["untracked_files"] == []

    status, error = await lab.post(f"{route}/push", {"files": "extra.txt"})
    assert status == 400, error
