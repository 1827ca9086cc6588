"""Crash safety: SIGKILL the service mid-grading; after a restart every submission ends
graded exactly once (SQLite and PostgreSQL, a real subprocess, real sandboxed kernels)."""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from sqlalchemy import select

from grader_service.orm import GradingJob, JobState, Submission
from grader_service.orm.db import create_engine, new_session_factory
from tests.conftest import TOKENS, base_config
from tests.gitutil import GitClient
from tests.seeding import write_source
from tests.utils import ApiClient

from .grading_utils import answer_notebook, needs_bwrap
from .service_process import ServiceProcess

pytestmark = [pytest.mark.asyncio, needs_bwrap]

SUBMISSIONS = 30


def _config(db_url: str, root: Path) -> Path:
    base = base_config(db_url, root / "data")
    settings: dict[str, dict[str, object]] = {
        section: dict(base[section]) for section in base if section != "GraderService"
    }
    settings["GraderService"] = {
        **{k: v for k, v in base.GraderService.items() if k != "grading_enabled"},
        "grading_enabled": True,
        "service_port": 0,
    }
    settings["GradingScheduler"] = {
        "max_concurrent_jobs": 2,
        "lease_duration": 3.0,
        "poll_interval": 0.2,
    }
    settings["KernelPool"] = {"size": 2}
    # kernel sockets live in here: pytest's tmp paths are too long for Unix sockets
    settings["LocalAutogradeExecutor"] = {"work_dir": tempfile.mkdtemp(prefix="gs-", dir="/tmp")}
    return ServiceProcess.write_config(root / "grader_service_config.py", settings)


async def _counts(db_url: str) -> tuple[Counter[str], list[GradingJob], list[Submission]]:
    engine = create_engine(db_url)
    try:
        async with new_session_factory(engine)() as session:
            jobs = list((await session.scalars(select(GradingJob))).all())
            subs = list((await session.scalars(select(Submission))).all())
    finally:
        await engine.dispose()
    return Counter(str(j.state) for j in jobs), jobs, subs


async def test_sigkill_mid_grading_loses_nothing_and_grades_once(
    db_url: str, tmp_path: Path
) -> None:
    service = ServiceProcess(_config(db_url, tmp_path), tmp_path / "service.log")
    url = await service.start()
    api = ApiClient(url, TOKENS)
    try:
        # an assignment, released by the service
        r = await api.post("lectures/1/assignments", user="instructor", body={"name": "hw"})
        aid = r.json["id"]
        teacher = GitClient(url, TOKENS["instructor"], "instructor")
        source = tmp_path / "source"
        await teacher.clone(f"lect1/{aid}/source", source)
        write_source(source)
        await teacher.commit_all(source, "hw")
        await teacher.run("push", "--quiet", "origin", "main", cwd=source)
        r = await api.post(f"lectures/1/assignments/{aid}/release", user="instructor")
        assert r.status == 201, r.body

        # 30 submissions (distinct commits), queued faster than they are graded
        student = GitClient(url, TOKENS["student"], "student")
        work = tmp_path / "student"
        await student.clone(f"lect1/{aid}/user/student", work)
        ids = []
        for i in range(SUBMISSIONS):
            nb = answer_notebook(work / "hw.ipynb", f"def answer():\n    return 42  # v{i}\n")
            nbformat.write(nb, work / "hw.ipynb")
            sha = await student.commit_all(work, f"v{i}")
            await student.run("push", "--quiet", "origin", "main", cwd=work)
            r = await api.post(
                f"lectures/1/assignments/{aid}/submissions",
                user="student",
                body={"commit_hash": sha},
            )
            assert r.status == 201, r.body
            ids.append(r.json["id"])

        # kill it while it grades: some done, some running, most still queued
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 120
        while True:
            states, _, _ = await _counts(db_url)
            if states["succeeded"] >= 2 and states["running"] >= 1:
                break
            assert loop.time() < deadline, f"grading did not get going: {states}\n{service.tail()}"
            await asyncio.sleep(0.05)
        service.kill()
        killed_states, _, _ = await _counts(db_url)
        assert killed_states["queued"] > 0, killed_states

        await service.start()
        deadline = loop.time() + 240
        while True:
            states, jobs, subs = await _counts(db_url)
            if states["succeeded"] == SUBMISSIONS:
                break
            assert not states["failed"], f"{states}\n{service.tail()}"
            assert loop.time() < deadline, f"not all graded: {states}\n{service.tail()}"
            await asyncio.sleep(0.5)

        # exactly one finished autograde job per submission, all graded with full points
        per_submission = Counter(j.submission_id for j in jobs if j.state == JobState.SUCCEEDED)
        assert sorted(per_submission) == sorted(ids)
        assert set(per_submission.values()) == {1}
        assert all(s.auto_status == "automatically_graded" and s.score == 1.0 for s in subs)
        # the jobs that were running at the kill were taken over: a second attempt
        assert any(j.attempts == 2 for j in jobs), [j.attempts for j in jobs]
        assert "lost its lease" in service.tail(200_000)
    finally:
        api.close()
        await service.stop()
