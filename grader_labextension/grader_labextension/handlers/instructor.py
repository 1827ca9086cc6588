"""Staff git work on one assignment: the source repository, manual-grading snapshots and
edit copies of submissions.

``{base_url}grader_labextension/lectures/{l}/assignments/{a}/...``; local folders under
``{lectures_dir}/{code}/``: ``source/{a}``, ``manualgrade/{a}/{s}``, ``edit/{a}/{s}``.
The service decides who may do what (its git server refuses students these repositories).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tornado.web

from ..staff_workspace import WorkingCopy, WorkingCopyStatus, pull_snapshot
from ..workspace import GitFailed
from .assignments import AssignmentHandler
from .base import GraderHTTPError, translate_errors

AUTOGRADED = "automatically_graded"


class StaffHandler(AssignmentHandler):
    """Lookups of the staff routes."""

    async def source_copy(self, lecture_id: str, assignment_id: str) -> WorkingCopy:
        """``{lectures_dir}/{code}/source/{a}``, a clone of ``git/{code}/{a}/source``."""
        code = await self.lecture_code(lecture_id)
        await self.service.json("GET", f"api/lectures/{lecture_id}/assignments/{assignment_id}")
        return WorkingCopy(
            self.lectures_dir / code / "source" / assignment_id,
            self.repo_url(code, assignment_id, "source"),
            self.identity,
        )

    async def submission(self, lecture_id: str, assignment_id: str, sid: str) -> dict[str, Any]:
        """The submission as the service sends it (404/403 come from there)."""
        path = f"api/lectures/{lecture_id}/assignments/{assignment_id}/submissions/{sid}"
        submission: dict[str, Any] = await self.service.json("GET", path)
        return submission

    def copy_json(self, status: WorkingCopyStatus) -> dict[str, Any]:
        """The status of a working copy plus its JupyterLab path."""
        data = dataclasses.asdict(status)
        data["lab_path"] = self.lab_path(Path(status.path))
        return data

    def files_json(self, path: Path, files: list[str]) -> dict[str, Any]:
        """``{path, lab_path, files}`` of a pulled folder."""
        return {"path": str(path), "lab_path": self.lab_path(path), "files": files}

    def push_args(self) -> tuple[list[str] | None, str]:
        """``files`` (None: all changes) and ``message`` of a push request."""
        body = self.json_body()
        files = body.get("files")
        if files is not None and not (
            isinstance(files, list) and all(isinstance(f, str) for f in files)
        ):
            raise GraderHTTPError(400, "Bad Request", "'files' must be a list of paths or null.")
        message = body.get("message")
        if message is not None and not isinstance(message, str):
            raise GraderHTTPError(400, "Bad Request", "'message' must be a string.")
        return files, (message or "").strip()


class SourceStatusHandler(StaffHandler):
    """``GET .../source``: the local source copy and the server's newest commit."""

    @tornado.web.authenticated
    @translate_errors
    async def get(self, lecture_id: str, assignment_id: str) -> None:
        copy = await self.source_copy(lecture_id, assignment_id)
        status = await self.in_workspace(copy.path, copy.full_status)
        self.write_json(self.copy_json(status))


class SourcePullHandler(StaffHandler):
    """``POST .../source/pull``: clone or update (never over uncommitted changes)."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        copy = await self.source_copy(lecture_id, assignment_id)
        self.write_json(self.copy_json(await self.in_workspace(copy.path, copy.pull)))


class SourcePushHandler(StaffHandler):
    """``POST .../source/push`` ``{"message", "files"}``: commit and push the source."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        files, message = self.push_args()
        copy = await self.source_copy(lecture_id, assignment_id)
        commit = await self.in_workspace(
            copy.path, copy.push, files, message or "Update the assignment's source"
        )
        data = self.copy_json(await self.in_workspace(copy.path, copy.full_status))
        self.write_json({"commit": commit, **data})


class ManualGradingHandler(StaffHandler):
    """``POST .../submissions/{s}/manual``: the graded notebooks of a submission.

    The autograde repository's ``submission_{commit}`` branch once it is autograded,
    otherwise the student's commit itself (ungraded notebooks are still gradable by hand).
    """

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str, submission_id: str) -> None:
        submission = await self.submission(lecture_id, assignment_id, submission_id)
        code = await self.lecture_code(lecture_id)
        username, commit = str(submission["username"]), str(submission["commit_hash"])
        path = self.lectures_dir / code / "manualgrade" / assignment_id / submission_id
        if submission["auto_status"] == AUTOGRADED:
            url = self.repo_url(code, assignment_id, "autograde", "user", username)
            args: tuple[Any, ...] = (url, self.identity, f"submission_{commit}")
        else:
            url = self.repo_url(code, assignment_id, "user", username)
            args = (url, self.identity, "main", commit)
        files = await self.in_workspace(path, pull_snapshot, path, *args)
        self.write_json(self.files_json(path, files))


class EditHandler(StaffHandler):
    """``POST .../submissions/{s}/edit``: a tutor's editable copy of a submission."""

    async def edit_copy(self, lecture_id: str, assignment_id: str, sid: str) -> WorkingCopy:
        """``{lectures_dir}/{code}/edit/{a}/{s}``, a clone of ``git/{code}/{a}/edit/{s}``."""
        code = await self.lecture_code(lecture_id)
        return WorkingCopy(
            self.lectures_dir / code / "edit" / assignment_id / sid,
            self.repo_url(code, assignment_id, "edit", sid),
            self.identity,
        )

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str, submission_id: str) -> None:
        await self.submission(lecture_id, assignment_id, submission_id)
        copy = await self.edit_copy(lecture_id, assignment_id, submission_id)
        try:
            await self.in_workspace(copy.path, copy.remote_commit)
        except GitFailed as e:
            # only a missing copy is created: (re)creating an existing one would reset it
            # to the student's commit and drop earlier corrections
            if "not found" not in e.message.lower() and "no edit copy" not in e.message.lower():
                raise
            await self.service.json(
                "POST",
                f"api/lectures/{lecture_id}/assignments/{assignment_id}"
                f"/submissions/{submission_id}/edit",
            )
        status = await self.in_workspace(copy.path, copy.pull)
        self.write_json(self.files_json(copy.path, status.files))


class EditPushHandler(EditHandler):
    """``POST .../submissions/{s}/edit/push`` ``{"message"?}``: commit, push, mark edited."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str, submission_id: str) -> None:
        _, message = self.push_args()
        await self.submission(lecture_id, assignment_id, submission_id)
        copy = await self.edit_copy(lecture_id, assignment_id, submission_id)
        commit = await self.in_workspace(
            copy.path, copy.push, None, message or f"Edit submission {submission_id}"
        )
        await self.service.json(
            "PUT",
            f"api/lectures/{lecture_id}/assignments/{assignment_id}/submissions/{submission_id}",
            {"edited": True},
        )
        self.write_json({"commit": commit})


_ASSIGNMENT = r"lectures/(\d+)/assignments/(\d+)"

default_handlers = [
    (_ASSIGNMENT + r"/source", SourceStatusHandler),
    (_ASSIGNMENT + r"/source/pull", SourcePullHandler),
    (_ASSIGNMENT + r"/source/push", SourcePushHandler),
    (_ASSIGNMENT + r"/submissions/(\d+)/manual", ManualGradingHandler),
    (_ASSIGNMENT + r"/submissions/(\d+)/edit", EditHandler),
    (_ASSIGNMENT + r"/submissions/(\d+)/edit/push", EditPushHandler),
]
