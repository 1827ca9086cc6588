"""Releasing an assignment: generate, commit, tag, and record it (used by the API and
by the schedule of ``release_at``)."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import Conflict
from ..git.commands import GitError
from ..git.layout import RepoAddress, RepoType
from ..git.release import ReleaseError, ReleasePlan, commit_release, plan_release
from ..git.repos import ensure_bare_repo
from ..git.server import GitServer
from ..orm import Assignment, AssignmentStatus, utcnow


@dataclass(frozen=True)
class Release:
    """A published release."""

    plan: ReleasePlan
    commit: str
    tag: str


def repo_of(
    git_server: GitServer, lecture_code: str, assignment: Assignment, kind: RepoType
) -> Path:
    """Directory of the source or release repository of ``assignment``."""
    return git_server.directory(RepoAddress(lecture_code, assignment.id, kind))


async def preview_release(
    git_server: GitServer, lecture_code: str, assignment: Assignment
) -> ReleasePlan:
    """What releasing the current source would publish (nothing is written)."""
    with tempfile.TemporaryDirectory() as tmp:
        try:
            plan, _ = await plan_release(
                repo_of(git_server, lecture_code, assignment, RepoType.SOURCE), Path(tmp)
            )
        except ReleaseError as e:
            raise Conflict(str(e)) from None
    return plan


async def release_assignment(
    git_server: GitServer, lecture_code: str, assignment: Assignment
) -> Release:
    """Publish the source's newest commit and open the assignment (caller commits the DB).

    The gradebook (with hidden tests) goes into ``assignment.properties``, never into the
    release repository.
    """
    if assignment.status == AssignmentStatus.COMPLETE:
        raise Conflict("The assignment is complete; reopen it (status 'released') first.")
    release_repo = repo_of(git_server, lecture_code, assignment, RepoType.RELEASE)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            plan, files_dir = await plan_release(
                repo_of(git_server, lecture_code, assignment, RepoType.SOURCE), Path(tmp)
            )
            await ensure_bare_repo(release_repo)
            commit, tag = await commit_release(release_repo, files_dir, plan)
        except ReleaseError as e:
            raise Conflict(str(e)) from None
        except GitError:
            raise Conflict("Another release is being written; try again.") from None
    assignment.properties = plan.gradebook
    assignment.points = plan.points
    assignment.status = AssignmentStatus.RELEASED
    assignment.updated_at = utcnow()
    return Release(plan=plan, commit=commit, tag=tag)
