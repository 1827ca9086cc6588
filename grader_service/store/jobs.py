"""Queueing grading jobs: at most one active job per submission and kind."""

from __future__ import annotations

import enum

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..orm import ACTIVE_JOB_STATES, GradingJob, JobKind, JobState, Submission


class JobPriority(enum.IntEnum):
    """Lower runs first."""

    INTERACTIVE = 0
    """A student just submitted, or a tutor asked for this one submission."""
    BULK = 10
    """Regrading a whole assignment."""


async def active_job(session: AsyncSession, submission_id: int, kind: JobKind) -> GradingJob | None:
    """The queued or running job of ``kind`` for a submission, if any."""
    return await session.scalar(
        select(GradingJob).where(
            GradingJob.submission_id == submission_id,
            GradingJob.kind == kind,
            GradingJob.state.in_(ACTIVE_JOB_STATES),
        )
    )


def new_submission_job(
    submission: Submission,
    lecture_id: int,
    kind: JobKind,
    priority: JobPriority = JobPriority.INTERACTIVE,
) -> GradingJob:
    """The first job of a submission created in this very transaction (add it yourself).

    Nobody else can see the submission before the commit, so it cannot have an active
    job: none of :func:`enqueue_job`'s check and savepoint (three statements, on
    every submit).
    """
    return GradingJob(
        submission_id=submission.id,
        lecture_id=lecture_id,
        kind=kind,
        priority=int(priority),
        state=JobState.QUEUED,
    )


async def enqueue_job(
    session: AsyncSession,
    submission: Submission,
    lecture_id: int,
    kind: JobKind,
    priority: JobPriority = JobPriority.INTERACTIVE,
) -> tuple[GradingJob, bool]:
    """Queue a job unless one is already active; returns the job and whether it is new.

    The database's partial unique index is the final arbiter: if a concurrent request
    queued the same job between our check and our insert, we return theirs.
    """
    existing = await active_job(session, submission.id, kind)
    if existing is not None:
        return existing, False
    job = GradingJob(
        submission_id=submission.id, lecture_id=lecture_id, kind=kind, priority=int(priority)
    )
    try:
        async with session.begin_nested():
            session.add(job)
    except IntegrityError:
        existing = await active_job(session, submission.id, kind)
        if existing is None:
            raise
        return existing, False
    return job, True


async def queue_position(session: AsyncSession, job: GradingJob) -> int | None:
    """How many queued jobs run before ``job`` (0 = next); ``None`` if it is not queued."""
    if job.state != JobState.QUEUED:
        return None
    ahead = await session.scalar(
        select(func.count()).where(
            GradingJob.state == JobState.QUEUED,
            or_(
                GradingJob.priority < job.priority,
                and_(GradingJob.priority == job.priority, GradingJob.id < job.id),
            ),
        )
    )
    return int(ahead or 0)
