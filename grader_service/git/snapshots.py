"""Moving files between repositories and plain directories (for grading jobs).

A grading job reads a submitted commit as files and writes its results back as a
commit. Both go through git plumbing on the bare repository, so no working copy of a
student's repository is ever checked out in the service's data directory.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import tempfile
from pathlib import Path

from .commands import git, git_text


def _extract(archive: bytes, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        # "data" refuses absolute paths, links out of dest and device files
        tar.extractall(dest, filter="data")


async def export_commit(repo: Path, commit: str, dest: Path) -> None:
    """Write the files of ``commit`` in ``repo`` into ``dest`` (created if missing)."""
    _, archive, _ = await git("archive", "--format=tar", commit, cwd=repo)
    await asyncio.to_thread(_extract, archive, dest)


async def commit_directory(repo: Path, branch: str, directory: Path, message: str) -> str:
    """Point ``refs/heads/{branch}`` at a new commit holding exactly ``directory``'s files.

    The branch's previous commit (if any) becomes the parent, so regrading keeps the
    earlier result in history. A private index keeps concurrent jobs apart.
    """
    ref = f"refs/heads/{branch}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            "GIT_DIR": str(repo),
            "GIT_WORK_TREE": str(directory),
            "GIT_INDEX_FILE": str(Path(tmp) / "index"),
        }
        await git("add", "--all", "--force", ".", cwd=directory, env=env)
        tree = await git_text("write-tree", cwd=directory, env=env)
    code, out, _ = await git("rev-parse", "--verify", "--quiet", ref, cwd=repo, check=False)
    parent = out.decode().strip() if code == 0 else None
    args = ["commit-tree", tree, "-m", message]
    if parent:
        args += ["-p", parent]
    commit = await git_text(*args, cwd=repo)
    await git("update-ref", ref, commit, cwd=repo)
    return commit
