"""Actions on an assignment's repositories: release, reset to release, edit copies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from ..errors import Conflict, Forbidden, NotFound
from ..git.commands import GitError
from ..git.layout import RepoAddress, RepoType
from ..git.repos import commit_tree_of, copy_commit, ensure_bare_repo, head_commit, seed_from
from ..git.server import GitServer
from ..orm import Assignment, LectureRole, User
from ..store.releases import preview_release, release_assignment
from .assignment_models import AssignmentOut, SubmissionOut
from .assignments import STAFF
from .routing import Route, authorize, document
from .schemas import Strict
from .submissions import SubmissionBaseHandler


class ReleasePreview(BaseModel):
    """What releasing the current source would publish."""

    source_commit: str
    files: list[str] = Field(description="Files of the student version.")
    points: float = Field(description="Total points according to the generated gradebook.")
    notebooks: dict[str, float] = Field(description="Points per notebook.")


class ReleaseOut(ReleasePreview):
    """A published release."""

    release_commit: str
    tag: str
    assignment: AssignmentOut


class ResetQuery(Strict):
    """Staff may reset a student's repository by name."""

    username: str | None = None


class ResetOut(BaseModel):
    """The commit that put the released files back."""

    commit: str


class RepositoryActionHandler(SubmissionBaseHandler):
    """Shared helpers of the repository actions."""

    @property
    def git_server(self) -> GitServer:
        """The git server configuration."""
        return self.grader_app.git_server

    def repo(self, assignment: Assignment, repo_type: RepoType, **owner: Any) -> Path:
        """Directory of one of ``assignment``'s repositories."""
        assert self.lecture is not None
        return self.git_server.directory(
            RepoAddress(self.lecture.code, assignment.id, repo_type, **owner)
        )


def _preview(plan: Any) -> dict[str, Any]:
    notebooks = {
        name: sum(
            float(cell.get("max_score", 0))
            for key in ("grade_cells_dict", "task_cells_dict")
            for cell in nb.get(key, {}).values()
        )
        for name, nb in plan.gradebook.get("notebooks", {}).items()
    }
    return {
        "source_commit": plan.source_commit,
        "files": plan.files,
        "points": plan.points,
        "notebooks": notebooks,
    }


class ReleasePreviewHandler(RepositoryActionHandler):
    """``.../assignments/{assignment_id}/release/preview``."""

    @document(
        "Generate the student version of the current source without publishing it",
        response=ReleasePreview,
        errors=[403, 404, 409],
        tags=["release"],
    )
    @authorize(*STAFF)
    async def get(self, lecture_id: int, assignment_id: int) -> None:
        assert self.lecture is not None
        assignment = await self.load_assignment(lecture_id, assignment_id)
        plan = await preview_release(self.git_server, self.lecture.code, assignment)
        self.write_json(ReleasePreview(**_preview(plan)))


class ReleaseHandler(RepositoryActionHandler):
    """``.../assignments/{assignment_id}/release``."""

    @document(
        "Release: generate the student version and gradebook from the source's newest "
        "commit, commit and tag it in the release repository, and open the assignment "
        "to students",
        response=ReleaseOut,
        status=201,
        errors=[403, 404, 409],
        tags=["release"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def post(self, lecture_id: int, assignment_id: int) -> None:
        assert self.lecture is not None
        assignment = await self.load_assignment(lecture_id, assignment_id)
        self.check_full_auto(assignment.settings, await self._planned_gradebook(assignment))
        release = await release_assignment(self.git_server, self.lecture.code, assignment)
        await self.db.commit()
        self.log.info(
            "Released assignment %d as %s (%s)", assignment.id, release.tag, release.commit[:12]
        )
        self.write_json(
            ReleaseOut(
                **_preview(release.plan),
                release_commit=release.commit,
                tag=release.tag,
                assignment=AssignmentOut.of(assignment),
            ),
            status=201,
        )

    async def _planned_gradebook(self, assignment: Assignment) -> dict[str, Any] | None:
        """The gradebook the release would get (only needed to check full_auto)."""
        if assignment.settings.autograde_type != "full_auto":
            return None
        assert self.lecture is not None
        return (await preview_release(self.git_server, self.lecture.code, assignment)).gradebook


class ResetHandler(RepositoryActionHandler):
    """``.../assignments/{assignment_id}/reset``."""

    @document(
        "Reset your repository to the released files: one new commit on top of your "
        "history, so nothing is lost (staff: any student's with ?username=)",
        query=ResetQuery,
        response=ResetOut,
        status=201,
        errors=[403, 404, 409],
        tags=["release"],
    )
    @authorize()
    async def post(self, lecture_id: int, assignment_id: int) -> None:
        assert self.current_user is not None
        query = self.parse_query(ResetQuery)
        assignment = await self.load_assignment(lecture_id, assignment_id)
        username = self.current_user.name
        if query.username is not None and query.username != username:
            if not self.is_staff:
                raise Forbidden("Only tutors and instructors may reset another student's work.")
            if await self.db.scalar(select(User.id).where(User.name == query.username)) is None:
                raise NotFound(f"User {query.username!r} does not exist.")
            username = query.username
        release = self.repo(assignment, RepoType.RELEASE)
        if await head_commit(release) is None:
            raise Conflict("The assignment has not been released yet.")
        user_repo = self.repo(assignment, RepoType.USER, username=username)
        if await ensure_bare_repo(user_repo, protect_history=True):
            await seed_from(user_repo, release)
        try:
            commit = await commit_tree_of(user_repo, release, "Reset to the released assignment")
        except GitError:
            raise Conflict("The repository changed while resetting; try again.") from None
        self.write_json(ResetOut(commit=commit), status=201)


class EditCopyHandler(RepositoryActionHandler):
    """``.../submissions/{submission_id}/edit``."""

    @document(
        "Create (or recreate) the edit repository: a copy of the submitted commit that "
        "tutors correct; later grading uses it",
        response=SubmissionOut,
        status=201,
        errors=[403, 404, 409],
        tags=["release"],
    )
    @authorize(*STAFF)
    async def post(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        user_repo = self.repo(assignment, RepoType.USER, username=submission.user.name)
        if await head_commit(user_repo) is None:
            raise Conflict("The student's repository is empty; there is nothing to edit.")
        edit_repo = self.repo(assignment, RepoType.EDIT, submission_id=submission.id)
        await ensure_bare_repo(edit_repo)
        try:
            await copy_commit(edit_repo, user_repo, submission.commit_hash)
        except GitError:
            raise Conflict(
                f"Commit {submission.commit_hash[:12]} is not in the student's repository."
            ) from None
        submission.edited = True
        await self.db.commit()
        self.write_json(self.view(assignment, submission), status=201)


_ASSIGNMENT = "api/lectures/{lecture_id}/assignments/{assignment_id}"

default_handlers = [
    Route(_ASSIGNMENT + "/release", ReleaseHandler),
    Route(_ASSIGNMENT + "/release/preview", ReleasePreviewHandler),
    Route(_ASSIGNMENT + "/reset", ResetHandler),
    Route(_ASSIGNMENT + "/submissions/{submission_id}/edit", EditCopyHandler),
]
