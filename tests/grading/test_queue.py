"""The queue's claiming rules on the real databases: fairness, priority, leases, fencing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from grader_service.orm import (
    Assignment,
    GradingJob,
    JobKind,
    JobState,
    Lecture,
    Submission,
    User,
    utcnow,
)
from grader_service.store.grading import (
    cancel_job,
    claim_job,
    expired_jobs,
    fence,
    renew_leases,
)
from grader_service.store.jobs import JobPriority, enqueue_job
from tests.utils import MockGraderService

pytestmark = pytest.mark.asyncio

LEASE = timedelta(seconds=30)


async def _queue(
    session: AsyncSession, lecture: Lecture, user: User, n: int, priority: JobPriority
) -> list[int]:
    assignment = Assignment(lecture_id=lecture.id, name=f"a-{lecture.code}")
    session.add(assignment)
    await session.flush()
    ids = []
    for i in range(n):
        submission = Submission(
            assignment_id=assignment.id, user_id=user.id, commit_hash=f"{i:040x}"
        )
        session.add(submission)
        await session.flush()
        job, _ = await enqueue_job(session, submission, lecture.id, JobKind.AUTOGRADE, priority)
        ids.append(job.id)
    return ids


async def _seed(app: MockGraderService) -> tuple[Lecture, Lecture, User]:
    assert app.write_session_factory is not None
    async with app.write_session_factory() as session:
        rush = Lecture(name="Rush", code="rush")
        calm = Lecture(name="Calm", code="calm")
        user = User(name="queue-student")
        session.add_all([rush, calm, user])
        await session.commit()
        return rush, calm, user


async def test_two_lectures_are_interleaved_fairly(app: MockGraderService) -> None:
    """A deadline rush of 20 jobs in one course does not make another course wait."""
    rush, calm, user = await _seed(app)
    async with app.write_session_factory() as session:
        await _queue(session, rush, user, 20, JobPriority.INTERACTIVE)
        await _queue(session, calm, user, 5, JobPriority.INTERACTIVE)
        await session.commit()

    # two slots: claim two, then finish the oldest and claim again, like the scheduler
    order: list[int] = []
    running: list[GradingJob] = []
    for _ in range(25):
        async with app.write_session_factory() as session:
            while len(running) < 2:
                job = await claim_job(session, "me", utcnow(), LEASE)
                if job is None:
                    break
                running.append(job)
                order.append(job.lecture_id)
            done = running.pop(0)
            row = await session.get(GradingJob, done.id)
            assert row is not None
            row.state = JobState.SUCCEEDED
            await session.commit()
    first_ten = order[:10]
    assert first_ten.count(calm.id) == 5, order  # the calm course is not behind the rush
    assert order.count(rush.id) == 20 and len(order) == 25


async def test_interactive_jobs_run_before_bulk_regrades(app: MockGraderService) -> None:
    rush, calm, user = await _seed(app)
    async with app.write_session_factory() as session:
        bulk = await _queue(session, rush, user, 3, JobPriority.BULK)
        interactive = await _queue(session, calm, user, 2, JobPriority.INTERACTIVE)
        await session.commit()
    claimed = []
    async with app.write_session_factory() as session:
        while (job := await claim_job(session, "me", utcnow(), LEASE)) is not None:
            claimed.append(job.id)
        await session.commit()
    assert claimed == interactive + bulk


async def test_leases_fence_and_expire(app: MockGraderService) -> None:
    rush, _, user = await _seed(app)
    async with app.write_session_factory() as session:
        [job_id] = await _queue(session, rush, user, 1, JobPriority.INTERACTIVE)
        await session.commit()
    now = utcnow()
    async with app.write_session_factory() as session:
        job = await claim_job(session, "a", now, LEASE)
        assert job is not None and job.id == job_id and job.attempts == 1
        assert await claim_job(session, "b", now, LEASE) is None  # nothing else to take
        await session.commit()
    async with app.write_session_factory() as session:
        assert await renew_leases(session, "a", [job_id], now, LEASE) == {job_id}
        assert await renew_leases(session, "b", [job_id], now, LEASE) == set()
        assert await fence(session, job_id, "a")
        assert not await fence(session, job_id, "b")  # b cannot store a's job
        await session.commit()
    async with app.write_session_factory() as session:
        assert await expired_jobs(session, now + LEASE / 2) == []
        assert [j.id for j in await expired_jobs(session, now + LEASE * 2)] == [job_id]
        # cancelling a running job takes it from its holder: renewal says so
        assert await cancel_job(session, job.submission_id, JobKind.AUTOGRADE, now, "tutor")
        await session.commit()
    async with app.write_session_factory() as session:
        assert await renew_leases(session, "a", [job_id], now, LEASE) == set()
        assert not await fence(session, job_id, "a")
        state = await session.scalar(select(GradingJob.state).where(GradingJob.id == job_id))
        assert state == JobState.CANCELLED
