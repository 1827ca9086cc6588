"""Creating bare repositories and the service's own commits in them."""

from __future__ import annotations

import re
from pathlib import Path

from .commands import git, git_text

MAIN = "refs/heads/main"
_OBJECT_ID = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")


async def ensure_bare_repo(path: Path, *, protect_history: bool = False) -> bool:
    """Create a bare repository at ``path`` unless one exists; returns whether it was new.

    ``protect_history`` refuses force-pushes and branch deletion, so no commit a
    submission points at can ever become unreachable (and be garbage-collected).
    """
    if (path / "HEAD").exists():
        return False
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    await git("init", "--quiet", "--bare", "--initial-branch=main", str(path))
    if protect_history:
        await git("config", "receive.denyNonFastForwards", "true", cwd=path)
        await git("config", "receive.denyDeletes", "true", cwd=path)
    return True


async def head_commit(path: Path) -> str | None:
    """The commit ``main`` points at, or ``None`` for an empty or missing repository."""
    if not (path / "HEAD").exists():
        return None
    code, out, _ = await git(
        "rev-parse", "--verify", "--quiet", MAIN + "^{commit}", cwd=path, check=False
    )
    return out.decode().strip() if code == 0 else None


async def tree_paths(path: Path, ref: str = MAIN) -> list[str]:
    """Every file path in ``ref`` (empty for an empty repository)."""
    code, out, _ = await git("ls-tree", "-r", "--name-only", "-z", ref, cwd=path, check=False)
    if code != 0:  # no such ref: an empty or missing repository
        return []
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


_release_files: dict[Path, tuple[tuple[int, int], list[str]]] = {}


async def main_files(path: Path) -> list[str]:
    """``tree_paths`` of main, cached until main moves (every student push needs it).

    The service moves a release's main with ``update-ref``, which rewrites the loose
    ref file, so its stat changes whenever the cache must be refreshed.
    """
    try:
        stat = (path / "refs" / "heads" / "main").stat()
    except FileNotFoundError:
        return await tree_paths(path)
    key = (stat.st_mtime_ns, stat.st_ino)
    cached = _release_files.get(path)
    if cached is None or cached[0] != key:
        cached = (key, await tree_paths(path))
        _release_files[path] = cached
    return cached[1]


def main_tip(path: Path) -> str | None:
    """The commit ``main`` points at, read from the ref files without starting git.

    Bare repositories the service created keep refs as files: the loose ref (written by
    every push, atomically by rename) or, after ``git gc``, a line of ``packed-refs``.
    ``None`` if neither has it.
    """
    try:
        tip = (path / "refs" / "heads" / "main").read_text().strip()
    except (FileNotFoundError, NotADirectoryError):
        try:
            packed = (path / "packed-refs").read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None
        tip = next(
            (line[: -len(MAIN) - 1] for line in packed.splitlines() if line.endswith(" " + MAIN)),
            "",
        )
    return tip if _OBJECT_ID.fullmatch(tip) else None


async def is_commit_on_main(path: Path, commit: str) -> bool:
    """Whether ``commit`` exists in the repository and is part of ``main``'s history."""
    if not (path / "HEAD").exists():
        return False
    if main_tip(path) == commit.lower():
        return True  # what a student submits right after pushing: no git process needed
    # fails (non-zero) for a missing commit, a missing main, or a commit off main
    code, _, _ = await git("merge-base", "--is-ancestor", commit, MAIN, cwd=path, check=False)
    return code == 0


async def _fetch_main(target: Path, source: Path, into: str) -> str:
    """Fetch ``source``'s main into ref ``into`` of ``target``; return the commit."""
    await git("fetch", "--quiet", "--no-tags", str(source), f"+{MAIN}:{into}", cwd=target)
    return await git_text("rev-parse", into, cwd=target)


async def seed_from(target: Path, source: Path) -> str | None:
    """Give an empty ``target`` the history of ``source``'s main (e.g. user <- release)."""
    if await head_commit(source) is None:
        return None
    return await _fetch_main(target, source, MAIN)


async def commit_tree_of(target: Path, source: Path, message: str) -> str:
    """Add a commit to ``target``'s main whose files are exactly ``source``'s main.

    Used for "reset to release": the student's history is kept and the reset is one new
    commit on top, so nothing is lost and the step can be undone.
    """
    staging = "refs/grader/incoming"
    fetched = await _fetch_main(target, source, staging)
    tree = await git_text("rev-parse", f"{fetched}^{{tree}}", cwd=target)
    parent = await head_commit(target)
    args = ["commit-tree", tree, "-m", message]
    if parent is not None:
        args += ["-p", parent]
    commit = await git_text(*args, cwd=target)
    # compare-and-swap: fails if someone pushed in between, instead of losing their work
    await git("update-ref", MAIN, commit, parent or "0" * 40, cwd=target)
    await git("update-ref", "-d", staging, cwd=target)
    return commit


async def copy_commit(target: Path, source: Path, commit: str) -> None:
    """Make ``target``'s main point at ``commit`` of ``source`` (for edit copies)."""
    staging = "refs/grader/source"
    await git("fetch", "--quiet", "--no-tags", str(source), f"+{MAIN}:{staging}", cwd=target)
    await git("update-ref", MAIN, commit, cwd=target)
    await git("update-ref", "-d", staging, cwd=target)
