"""Running git as an asyncio subprocess (never blocking the event loop)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

# The service's own commits (seeding, release, reset) are signed by this identity, and
# no user or system git config may change how the service's git behaves.
SERVICE_IDENTITY = {
    "GIT_AUTHOR_NAME": "grader-service",
    "GIT_AUTHOR_EMAIL": "grader-service@localhost",
    "GIT_COMMITTER_NAME": "grader-service",
    "GIT_COMMITTER_EMAIL": "grader-service@localhost",
}


class GitError(RuntimeError):
    """A git command failed; ``stderr`` says why."""

    def __init__(self, args: tuple[str, ...], returncode: int, stderr: str) -> None:
        super().__init__(f"git {' '.join(args)} failed ({returncode}): {stderr.strip()}")
        self.returncode = returncode
        self.stderr = stderr


def git_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """A clean environment for git: no global/system config, no prompts."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/nonexistent"),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_TERMINAL_PROMPT": "0",
        **SERVICE_IDENTITY,
    }
    if extra:
        env.update(extra)
    return env


async def git(
    *args: str,
    cwd: Path | None = None,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    check: bool = True,
) -> tuple[int, bytes, str]:
    """Run ``git *args``; returns (exit code, stdout, stderr). Raises on failure if ``check``."""
    proc = await asyncio.create_subprocess_exec(
        "git",
        *args,
        cwd=cwd,
        env=git_environment(env),
        stdin=asyncio.subprocess.PIPE if input is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(input)
    code = proc.returncode if proc.returncode is not None else -1
    if check and code != 0:
        raise GitError(args, code, err.decode("utf-8", "replace"))
    return code, out, err.decode("utf-8", "replace")


async def git_text(*args: str, cwd: Path | None = None, **kwargs: object) -> str:
    """``git *args`` and its standard output as stripped text."""
    _, out, _ = await git(*args, cwd=cwd, **kwargs)  # type: ignore[arg-type]
    return out.decode("utf-8", "replace").strip()
