"""What a push may contain: file size, file count and which files.

The policy is computed from the current service and assignment settings for every push
and handed to the pre-receive hook (``pre-receive.sh``) through the environment, so
changing a setting takes effect with the next push: there is no hook file with stale
limits in any repository.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PushPolicy:
    """Limits applied to every file of a push."""

    max_file_size: int
    """Largest blob in bytes, in any pushed commit (deleting it later does not help)."""
    max_file_count: int
    """Most files in a pushed branch's tree."""
    allowed_globs: tuple[str, ...] | None = None
    """Shell patterns (as in ``case``) a file's path or name must match; ``None`` allows
    every file."""
    allowed_paths: frozenset[str] = field(default_factory=frozenset)
    """Paths allowed whatever their name (the files the release itself contains)."""

    def environment(self) -> dict[str, str]:
        """The hook's environment variables for this policy (see ``pre-receive.sh``)."""
        env = {
            "GRADER_MAX_FILE_SIZE": str(self.max_file_size),
            "GRADER_MAX_FILE_COUNT": str(self.max_file_count),
        }
        if self.allowed_globs is not None:
            env["GRADER_ALLOWED_GLOBS"] = "\n".join(self.allowed_globs)
            env["GRADER_ALLOWED_PATHS"] = "\n".join(sorted(self.allowed_paths))
        return env


def student_policy(
    max_file_size: int,
    max_file_count: int,
    allowed_files: Iterable[str],
    release_paths: Iterable[str],
) -> PushPolicy:
    """Students may push notebooks, the assignment's allowed files and what was released."""
    return PushPolicy(
        max_file_size=max_file_size,
        max_file_count=max_file_count,
        allowed_globs=("*.ipynb", *allowed_files),
        allowed_paths=frozenset(release_paths),
    )
