"""The grading queue's state changes: claim, lease, finish, retry, cancel.

Every change that depends on who holds a job is *fenced* on its lease: an UPDATE with
``lease_owner = me AND state = 'running'`` in its WHERE clause. A scheduler that lost
its lease (it was too slow to renew and another process reclaimed the job) therefore
changes nothing, and a submission is never stored twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from ..orm import GradingJob, JobKind, JobState


def _rows(result: object) -> int:
    assert isinstance(result, CursorResult)
    return int(result.rowcount)


async def pick_next_job(
    session: AsyncSession, now: datetime, skip: Sequence[int] = ()
) -> int | None:
    """The id of the job to run next, fairly between lectures.

    Order: priority first (interactive ahead of bulk regrades); among equal priority
    the lecture with the fewest running jobs, so a deadline rush in one course cannot
    starve another; then the oldest job. Only each lecture's own next job competes,
    so the query stays small however long one lecture's queue is.
    """
    rank = (
        func.row_number()
        .over(partition_by=GradingJob.lecture_id, order_by=(GradingJob.priority, GradingJob.id))
        .label("rank")
    )
    conditions = [GradingJob.state == JobState.QUEUED, GradingJob.available_at <= now]
    if skip:
        conditions.append(GradingJob.id.not_in(list(skip)))
    heads = (
        select(GradingJob.id, GradingJob.lecture_id, GradingJob.priority, rank)
        .where(*conditions)
        .subquery()
    )
    running = (
        select(GradingJob.lecture_id, func.count().label("running"))
        .where(GradingJob.state == JobState.RUNNING)
        .group_by(GradingJob.lecture_id)
        .subquery()
    )
    busy = func.coalesce(running.c.running, 0)
    return await session.scalar(
        select(heads.c.id)
        .outerjoin(running, running.c.lecture_id == heads.c.lecture_id)
        .where(heads.c.rank == 1)
        .order_by(heads.c.priority, busy, heads.c.id)
        .limit(1)
    )


async def claim_job(
    session: AsyncSession, owner: str, now: datetime, lease: timedelta
) -> GradingJob | None:
    """Take the next job (see :func:`pick_next_job`) and lease it to ``owner``.

    PostgreSQL: the chosen row is locked with ``FOR UPDATE SKIP LOCKED``, so replicas
    claiming at the same moment take different jobs instead of waiting on each other.
    SQLite: the caller's transaction holds the database's write lock (BEGIN IMMEDIATE),
    so nobody else can claim in between. Either way the UPDATE is conditional on the
    job still being queued. The caller commits.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    skipped: list[int] = []
    while True:
        job_id = await pick_next_job(session, now, skipped)
        if job_id is None:
            return None
        if postgres:
            locked = await session.scalar(
                select(GradingJob.id)
                .where(GradingJob.id == job_id, GradingJob.state == JobState.QUEUED)
                .with_for_update(skip_locked=True)
            )
            if locked is None:
                skipped.append(job_id)
                continue
        result = await session.execute(
            update(GradingJob)
            .where(GradingJob.id == job_id, GradingJob.state == JobState.QUEUED)
            .values(
                state=JobState.RUNNING,
                lease_owner=owner,
                lease_expires_at=now + lease,
                attempts=GradingJob.attempts + 1,
                started_at=now,
                executed_at=None,
                stored_at=None,
            )
            .execution_options(synchronize_session=False)
        )
        if _rows(result) == 1:
            return await session.get(GradingJob, job_id, populate_existing=True)
        skipped.append(job_id)


async def renew_leases(
    session: AsyncSession, owner: str, job_ids: Sequence[int], now: datetime, lease: timedelta
) -> set[int]:
    """Extend the leases of ``owner``'s running jobs; returns the ids it still holds.

    A job missing from the answer was cancelled or reclaimed: its runner must stop.
    """
    if not job_ids:
        return set()
    await session.execute(
        update(GradingJob)
        .where(
            GradingJob.id.in_(list(job_ids)),
            GradingJob.lease_owner == owner,
            GradingJob.state == JobState.RUNNING,
        )
        .values(lease_expires_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    held = await session.scalars(
        select(GradingJob.id).where(
            GradingJob.id.in_(list(job_ids)),
            GradingJob.lease_owner == owner,
            GradingJob.state == JobState.RUNNING,
        )
    )
    return set(held)


async def expired_jobs(session: AsyncSession, now: datetime) -> list[GradingJob]:
    """Running jobs whose lease ran out: their process died or hung."""
    found = await session.scalars(
        select(GradingJob).where(
            GradingJob.state == JobState.RUNNING, GradingJob.lease_expires_at < now
        )
    )
    return list(found)


async def fence(session: AsyncSession, job_id: int, owner: str) -> bool:
    """Lock in the caller's transaction that ``owner`` still holds ``job_id``.

    Touching the row makes the check and the later writes one atomic step (the row
    stays locked on PostgreSQL until commit; SQLite holds its write lock).
    """
    result = await session.execute(
        update(GradingJob)
        .where(
            GradingJob.id == job_id,
            GradingJob.lease_owner == owner,
            GradingJob.state == JobState.RUNNING,
        )
        .values(lease_owner=owner)
        .execution_options(synchronize_session=False)
    )
    return _rows(result) == 1


async def cancel_job(
    session: AsyncSession, submission_id: int, kind: JobKind, now: datetime, by: str
) -> GradingJob | None:
    """Cancel the active job of ``kind`` for a submission; ``None`` if there is none.

    A queued job simply never runs. A running job is marked cancelled here; the
    scheduler that holds it notices at its next lease renewal and kills its kernels.
    The caller resets the submission's status and commits.
    """
    job = await session.scalar(
        select(GradingJob).where(
            GradingJob.submission_id == submission_id,
            GradingJob.kind == kind,
            GradingJob.state.in_([JobState.QUEUED, JobState.RUNNING]),
        )
    )
    if job is None:
        return None
    job.state = JobState.CANCELLED
    job.finished_at = now
    job.lease_owner = None
    job.error = f"cancelled by {by}"
    return job


def backoff_delay(attempt: int, base: float, cap: float) -> timedelta:
    """Exponential backoff before retry number ``attempt`` (1 = first retry)."""
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempt - 1)))


async def queue_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Number of queued and running jobs per (kind, state), for the metrics."""
    rows = await session.execute(
        select(GradingJob.kind, GradingJob.state, func.count())
        .where(GradingJob.state.in_([JobState.QUEUED, JobState.RUNNING]))
        .group_by(GradingJob.kind, GradingJob.state)
    )
    counts = {(str(k), str(s)): 0 for k in JobKind for s in (JobState.QUEUED, JobState.RUNNING)}
    for kind, state, count in rows.all():
        counts[(str(kind), str(state))] = int(count)
    return counts
