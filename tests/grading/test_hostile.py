"""Hostile notebooks, graded in the real sandbox next to an honest one.

Every attack lives in ``answer()``, which the locked test cell calls, so the attack
runs inside the graded cell and that cell's score and reason show what happened. An
attack that got through would make ``answer()`` return 42 and earn the point: each of
these tests fails if the sandbox leaks.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import nbformat
import pytest
from traitlets.config import Config

from grader_service.git.commands import git
from grader_service.git.layout import RepoAddress, RepoType
from tests.conftest import TOKENS, AppFactory
from tests.seeding import release_assignment
from tests.utils import ApiClient

from .grading_utils import Student, gradebook_comments, grading_config, needs_bwrap, wait_graded

pytestmark = [pytest.mark.asyncio, needs_bwrap]

CELL_TIMEOUT = 3


def attacks(data_dir: str, other_repo: str, port: int) -> dict[str, str]:
    """Student name -> the body of their ``answer()`` (indented by the caller)."""
    return {
        "reader": f"""
import os
try:
    os.listdir({data_dir!r})
    open({other_repo!r} + '/HEAD').read()
    return 42
except OSError:
    return 0
""",
        "networker": f"""
import socket
try:
    socket.create_connection(('127.0.0.1', {port}), timeout=2)
    return 42
except OSError:
    return 0
""",
        "forker": """
import os, time
n = 0
try:
    while n < 3000:
        if os.fork() == 0:
            time.sleep(120)
            os._exit(0)
        n += 1
except OSError:
    n = -n  # the process limit stopped the bomb
return 42 if n >= 3000 else 0
""",
        "hoarder": """
x = b'x' * (2 * 1024 ** 3)
return 42
""",
        "filler": """
try:
    with open('filler.bin', 'wb') as f:
        for _ in range(400):
            f.write(b'0' * 2 ** 20)
    return 42
except OSError:
    return 0
""",
        "looper": """
spins = 0
while True:
    spins += 1
""",
        "killer": """
import os, signal
for pid in (os.getppid(), 1, -1):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        continue  # refused: nothing of the harness is visible or killable
return 0
""",
        "flooder": """
for _ in range(200):
    print('x' * 100_000)
return 0
""",
    }


def _answer(body: str) -> str:
    return "def answer():\n" + "".join(f"    {line}\n" for line in body.strip().splitlines())


async def _tamper(student: Student, aid: int) -> dict[str, object]:
    """Submit a notebook whose locked test is replaced and a forged gradebook.json."""
    work = student.root / str(aid)
    await student.git.clone(f"lect1/{aid}/user/{student.name}", work)
    nb = nbformat.read(work / "hw.ipynb", as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution"):
            cell.source = "def answer():\n    return 0\n"
        if meta.get("grade") and meta.get("locked"):
            cell.source = "pass  # nothing to see here\n"
    nbformat.write(nb, work / "hw.ipynb")
    forged = {"notebooks": {"hw": {"grades_dict": {"test_answer": {"auto_score": 1}}}}}
    (work / "gradebook.json").write_text(json.dumps(forged))
    return await student.submit_work(1, aid, work)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_hostile_submissions_are_contained(make_app: AppFactory, tmp_path: Path) -> None:
    names = [*attacks("", "", 0), "forger", "honest"]
    tokens = {**TOKENS, **{name: f"{name}-token" for name in names}}
    c = Config()
    c.StaticTokenAuthenticator.tokens = {t: n for n, t in tokens.items()}
    c.GraderService.load_roles = {
        "lect1": [
            {"role": "instructor", "members": ["instructor"]},
            {"role": "tutor", "members": ["tutor"]},
            {"role": "student", "members": ["student", *names]},
        ]
    }
    c.merge(
        grading_config(
            CellTimeoutPolicy__default_cell_timeout=CELL_TIMEOUT,
            Sandbox__file_size_limit=50 * 2**20,
            Sandbox__pids_limit=48,
        )
    )
    app = await make_app(c)
    api = ApiClient(app.url, tokens)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        # let a forged gradebook.json through the push policy: grading must ignore it
        settings = dict(release["assignment"]["settings"], allowed_files=["*.json"])
        r = await api.put(
            f"lectures/1/assignments/{aid}", user="instructor", body={"settings": settings}
        )
        assert r.status == 200, r.body
        students = {name: Student(app, api, name, tmp_path) for name in names}
        honest = await students["honest"].submit(1, "lect1", aid, "def answer():\n    return 42\n")
        assert app.git_server is not None
        honest_repo = app.git_server.directory(
            RepoAddress("lect1", aid, RepoType.USER, username="honest")
        )
        bodies = attacks(app.grader_service_dir, str(honest_repo), app.bound_port)
        submitted = {"honest": honest}
        for name, body in bodies.items():
            submitted[name] = await students[name].submit(1, "lect1", aid, _answer(body))
        submitted["forger"] = await _tamper(students["forger"], aid)

        graded = {
            name: await wait_graded(api, 1, aid, sub["id"], timeout=180)  # type: ignore[arg-type]
            for name, sub in submitted.items()
        }
        # the honest submission, graded alongside, is unaffected
        assert graded["honest"]["score"] == 1.0
        for name in [*bodies, "forger"]:
            assert graded[name]["auto_status"] == "automatically_graded", (name, graded[name])
            assert graded[name]["score"] == 0.0, (name, graded[name])

        reasons = {
            name: (await gradebook_comments(api, 1, aid, sub["id"]))["test_answer"]  # type: ignore[arg-type]
            for name, sub in submitted.items()
            if name != "honest"
        }
        assert "memory limit" in reasons["hoarder"], reasons["hoarder"]
        assert "time limit" in reasons["looper"], reasons["looper"]
        assert "AssertionError" in reasons["reader"]
        assert "AssertionError" in reasons["networker"]
        assert "AssertionError" in reasons["filler"]
        assert "AssertionError" in reasons["killer"]
        assert "AssertionError" in reasons["forker"]
        assert "modified" in reasons["forger"], reasons["forger"]

        # the flood was cut in the graded notebook, not stored whole
        repo = app.git_server.directory(
            RepoAddress("lect1", aid, RepoType.AUTOGRADE, username="flooder")
        )
        _, blob, _ = await git(
            "show", f"submission_{submitted['flooder']['commit_hash']}:hw.ipynb", cwd=repo
        )
        assert len(blob) < 1_000_000
        assert b"output truncated" in blob

        # the service is healthy and nothing of the sandboxes is left running
        r = await api.get("health")
        assert r.status == 200
        await asyncio.sleep(1)
        left = subprocess.run(
            ["pgrep", "-u", "1500"], capture_output=True, text=True, check=False
        ).stdout.split()
        # only the pool's one idle warm kernel (forks of the fork bomb would be dozens)
        assert len(left) <= 1, f"sandbox processes left running: {left}"
    finally:
        api.close()
