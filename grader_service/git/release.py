"""Server-side release: the student version is generated here, never uploaded.

From a pinned source commit the converter produces the student notebooks and the
gradebook (with hidden tests). The notebooks are committed to the ``release``
repository and tagged; the gradebook stays with the service.
"""

from __future__ import annotations

import asyncio
import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..convert.assignment import GenerateAssignment
from ..convert.gradebook import GRADEBOOK_FILENAME, GradeBookModel
from .commands import git, git_text
from .repos import MAIN, head_commit


class ReleaseError(RuntimeError):
    """The source cannot be released; the message says what to fix."""


@dataclass(frozen=True)
class ReleasePlan:
    """What a release of ``source_commit`` contains."""

    source_commit: str
    files: list[str]
    gradebook: dict[str, Any]
    points: float


async def _export_commit(repo: Path, commit: str, target: Path) -> None:
    """Write the files of ``commit`` into ``target`` (no checkout, no index touched)."""
    _, archive, _ = await git("archive", "--format=tar", commit, cwd=repo)

    def extract() -> None:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target, filter="data")

    await asyncio.to_thread(extract)


async def plan_release(
    source_repo: Path, work_dir: Path, commit: str | None = None
) -> tuple[ReleasePlan, Path]:
    """Generate the student version of ``commit`` (default: source main) in ``work_dir``.

    Returns the plan and the directory holding the student files.
    """
    source_commit = commit or await head_commit(source_repo)
    if source_commit is None:
        raise ReleaseError("The source repository is empty: push the assignment's notebooks first.")
    source_dir, out_dir = work_dir / "source", work_dir / "release"
    source_dir.mkdir()
    await _export_commit(source_repo, source_commit, source_dir)
    try:
        gradebook: GradeBookModel = await asyncio.to_thread(
            GenerateAssignment().convert, source_dir, out_dir
        )
    except Exception as e:  # the converter's errors name the notebook and cell
        raise ReleaseError(f"The source could not be converted: {e}") from e
    (out_dir / GRADEBOOK_FILENAME).unlink()  # hidden tests: never into the release repo
    files = sorted(p.relative_to(out_dir).as_posix() for p in out_dir.rglob("*") if p.is_file())
    plan = ReleasePlan(
        source_commit=source_commit,
        files=files,
        gradebook=gradebook.to_dict(),
        points=float(gradebook.max_score),
    )
    return plan, out_dir


async def commit_release(release_repo: Path, files_dir: Path, plan: ReleasePlan) -> tuple[str, str]:
    """Commit ``files_dir`` as the new state of the release main and tag it.

    Returns (release commit, tag name).
    """
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        base = ["--git-dir", str(release_repo), "--work-tree", str(files_dir)]
        await git(*base, "add", "--all", ".", env=env)
        tree = await git_text(*base, "write-tree", env=env)
    parent = await head_commit(release_repo)
    args = ["commit-tree", tree, "-m", f"Release of source {plan.source_commit[:12]}"]
    if parent:
        args += ["-p", parent]
    commit = await git_text(*args, cwd=release_repo)
    await git("update-ref", MAIN, commit, parent or "0" * 40, cwd=release_repo)
    count = await git_text("rev-list", "--count", MAIN, cwd=release_repo)
    tag = f"release-{count}"
    await git("tag", "-f", tag, commit, cwd=release_repo)
    return commit, tag
