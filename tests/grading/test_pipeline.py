"""End to end over HTTP: push, submit, graded in the sandbox, stored, feedback generated."""

from __future__ import annotations

import asyncio
import json
import os
import signal
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from grader_service.autograding.local import LocalAutogradeExecutor
from grader_service.git.commands import git_text
from grader_service.git.layout import RepoAddress, RepoType
from grader_service.orm import GradingJob, JobState
from tests.conftest import TOKENS, AppFactory
from tests.gitutil import GitClient
from tests.seeding import release_assignment
from tests.test_events import SseStream
from tests.utils import ApiClient, MockGraderService

from .grading_utils import Student, gradebook_comments, grading_config, needs_bwrap, wait_graded

pytestmark = [pytest.mark.asyncio, needs_bwrap]

CORRECT = "def answer():\n    return 42\n"
WRONG = "def answer():\n    return 41\n"


async def test_submission_is_graded_stored_and_fed_back(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = await make_app(grading_config())
    api = ApiClient(app.url, TOKENS)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        student = Student(app, api, "student", tmp_path)

        good = await student.submit(1, "lect1", aid, CORRECT)
        assert good["auto_status"] == "pending"
        graded = await wait_graded(api, 1, aid, good["id"])
        assert graded["auto_status"] == "automatically_graded"
        assert graded["grading_score"] == 1.0
        assert graded["score"] == 1.0

        bad = await student.submit(1, "lect1", aid, WRONG)
        graded_bad = await wait_graded(api, 1, aid, bad["id"])
        assert graded_bad["auto_status"] == "automatically_graded"
        assert graded_bad["score"] == 0.0
        comments = await gradebook_comments(api, 1, aid, bad["id"])
        assert "AssertionError" in comments["test_answer"]

        # the student does not see the score before feedback; staff see the log
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{good['id']}", user="student")
        assert r.json["score"] is None
        logs = await api.get(
            f"lectures/1/assignments/{aid}/submissions/{good['id']}/logs", user="instructor"
        )
        assert logs.status == 200 and "Autograded" in logs.json
        r = await api.get(
            f"lectures/1/assignments/{aid}/submissions/{good['id']}/logs", user="student"
        )
        assert r.status == 403

        # the graded notebook is in the autograde repository, on the submission's branch
        assert app.git_server is not None
        repo = app.git_server.directory(
            RepoAddress("lect1", aid, RepoType.AUTOGRADE, username="student")
        )
        files = await git_text(
            "ls-tree", "--name-only", f"submission_{good['commit_hash']}", cwd=repo
        )
        assert set(files.split()) == {"gradebook.json", "hw.ipynb"}
        # ...and tutors can fetch it over git
        tutor_git = GitClient(app.url, api.tokens["tutor"], "tutor")
        await tutor_git.clone(f"lect1/{aid}/autograde/user/student", tmp_path / "ag")

        # feedback on request: HTML in the feedback repository; then the student sees a score
        r = await api.post(
            f"lectures/1/assignments/{aid}/submissions/{good['id']}/feedback", user="instructor"
        )
        assert r.status == 202, r.body
        fed = await wait_graded(
            api,
            1,
            aid,
            good["id"],
            field="feedback_status",
            done=("generated", "generation_failed"),
        )
        assert fed["feedback_status"] == "generated"
        feedback_repo = app.git_server.directory(
            RepoAddress("lect1", aid, RepoType.FEEDBACK, username="student")
        )
        files = await git_text(
            "ls-tree", "--name-only", f"feedback_{good['commit_hash']}", cwd=feedback_repo
        )
        assert "hw.html" in files.split()
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{good['id']}", user="student")
        assert r.json["score"] == 1.0

        # every job ran once and is finished, with a timestamp per phase
        assert app.session_factory is not None
        async with app.session_factory() as session:
            jobs = (await session.scalars(select(GradingJob))).all()
        assert jobs and all(j.state == JobState.SUCCEEDED for j in jobs)
        assert all(j.attempts == 1 for j in jobs)
        assert all(j.queued_at <= j.started_at <= j.executed_at <= j.stored_at for j in jobs)
    finally:
        api.close()


async def test_full_auto_chains_feedback(make_app: AppFactory, tmp_path: Path) -> None:
    app = await make_app(grading_config())
    api = ApiClient(app.url, TOKENS)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        settings = dict(release["assignment"]["settings"], autograde_type="full_auto")
        r = await api.put(
            f"lectures/1/assignments/{aid}", user="instructor", body={"settings": settings}
        )
        assert r.status == 200, r.body
        sub = await Student(app, api, "student", tmp_path).submit(1, "lect1", aid, CORRECT)
        fed = await wait_graded(
            api, 1, aid, sub["id"], field="feedback_status", done=("generated", "generation_failed")
        )
        assert fed["auto_status"] == "automatically_graded"
        assert fed["feedback_status"] == "generated"
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{sub['id']}", user="student")
        assert r.json["score"] == 1.0
    finally:
        api.close()


async def test_cancel_queued_and_regrade(make_app: AppFactory, tmp_path: Path) -> None:
    """A queued job can be cancelled (it never runs); regrade-all queues it again."""
    app = await make_app(grading_config())
    api = ApiClient(app.url, TOKENS)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        assert app.grading_scheduler is not None
        await app.grading_scheduler.stop()  # pause grading: the job stays queued
        sub = await Student(app, api, "student", tmp_path).submit(1, "lect1", aid, CORRECT)
        action = f"lectures/1/assignments/{aid}/submissions/{sub['id']}/autograde"
        r = await api.delete(action, user="student")
        assert r.status == 403
        r = await api.delete(action, user="instructor")
        assert r.status == 200, r.body
        assert r.json["state"] == "cancelled"
        r = await api.delete(action, user="instructor")
        assert r.status == 404  # nothing left to cancel
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{sub['id']}", user="tutor")
        assert r.json["auto_status"] == "not_graded"

        r = await api.post(f"lectures/1/assignments/{aid}/regrade", user="instructor")
        assert r.status == 202 and r.json["queued"] == 1
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{sub['id']}", user="tutor")
        assert r.json["auto_status"] == "pending" and r.json["queue_position"] == 0
        app.grading_scheduler.start()
        graded = await wait_graded(api, 1, aid, sub["id"])
        assert graded["score"] == 1.0
    finally:
        api.close()


async def test_live_events_and_metrics_follow_grading(make_app: AppFactory, tmp_path: Path) -> None:
    """The student's event stream says when their submission is graded; the metrics
    count the job."""
    app = await make_app(grading_config())
    api = ApiClient(app.url, TOKENS)
    stream = await SseStream.open(app.url + "api/events", "student")
    try:
        assert stream.status == 200
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        sub = await Student(app, api, "student", tmp_path).submit(1, "lect1", aid, CORRECT)
        statuses = []
        while "automatically_graded" not in statuses:
            event = await stream.event(timeout=60)
            assert event is not None and event["event"] == "submission"
            data = json.loads(event["data"])
            assert data["submission_id"] == sub["id"] and "score" not in data
            statuses.append(data["auto_status"])
        r = await api.get("/metrics", user="admin")
        metrics = {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.body.decode())
            for s in family.samples
        }
        key = (
            "grader_grading_jobs_total",
            (("kind", "autograde"), ("outcome", "succeeded"), ("reason", "ok")),
        )
        assert metrics[key] == 1.0
    finally:
        stream.close()
        api.close()


