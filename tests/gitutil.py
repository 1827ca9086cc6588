"""A real ``git`` client for the tests, authenticating the way we tell users to.

The token travels in an ``Authorization`` header set through ``GIT_CONFIG_*``
environment variables: it is never written into a remote URL or ``.git/config``.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import nbformat

from tests.convert.notebooks import source_notebook


class GitClient:
    """Runs the git CLI as one user against the service's git server."""

    def __init__(self, base_url: str, token: str, name: str = "student") -> None:
        self.base_url = base_url
        self.token = token
        self.name = name

    def url(self, repo: str) -> str:
        """The clone URL of ``repo`` (e.g. ``lect1/1/source``)."""
        return f"{self.base_url}git/{repo}"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_AUTHOR_NAME": self.name,
            "GIT_AUTHOR_EMAIL": f"{self.name}@example.org",
            "GIT_COMMITTER_NAME": self.name,
            "GIT_COMMITTER_EMAIL": f"{self.name}@example.org",
            "GIT_CONFIG_COUNT": "2",
            "GIT_CONFIG_KEY_0": "http.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: token {self.token}",
            "GIT_CONFIG_KEY_1": "init.defaultBranch",
            "GIT_CONFIG_VALUE_1": "main",
        }

    async def run(self, *args: str, cwd: Path | None = None, check: bool = True) -> tuple[int, str]:
        """``git *args``; returns the exit code and the combined output."""
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        text = out.decode("utf-8", "replace")
        if check and proc.returncode != 0:
            raise AssertionError(f"git {' '.join(args)} failed ({proc.returncode}):\n{text}")
        return proc.returncode or 0, text

    async def clone(self, repo: str, target: Path, check: bool = True) -> tuple[int, str]:
        return await self.run("clone", "--quiet", self.url(repo), str(target), check=check)

    async def commit_all(self, work: Path, message: str) -> str:
        """Commit every change in ``work`` and return the commit hash."""
        await self.run("add", "--all", cwd=work)
        await self.run("commit", "--quiet", "--allow-empty", "-m", message, cwd=work)
        _, sha = await self.run("rev-parse", "HEAD", cwd=work)
        return sha.strip()


def write_source_assignment(work: Path) -> None:
    """The converter tests' ps1 (12 points, hidden tests) plus a data file."""
    nbformat.write(source_notebook(), work / "ps1.ipynb")
    (work / "data.csv").write_text("x,y\n1,2\n")
