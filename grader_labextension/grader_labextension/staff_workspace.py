"""Instructors' and tutors' local copies: the source repository, edit copies of a
submission, and read-only snapshots of submissions for manual grading (no tornado).

The same rules as in :mod:`workspace` hold: the token only travels in the environment of
each git process, and nothing a user changed is ever overwritten without being kept in
a commit first.

Everything here blocks (git runs as a subprocess): callers run it in a thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from git import GitCommandError, Repo
from git.cmd import Git

from .workspace import (
    MAIN,
    AssignmentRepo,
    GitFailed,
    GitIdentity,
    LocalStatus,
    _git_message,
    fetch_or_clone,
    tree_files,
)

STAFF_ADVICE = "Push your changes first, or move the changed files out of the folder."


@dataclass
class WorkingCopyStatus(LocalStatus):
    """A local copy plus where the server's ``main`` is (null: empty repository)."""

    remote_commit: str | None = None


class WorkingCopy(AssignmentRepo):
    """A staff clone that is pulled and pushed by hand: ``source/{a}`` or ``edit/{a}/{s}``."""

    update_advice = STAFF_ADVICE
    pending = "pushed"
    nothing_to_push = "There is nothing to push: the folder has no files."

    def remote_commit(self) -> str | None:
        """The server's ``main`` (``git ls-remote``), None for an empty repository."""
        git = Git()
        git.update_environment(**self.identity.environment())
        try:
            out: str = git.execute(
                ["git", "ls-remote", self.remote_url, f"refs/heads/{MAIN}"],
                kill_after_timeout=self.identity.timeout,
            )
        except GitCommandError as e:
            raise GitFailed(_git_message(e)) from e
        return out.split()[0] if out.strip() else None

    def full_status(self) -> WorkingCopyStatus:
        """:meth:`status` plus the server's commit, so the UI can say "pull needed"."""
        local = self.status()
        return WorkingCopyStatus(**vars(local), remote_commit=self.remote_commit())

    def pull(self) -> WorkingCopyStatus:
        """Clone (also an empty repository: the folder exists afterwards) or update."""
        self.fetch()
        self.path.mkdir(parents=True, exist_ok=True)
        return self.full_status()

    def push(self, files: list[str] | None, message: str) -> str:
        """Commit ``files`` (all when None), combine with the server's, push; the commit."""
        return self.commit_and_push(files, message)


def pull_snapshot(
    path: Path, remote_url: str, identity: GitIdentity, branch: str, commit: str | None = None
) -> list[str]:
    """Put ``branch`` (or ``commit`` of it) of ``remote_url`` into ``path``; its files.

    A snapshot is refreshed on every pull. Should files in it have been changed (notes
    a grader typed into a notebook), they are first committed on a local branch
    ``kept-{time}`` of the snapshot's repository, so a refresh never destroys them.
    """
    try:
        repo, fetched = fetch_or_clone(path, remote_url, branch, identity)
        if fetched:
            # fetching left the working tree alone: keep what was changed in it
            _keep_local_changes(repo, identity)
        target = commit or ("FETCH_HEAD" if fetched else "HEAD")
        # detached: the snapshot is the server's commit, not a branch anyone works on
        repo.git.execute(["git", "checkout", "--quiet", "--force", "--detach", target])
        repo.git.execute(["git", "clean", "--quiet", "-fd"])
    except GitCommandError as e:
        raise GitFailed(_git_message(e)) from e
    return tree_files(path)


def _keep_local_changes(repo: Repo, identity: GitIdentity) -> None:
    """Commit whatever changed in a snapshot onto a branch of its own."""
    if not repo.is_dirty(untracked_files=True):
        return
    actor = identity.actor()
    env = {
        f"GIT_{role}_{key}": value
        for role in ("AUTHOR", "COMMITTER")
        for key, value in (("NAME", actor.name or ""), ("EMAIL", actor.email or ""))
    }
    keep = f"kept-{time.strftime('%Y%m%d-%H%M%S')}"
    with repo.git.custom_environment(**env):
        repo.git.execute(["git", "checkout", "--quiet", "-b", keep])
        repo.git.execute(["git", "add", "--all"])
        repo.git.execute(["git", "commit", "--quiet", "--no-verify", "-m", "Kept before refresh"])
