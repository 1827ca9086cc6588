"""Commits in students' repositories, made the way a push leaves them.

API tests that are not about git still submit real commits: the service refuses a
submission whose commit is not in the student's repository. These helpers write the
commit straight into the service's bare repository with git plumbing (tests/test_git.py
covers pushing over HTTP).
"""

from __future__ import annotations

from grader_service.git.commands import git, git_text
from grader_service.git.layout import RepoAddress, RepoType
from grader_service.git.repos import MAIN, ensure_bare_repo, head_commit
from tests.utils import MockGraderService


async def pushed_commit(
    app: MockGraderService, lecture_code: str, assignment_id: int, username: str, text: str = "work"
) -> str:
    """Add a commit with ``answer.ipynb`` = ``text`` to the student's main; return its hash."""
    assert app.git_server is not None
    repo = app.git_server.directory(
        RepoAddress(lecture_code, assignment_id, RepoType.USER, username=username)
    )
    await ensure_bare_repo(repo, protect_history=True)
    blob = await git_text("hash-object", "-w", "--stdin", cwd=repo, input=text.encode())
    tree = await git_text("mktree", cwd=repo, input=f"100644 blob {blob}\tanswer.ipynb\n".encode())
    parent = await head_commit(repo)
    args = ["commit-tree", tree, "-m", text] + (["-p", parent] if parent else [])
    commit = await git_text(*args, cwd=repo)
    await git("update-ref", MAIN, commit, cwd=repo)
    return commit
