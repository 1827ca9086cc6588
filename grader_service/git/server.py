"""The git server's configuration: where repositories live, hooks, push limits."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from traitlets import Float, Integer, Unicode
from traitlets.config import LoggingConfigurable

from ..orm.settings import AssignmentSettings
from .commands import git_environment
from .layout import RepoAddress
from .policy import PushPolicy, student_policy

HOOK_SOURCE = Path(__file__).with_name("pre-receive.sh")


GRANT_SECONDS = 10.0
"""How long a git request's authorisation serves the requests that follow it.

One ``git push`` or ``git fetch`` is two or more HTTP requests (the ref advertisement,
then the pack exchange), seconds apart: the later ones reuse the first one's checks
instead of asking the database again. A role or token revoked in between takes effect
with the next transfer.
"""
_MAX_GRANTS = 10_000


@dataclass(frozen=True)
class GitGrant:
    """What an authorised git request may do, remembered for a few seconds."""

    user_id: int
    username: str
    is_admin: bool
    repo: Path
    policy: PushPolicy | None
    expires: float


class GitServer(LoggingConfigurable):
    """Serves the assignment repositories over git's smart-HTTP protocol."""

    max_file_size_mb = Float(
        20.0,
        help="""Largest file (MiB) anyone may push. Assignments may set a lower limit in
        their settings (``max_file_size_mb``), never a higher one.

        Example::

            c.GitServer.max_file_size_mb = 50
        """,
    ).tag(config=True)

    max_file_count = Integer(
        512,
        help="""Most files a pushed branch may contain. Assignments may set a lower limit
        (``max_file_count``).""",
    ).tag(config=True)

    gc_every_pushes = Integer(
        50,
        min=1,
        help="""Run ``git gc --auto`` on a repository after this many pushes to it (in the
        background, counted per service process).

        Pushes do not start it themselves: in git's default, every push would pay for
        one more process that almost never has anything to do (a student's repository
        takes years to reach gc's thresholds, an instructor's source a few dozen pushes).""",
    ).tag(config=True)

    data_dir = Unicode(help="The service's data directory (set by the application).")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._pushes: dict[Path, int] = {}
        self._git_root: tuple[str, Path] | None = None
        self._grants: dict[str, GitGrant] = {}

    @property
    def git_root(self) -> Path:
        """Directory of all repositories (absolute, symlinks resolved)."""
        if self._git_root is None or self._git_root[0] != self.data_dir:
            self._git_root = (self.data_dir, Path(self.data_dir).resolve() / "git")
        return self._git_root[1]

    @property
    def hooks_dir(self) -> Path:
        """Directory of the hooks every push runs (``core.hooksPath``)."""
        return Path(self.data_dir) / "git-hooks"

    def install_hooks(self) -> None:
        """(Re)write the hook scripts; called at every start."""
        self.hooks_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        hook = self.hooks_dir / "pre-receive"
        hook.write_text(HOOK_SOURCE.read_text())
        hook.chmod(0o700)

    def directory(self, address: RepoAddress) -> Path:
        """The bare repository of ``address``."""
        return address.directory(self.git_root)

    def limits(self, settings: AssignmentSettings | None) -> tuple[int, int]:
        """(max file bytes, max file count): the service's, lowered by the assignment's."""
        size_mb, count = self.max_file_size_mb, self.max_file_count
        if settings is not None:
            if settings.max_file_size_mb is not None:
                size_mb = min(size_mb, settings.max_file_size_mb)
            if settings.max_file_count is not None:
                count = min(count, settings.max_file_count)
        return int(size_mb * 1024 * 1024), count

    def student_policy(self, settings: AssignmentSettings, release_paths: list[str]) -> PushPolicy:
        """Limits and allowed files for pushes to a student's repository."""
        size, count = self.limits(settings)
        return student_policy(size, count, settings.allowed_files, release_paths)

    def staff_policy(self, settings: AssignmentSettings | None) -> PushPolicy:
        """Limits (any file type) for pushes by tutors and instructors."""
        size, count = self.limits(settings)
        return PushPolicy(max_file_size=size, max_file_count=count)

    def pack_environment(
        self, policy: PushPolicy | None, protocol: str | None = None
    ) -> dict[str, str]:
        """Environment for ``git upload-pack``/``receive-pack`` serving one request."""
        env = git_environment(
            {
                # hooks come from the service, never from inside a repository
                "GIT_CONFIG_COUNT": "2",
                "GIT_CONFIG_KEY_0": "core.hooksPath",
                "GIT_CONFIG_VALUE_0": str(self.hooks_dir),
                "GIT_CONFIG_KEY_1": "receive.autogc",
                "GIT_CONFIG_VALUE_1": "false",  # see gc_every_pushes
            }
        )
        if protocol:
            env["GIT_PROTOCOL"] = protocol
        if policy is not None:
            env.update(policy.environment())
        return env

    def remember_grant(self, key: str, grant: GitGrant) -> None:
        """Keep what a git request was allowed for the next request of the same transfer."""
        now = time.monotonic()
        if len(self._grants) >= _MAX_GRANTS:  # drop the expired, then the oldest
            self._grants = {k: g for k, g in self._grants.items() if g.expires > now}
            while len(self._grants) >= _MAX_GRANTS:
                del self._grants[next(iter(self._grants))]
        self._grants[key] = grant

    def recent_grant(self, key: str) -> GitGrant | None:
        """The grant remembered under ``key`` unless it has expired."""
        grant = self._grants.get(key)
        if grant is None or grant.expires <= time.monotonic():
            return None
        return grant

    def count_push(self, repo: Path) -> bool:
        """Note a push to ``repo``; whether it is time for its ``git gc --auto``."""
        count = self._pushes.get(repo, 0) + 1
        self._pushes[repo] = count % self.gc_every_pushes
        return count >= self.gc_every_pushes
