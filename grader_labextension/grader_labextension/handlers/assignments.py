"""Local git work on one assignment: fetch, submit, reset, pull feedback.

``{base_url}grader_labextension/lectures/{lecture_id}/assignments/{assignment_id}/...``.
The git work runs in the user's home (``GraderLabConfig.lectures_dir``) with the
user's token; the service decides what the user may do.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import tornado.web

from ..workspace import AssignmentRepo, LocalStatus, pull_feedback
from .base import GraderHandler, GraderHTTPError, translate_errors

FEEDBACK_READY = "generated"


class AssignmentHandler(GraderHandler):
    """Shared lookups: the lecture's code, the repository URL and local directory."""

    async def lecture_code(self, lecture_id: str) -> str:
        """The lecture's code (names its repositories), asked of the service."""
        lecture = await self.service.json("GET", f"api/lectures/{lecture_id}")
        return str(lecture["code"])

    def repo_url(self, code: str, assignment_id: str, *rest: str) -> str:
        """``{service}git/{code}/{assignment_id}/...``."""
        return self.service.url("/".join(["git", code, assignment_id, *rest]))

    async def student_repo(self, lecture_id: str, assignment_id: str) -> AssignmentRepo:
        """The user's copy: ``{lectures_dir}/{code}/assignments/{assignment_id}``."""
        code = await self.lecture_code(lecture_id)
        # git would only say "not found": the API says which and why, as JSON
        await self.service.json("GET", f"api/lectures/{lecture_id}/assignments/{assignment_id}")
        username = self.grader_config.username
        return AssignmentRepo(
            self.lectures_dir / code / "assignments" / assignment_id,
            self.repo_url(code, assignment_id, "user", username),
            self.identity,
        )

    def status_json(self, status: LocalStatus) -> dict[str, Any]:
        """The local status plus the path JupyterLab opens it under."""
        data = dataclasses.asdict(status)
        data["lab_path"] = self.lab_path(Path(status.path))
        return data

    def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object (empty body: ``{}``)."""
        if not self.request.body:
            return {}
        body = self.get_json_body()
        if not isinstance(body, dict):
            raise GraderHTTPError(400, "Bad Request", "The body must be a JSON object.")
        return body


class LocalStatusHandler(AssignmentHandler):
    """``GET .../local``: is it fetched, which files, what changed."""

    @tornado.web.authenticated
    @translate_errors
    async def get(self, lecture_id: str, assignment_id: str) -> None:
        repo = await self.student_repo(lecture_id, assignment_id)
        self.write_json(self.status_json(await self.in_workspace(repo.path, repo.status)))


class FetchHandler(AssignmentHandler):
    """``POST .../fetch``: clone, or update (never over uncommitted changes)."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        repo = await self.student_repo(lecture_id, assignment_id)
        self.write_json(self.status_json(await self.in_workspace(repo.path, repo.fetch)))


class SubmitHandler(AssignmentHandler):
    """``POST .../submit`` ``{"files": [...] | null, "message": "..."}``.

    Commits the files (all changes when ``files`` is missing), pushes, and creates the
    submission with that commit. Answers 201 with the submission as the service sent it.
    """

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        body = self.json_body()
        files = body.get("files")
        if files is not None and not (
            isinstance(files, list) and all(isinstance(f, str) for f in files)
        ):
            raise GraderHTTPError(400, "Bad Request", "'files' must be a list of paths.")
        message = str(body.get("message") or "Submission")
        repo = await self.student_repo(lecture_id, assignment_id)
        commit = await self.in_workspace(repo.path, repo.commit_and_push, files, message)
        submission = await self.service.json(
            "POST",
            f"api/lectures/{lecture_id}/assignments/{assignment_id}/submissions",
            {"commit_hash": commit},
        )
        self.write_json(submission, status=201)


class ResetHandler(AssignmentHandler):
    """``POST .../reset``: back to the released files; the work stays in the history."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        repo = await self.student_repo(lecture_id, assignment_id)
        status = await self.in_workspace(repo.path, repo.status)
        saved = None
        if status.fetched:
            saved = await self.in_workspace(
                repo.path, repo.save_work, "Work saved before resetting to the released version"
            )
        await self.service.json(
            "POST", f"api/lectures/{lecture_id}/assignments/{assignment_id}/reset"
        )
        data = self.status_json(await self.in_workspace(repo.path, repo.fetch))
        data["saved_commit"] = saved
        self.write_json(data)


class RestoreHandler(AssignmentHandler):
    """``POST .../restore`` ``{"commit": "<submission commit>"}``: an earlier submission's
    files as a new commit on top; the current work is committed and pushed first."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        commit = self.json_body().get("commit")
        if not isinstance(commit, str):
            raise GraderHTTPError(400, "Bad Request", "Give the submission's 'commit' to restore.")
        repo = await self.student_repo(lecture_id, assignment_id)
        saved = await self.in_workspace(repo.path, repo.restore, commit)
        data = self.status_json(await self.in_workspace(repo.path, repo.status))
        data["saved_commit"] = saved
        self.write_json(data)


class FeedbackHandler(AssignmentHandler):
    """``POST .../submissions/{submission_id}/feedback``: the feedback HTML, locally."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str, submission_id: str) -> None:
        base = f"api/lectures/{lecture_id}/assignments/{assignment_id}"
        submission = await self.service.json("GET", f"{base}/submissions/{submission_id}")
        if submission.get("feedback_status") != FEEDBACK_READY:
            raise GraderHTTPError(409, "Conflict", "There is no feedback for this submission yet.")
        code = await self.lecture_code(lecture_id)
        username = str(submission.get("username") or self.grader_config.username)
        path = self.lectures_dir / code / "feedback" / assignment_id / submission_id
        files = await self.in_workspace(
            path,
            pull_feedback,
            path,
            self.repo_url(code, assignment_id, "feedback", "user", username),
            f"feedback_{submission['commit_hash']}",
            self.identity,
        )
        self.write_json({"path": str(path), "lab_path": self.lab_path(path), "files": files})


_ASSIGNMENT = r"lectures/(\d+)/assignments/(\d+)"

default_handlers = [
    (_ASSIGNMENT + r"/local", LocalStatusHandler),
    (_ASSIGNMENT + r"/fetch", FetchHandler),
    (_ASSIGNMENT + r"/submit", SubmitHandler),
    (_ASSIGNMENT + r"/reset", ResetHandler),
    (_ASSIGNMENT + r"/restore", RestoreHandler),
    (_ASSIGNMENT + r"/submissions/(\d+)/feedback", FeedbackHandler),
]