async def test_worker_crash_is_retried(make_app: AppFactory, tmp_path: Path) -> None:
    """An infrastructure failure (the grading worker killed mid-job) is retried."""
    app = await make_app(grading_config(CellTimeoutPolicy__default_cell_timeout=30))
    api = ApiClient(app.url, TOKENS)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        slow = "import time\ndef answer():\n    time.sleep(3)\n    return 42\n"
        sub = await Student(app, api, "student", tmp_path).submit(1, "lect1", aid, slow)
        executor = app.executor
        assert isinstance(executor, LocalAutogradeExecutor)
        await _wait_for_job_state(app, sub["id"], JobState.RUNNING)
        await asyncio.sleep(1)  # inside the cell now
        assert executor._process is not None
        os.kill(executor._process.pid, signal.SIGKILL)
        graded = await wait_graded(api, 1, aid, sub["id"])
        assert graded["auto_status"] == "automatically_graded" and graded["score"] == 1.0
        async with app.session_factory() as session:
            job = await session.scalar(select(GradingJob))
        assert job is not None and job.attempts == 2 and job.state == JobState.SUCCEEDED
    finally:
        api.close()


async def test_cancel_a_running_job(make_app: AppFactory, tmp_path: Path) -> None:
    """Cancelling a running job stops its kernel within a third of the lease."""
    app = await make_app(
        grading_config(
            CellTimeoutPolicy__default_cell_timeout=60, GradingScheduler__lease_duration=1.5
        )
    )
    api = ApiClient(app.url, TOKENS)
    try:
        release = await release_assignment(app, api, tmp_path / "source")
        aid = release["assignment"]["id"]
        endless = "def answer():\n    while True:\n        pass\n"
        sub = await Student(app, api, "student", tmp_path).submit(1, "lect1", aid, endless)
        await _wait_for_job_state(app, sub["id"], JobState.RUNNING)
        r = await api.delete(
            f"lectures/1/assignments/{aid}/submissions/{sub['id']}/autograde", user="instructor"
        )
        assert r.status == 200, r.body
        assert app.grading_scheduler is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while app.grading_scheduler.running_jobs:
            assert loop.time() < deadline, "the cancelled job is still running"
            await asyncio.sleep(0.1)
        r = await api.get(f"lectures/1/assignments/{aid}/submissions/{sub['id']}", user="tutor")
        assert r.json["auto_status"] == "not_graded"
    finally:
        api.close()


async def _wait_for_job_state(app: MockGraderService, submission_id: int, state: JobState) -> None:
    assert app.session_factory is not None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 60
    while True:
        async with app.session_factory() as session:
            found = await session.scalar(
                select(GradingJob.state).where(GradingJob.submission_id == submission_id)
            )
        if found == state:
            return
        assert loop.time() < deadline, f"job of submission {submission_id} is {found}"
        await asyncio.sleep(0.05)
