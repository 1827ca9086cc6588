"""What a push may contain: file size, file count and which files.

The policy is computed from the current service and assignment settings for every push
and handed to the pre-receive hook through the environment, so changing a setting takes
effect with the next push: there is no hook file with stale limits in any repository.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

POLICY_ENV = "GRADER_PUSH_POLICY"


@dataclass(frozen=True)
class PushPolicy:
    """Limits applied to every file of a push."""

    max_file_size: int
    """Largest blob in bytes, in any pushed commit (deleting it later does not help)."""
    max_file_count: int
    """Most files in a pushed branch's tree."""
    allowed_globs: tuple[str, ...] | None = None
    """Patterns files must match (``fnmatch``, matched against the path and the name);
    ``None`` allows every file."""
    allowed_paths: frozenset[str] = field(default_factory=frozenset)
    """Paths allowed whatever their name (the files the release itself contains)."""

    def allows_path(self, path: str) -> bool:
        """Whether a file at ``path`` may be pushed."""
        if self.allowed_globs is None or path in self.allowed_paths:
            return True
        name = path.rsplit("/", 1)[-1]
        return any(
            fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(name, pattern)
            for pattern in self.allowed_globs
        )

    def to_env(self) -> str:
        """Serialised for the hook's environment."""
        data = asdict(self)
        data["allowed_paths"] = sorted(self.allowed_paths)
        return json.dumps(data)

    @classmethod
    def from_env(cls, text: str) -> PushPolicy:
        """The policy the service put into the hook's environment."""
        data = json.loads(text)
        globs = data.get("allowed_globs")
        return cls(
            max_file_size=int(data["max_file_size"]),
            max_file_count=int(data["max_file_count"]),
            allowed_globs=tuple(globs) if globs is not None else None,
            allowed_paths=frozenset(data.get("allowed_paths", ())),
        )


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


def human_size(size: int) -> str:
    """``1048576`` -> ``1.0 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
