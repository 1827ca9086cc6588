"""The student's local copies of assignments: git work with GitPython (no tornado).

Rules this module keeps:

- **Student work is never lost.** Nothing here overwrites a modified file: updating
  refuses while tracked files have changes, merges never discard (a conflict aborts the
  merge and leaves everything as it was), and a reset first commits and pushes the work,
  so it stays in the repository's history.
- **The token never touches the disk.** git gets it as an ``http.extraHeader`` through
  ``GIT_CONFIG_COUNT``/``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n`` in the environment of
  each git process: not in ``.git/config``, not in a remote URL, not in a credential store.

Everything here blocks (git runs as a subprocess): callers run it in a thread.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from git import Actor, GitCommandError, InvalidGitRepositoryError, Repo
from git.exc import BadName

MAIN = "main"


class WorkspaceError(Exception):
    """A git operation could not be done; ``message`` says why and what to do."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


STUDENT_ADVICE = (
    "Submit your work first, or reset the assignment (your changes are kept in its history)."
)


class UncommittedChanges(WorkspaceError):
    """Updating would touch files the user changed; ``advice`` says what to do."""

    def __init__(
        self, files: list[str], advice: str = STUDENT_ADVICE, pending: str = "submitted"
    ) -> None:
        shown = ", ".join(files[:5]) + (f" and {len(files) - 5} more" if len(files) > 5 else "")
        super().__init__(
            f"You have changes that are not {pending} yet ({shown}); updating could "
            f"overwrite them. {advice}"
        )
        self.files = files


class GitFailed(WorkspaceError):
    """git itself failed (network, refused push, ...); the message has git's reason."""

    status = 502


@dataclass(frozen=True)
class GitIdentity:
    """Who git runs as: the token for the service and a fallback commit author."""

    token: str
    username: str
    timeout: float = 300.0

    def environment(self) -> dict[str, str]:
        """Environment of every git process: auth header, no prompts, main as default."""
        env = {
            "GIT_TERMINAL_PROMPT": "0",  # fail instead of waiting for a password forever
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "init.defaultBranch",
            "GIT_CONFIG_VALUE_0": MAIN,
            "GIT_CONFIG_KEY_1": "http.extraHeader",
            "GIT_CONFIG_VALUE_1": f"Authorization: token {self.token}" if self.token else "",
        }
        if not self.token:
            env["GIT_CONFIG_COUNT"] = "1"
        return env

    def actor(self) -> Actor:
        """Author of commits when the user has not configured git."""
        return Actor(self.username, f"{self.username}@grader-service.invalid")


@dataclass
class LocalStatus:
    """What the student has locally of one assignment."""

    fetched: bool
    path: str
    commit: str | None = None
    changed_files: list[str] = field(default_factory=list)
    untracked_files: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)


def _git_message(error: GitCommandError) -> str:
    """git's reason, with the service's ``remote:`` lines first (they say what to fix)."""
    text = (error.stderr or "").strip() or str(error)
    # GitPython quotes it as "stderr: '...'"
    text = re.sub(r"^stderr: '(.*)'$", r"\1", text, flags=re.DOTALL)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    remote = [line[len("remote:") :].strip() for line in lines if line.startswith("remote:")]
    lines = [r for r in remote if r] or [line for line in lines if not line.startswith("Cloning")]
    # should git ever echo the header, the token does not reach the browser
    return " ".join(re.sub(r"token \S+", "token ***", line) for line in lines[-6:])


def _safe_relative(path: str) -> str:
    """A repository-relative path; refuses absolute paths and ``..``."""
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts or not pure.parts or pure.parts[0] == ".git":
        raise WorkspaceError(f"{path!r} is not a file of the assignment.")
    return str(pure)


COMMIT_HASH = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


class AssignmentRepo:
    """The student's clone of their repository ``git/{code}/{id}/user/{name}``.

    Subclasses (``staff_workspace``) reuse it for the instructors' working copies and
    change only the words of their messages.
    """

    update_advice = STUDENT_ADVICE
    pending = "submitted"
    nothing_to_push = "There is nothing to submit: the assignment has no files."

    def __init__(self, path: Path, remote_url: str, identity: GitIdentity) -> None:
        self.path = path
        self.remote_url = remote_url
        self.identity = identity

    # -- helpers -------------------------------------------------------------------------

    def _open(self) -> Repo | None:
        if not (self.path / ".git").exists():
            return None
        try:
            repo = Repo(self.path)
        except InvalidGitRepositoryError:
            return None
        repo.git.update_environment(**self.identity.environment())
        return repo

    def _require(self) -> Repo:
        repo = self._open()
        if repo is None:
            raise WorkspaceError("The assignment has not been fetched yet: fetch it first.")
        return repo

    def _git(self, repo: Repo, *args: str, **kwargs: Any) -> str:
        try:
            out: str = repo.git.execute(
                ["git", *args], kill_after_timeout=self.identity.timeout, **kwargs
            )
        except GitCommandError as e:
            raise GitFailed(_git_message(e)) from e
        return out

    def _commit(self, repo: Repo, message: str) -> None:
        """Commit the index; as the service user if the user has not configured git."""
        env: dict[str, str] = {}
        try:
            repo.git.config("--get", "user.name")
            repo.git.config("--get", "user.email")
        except GitCommandError:  # `git commit` would refuse: "Please tell me who you are"
            actor = self.identity.actor()
            for role in ("AUTHOR", "COMMITTER"):
                env[f"GIT_{role}_NAME"] = actor.name or ""
                env[f"GIT_{role}_EMAIL"] = actor.email or ""
        with repo.git.custom_environment(**env):
            self._git(repo, "commit", "--quiet", "--no-verify", "-m", message)

    @staticmethod
    def _has_staged(repo: Repo) -> bool:
        if not repo.head.is_valid():
            return bool(repo.index.entries)
        return bool(repo.index.diff("HEAD"))

    @staticmethod
    def _changed(repo: Repo) -> list[str]:
        """Tracked files with staged or unstaged changes."""
        if not repo.head.is_valid():
            return sorted({item.a_path or "" for item in repo.index.diff(None)})
        staged = {item.a_path or "" for item in repo.index.diff("HEAD")}
        unstaged = {item.a_path or "" for item in repo.index.diff(None)}
        return sorted(staged | unstaged)

    def _integrate_remote(self, repo: Repo) -> None:
        """Bring ``origin/main`` in: fast-forward, or merge; a conflict changes nothing."""
        self._git(repo, "fetch", "--quiet", "origin")
        try:
            remote = repo.commit(f"origin/{MAIN}")
        except (ValueError, BadName, GitCommandError):
            return  # the server's repository is still empty
        if not repo.head.is_valid():
            self._git(repo, "checkout", "--quiet", "-B", MAIN, f"origin/{MAIN}")
            return
        if repo.is_ancestor(remote, repo.head.commit):
            return
        try:
            repo.git.execute(
                ["git", "merge", "--quiet", "--no-edit", f"origin/{MAIN}"],
                kill_after_timeout=self.identity.timeout,
            )
        except GitCommandError as e:
            if (self.path / ".git" / "MERGE_HEAD").exists():
                self._git(repo, "merge", "--abort")
            raise WorkspaceError(
                "Your copy and the server's copy of the assignment both changed and cannot "
                f"be combined automatically ({_git_message(e)}). Nothing was changed."
            ) from e

    # -- operations ----------------------------------------------------------------------

    def status(self) -> LocalStatus:
        """Fetched or not, the current commit and the student's changes."""
        repo = self._open()
        if repo is None:
            return LocalStatus(fetched=False, path=str(self.path))
        files = tree_files(self.path)
        return LocalStatus(
            fetched=True,
            path=str(self.path),
            commit=repo.head.commit.hexsha if repo.head.is_valid() else None,
            changed_files=self._changed(repo),
            untracked_files=sorted(repo.untracked_files),
            files=files,
        )

    def fetch(self) -> LocalStatus:
        """Clone the repository, or update the clone (refusing over uncommitted changes)."""
        repo = self._open()
        if repo is None:
            if self.path.exists() and any(self.path.iterdir()):
                raise WorkspaceError(
                    f"{self.path} exists and is not a copy of the assignment; move it away "
                    "and fetch again."
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                Repo.clone_from(
                    self.remote_url,
                    self.path,
                    env=self.identity.environment(),
                    kill_after_timeout=self.identity.timeout,
                )
            except GitCommandError as e:
                shutil.rmtree(self.path, ignore_errors=True)
                raise GitFailed(_git_message(e)) from e
            return self.status()
        changed = self._changed(repo)
        if changed:
            raise UncommittedChanges(changed, self.update_advice, self.pending)
        self._integrate_remote(repo)
        return self.status()

    def commit_and_push(self, files: list[str] | None, message: str) -> str:
        """Commit ``files`` (all changes if None), merge the server's, push; the new HEAD."""
        repo = self._require()
        before = repo.head.commit.hexsha if repo.head.is_valid() else None
        if files is None:
            self._git(repo, "add", "--all")
        elif files:
            self._git(repo, "add", "--all", "--", *[_safe_relative(f) for f in files])
        if self._has_staged(repo):
            self._commit(repo, message)
        elif not repo.head.is_valid():
            raise WorkspaceError(self.nothing_to_push)
        self._integrate_remote(repo)
        self._push(repo, before)
        return repo.head.commit.hexsha

    def _push(self, repo: Repo, before: str | None) -> None:
        """Push HEAD to main; if the server refuses, take our new commit back.

        A refused commit (say, with a file type the assignment does not accept) would
        otherwise stay the local tip and make every later push fail the same way. The
        files stay exactly as they are on disk, only uncommitted again.
        """
        try:
            self._git(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{MAIN}")
        except GitFailed as e:
            head = repo.head.commit
            ours = before is not None and [p.hexsha for p in head.parents] == [before]
            if ours and before is not None:  # not after a merge: that has the server's work
                self._git(repo, "reset", "--quiet", before)  # index only, files untouched
            raise GitFailed(f"{e.message} Nothing was sent; your files are as they were.") from e

    def save_work(self, message: str) -> str | None:
        """Commit and push every change (a reset's safety net); the commit, or None."""
        repo = self._require()
        self._git(repo, "add", "--all")
        if not self._has_staged(repo):
            return None
        before = repo.head.commit.hexsha if repo.head.is_valid() else None
        self._commit(repo, message)
        self._integrate_remote(repo)
        self._push(repo, before)
        return repo.head.commit.hexsha

    def restore(self, commit: str) -> str | None:
        """Make the files of submission ``commit`` a new commit on top, and push it.

        First every change to a tracked file, and every untracked file the restore would
        overwrite, is committed and pushed: the current work stays in the history. Other
        untracked files are left alone on disk (they may be files the service would refuse,
        so pushing them could block the restore). Returns the commit that saved the work,
        or None when there was nothing to save.
        """
        if not COMMIT_HASH.match(commit):
            raise WorkspaceError(f"{commit!r} is not a submission's commit hash.")
        if self._open() is None:
            self.fetch()
        repo = self._require()
        self._git(repo, "fetch", "--quiet", "origin")
        try:  # only what the service has: a submission is a commit on its main
            repo.git.execute(["git", "merge-base", "--is-ancestor", commit, f"origin/{MAIN}"])
        except GitCommandError:
            raise WorkspaceError(
                f"Commit {commit[:12]} is not in your repository on the server, so it cannot "
                "be restored. Reload the submissions and pick one of them."
            ) from None
        restored = set(self._git(repo, "ls-tree", "-r", "--name-only", commit).splitlines())
        self._git(repo, "add", "--update")
        in_the_way = [f for f in repo.untracked_files if f in restored]
        if in_the_way:
            self._git(repo, "add", "--", *in_the_way)
        saved = None
        if self._has_staged(repo):
            self._commit(repo, f"Work saved before restoring submission {commit[:12]}")
            saved = repo.head.commit.hexsha
        self._integrate_remote(repo)
        self._git(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{MAIN}")
        # index and tracked files become the submission's; nothing untracked is touched
        self._git(repo, "read-tree", "-u", "--reset", commit)
        if self._has_staged(repo):
            self._commit(repo, f"Restore submission {commit[:12]}")
            self._git(repo, "push", "--quiet", "origin", f"HEAD:refs/heads/{MAIN}")
        return saved


def tree_files(path: Path) -> list[str]:
    """The files below ``path`` (relative, sorted), without git's own."""
    return sorted(
        str(p.relative_to(path))
        for p in path.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(path).parts
    )


def fetch_or_clone(
    path: Path, remote_url: str, branch: str, identity: GitIdentity
) -> tuple[Repo, bool]:
    """Bring ``branch`` of ``remote_url`` to the repository in ``path``.

    An existing repository fetches it (``FETCH_HEAD``; its working tree is untouched, so
    the caller decides what happens to local changes); otherwise ``path`` is replaced by
    a fresh single-branch clone. Returns the repository, its git commands carrying the
    identity's environment, and whether it was fetched (True) or cloned (False).
    Raises :class:`GitCommandError`.
    """
    env = identity.environment()
    if (path / ".git").exists():
        repo = Repo(path)
        repo.git.update_environment(**env)
        repo.git.execute(
            ["git", "fetch", "--quiet", "origin", branch], kill_after_timeout=identity.timeout
        )
        return repo, True
    shutil.rmtree(path, ignore_errors=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    repo = Repo.clone_from(
        remote_url,
        path,
        env=env,
        branch=branch,
        single_branch=True,
        kill_after_timeout=identity.timeout,
    )
    repo.git.update_environment(**env)
    return repo, False


def pull_feedback(path: Path, remote_url: str, branch: str, identity: GitIdentity) -> list[str]:
    """Put branch ``branch`` of the feedback repository into ``path``; its files.

    The directory holds only what the service generated, so it is overwritten freely.
    """
    try:
        repo, fetched = fetch_or_clone(path, remote_url, branch, identity)
        if fetched:
            repo.git.execute(["git", "reset", "--quiet", "--hard", "FETCH_HEAD"])
            repo.git.execute(["git", "clean", "--quiet", "-fdx"])
    except GitCommandError as e:
        raise GitFailed(_git_message(e)) from e
    return tree_files(path)
