"""The grading scheduler: claims queued jobs, runs them, keeps their leases alive.

Every service process runs one. The database is the queue (DESIGN.md): a job is
claimed with a lease (:mod:`grader_service.store.grading`), the lease is renewed while
the job runs, and jobs whose lease expired (their process was killed) are put back in
the queue by whichever scheduler notices first. Failures of the infrastructure (a
worker crash, a git error) are retried with exponential backoff up to the job's
``max_attempts``; what the student's code does is never a reason to retry.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from traitlets import Any as AnyTrait
from traitlets import Float, Instance, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from ..orm import Assignment, GradingJob, JobState, Lecture, Submission, User, utcnow
from ..store.grading import backoff_delay, claim_job, expired_jobs, queue_counts, renew_leases
from ..store.jobs import queue_position
from .executor import FailureReason, GradingFailure
from .pipeline import GradingPipeline, LeaseLost


class GradingScheduler(LoggingConfigurable):
    """Runs up to ``max_concurrent_jobs`` grading jobs of the shared queue at a time."""

    max_concurrent_jobs = Integer(
        2,
        help="""Grading jobs this process runs at the same time. Each holds one kernel
        (and with the local executor one sandbox with its memory limit), so size it to
        the host: about one per core. Example: ``c.GradingScheduler.max_concurrent_jobs = 4``.""",
    ).tag(config=True)

    lease_duration = Float(
        60.0,
        help="""Seconds a claimed job stays reserved without a renewal. The lease is
        renewed every third of this while the job runs; if the process dies, another
        process (or this one after a restart) takes the job over once it expires.""",
    ).tag(config=True)

    poll_interval = Float(
        2.0,
        help="""Seconds between looks at the queue when nothing wakes the scheduler. A
        submission to this process starts grading at once; jobs queued through other
        replicas wait at most this long.""",
    ).tag(config=True)

    retry_backoff = Float(
        10.0,
        help="""Seconds before the first retry of a job that failed for infrastructure
        reasons (never for the student's code); doubles with every retry.""",
    ).tag(config=True)

    retry_backoff_max = Float(600.0, help="Longest wait between retries (seconds).").tag(
        config=True
    )

    owner = Unicode(help="Identity of this scheduler in job leases (host:pid:random).")

    @default("owner")
    def _owner_default(self) -> str:
        return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    session_factory = Instance(async_sessionmaker, help="Sessions that write (the queue).")
    pipeline = Instance(GradingPipeline, help="Prepares, executes and stores one job.")
    metrics = AnyTrait(None, allow_none=True, help="GraderMetrics to report to, if any.")
    events = AnyTrait(None, allow_none=True, help="SubmissionEventBroker to publish to, if any.")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._loops: list[asyncio.Task[None]] = []
        self._durations: list[float] = []
        self._stopping = False

    # -- lifecycle -------------------------------------------------------------------

    def start(self) -> None:
        """Start claiming jobs in the background."""
        self._stopping = False
        self._loops = [
            asyncio.ensure_future(self._claim_loop()),
            asyncio.ensure_future(self._lease_loop()),
        ]

    async def stop(self) -> None:
        """Stop claiming, abandon running jobs and give them back to the queue at once.

        The jobs are not failed: another replica, or this service after its restart,
        grades them (the interrupted attempt is not counted).
        """
        self._stopping = True
        for task in self._loops:
            task.cancel()
        await asyncio.gather(*self._loops, return_exceptions=True)
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if tasks:
            async with self.session_factory() as session:
                await session.execute(
                    update(GradingJob)
                    .where(
                        GradingJob.lease_owner == self.owner, GradingJob.state == JobState.RUNNING
                    )
                    .values(
                        state=JobState.QUEUED,
                        lease_owner=None,
                        lease_expires_at=None,
                        attempts=GradingJob.attempts - 1,
                        available_at=utcnow(),
                    )
                )
                await session.commit()
            self.log.info("Returned %d unfinished grading jobs to the queue", len(tasks))

    def notify(self) -> None:
        """Look at the queue now (a job was just queued in this process)."""
        self._wake.set()

    @property
    def running_jobs(self) -> int:
        """Jobs this process is grading now."""
        return len(self._running)

    def estimated_wait(self, position: int | None) -> float | None:
        """Seconds until a job with ``position`` jobs ahead of it is done (rough)."""
        if position is None or not self._durations:
            return None
        average = sum(self._durations) / len(self._durations)
        return round((position // max(1, self.max_concurrent_jobs) + 1) * average, 1)

    # -- claiming --------------------------------------------------------------------

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self.lease_duration)

    async def _claim_loop(self) -> None:
        await self._recover_executor()
        last_reclaim = 0.0
        loop = asyncio.get_running_loop()
        while True:
            try:
                if loop.time() - last_reclaim >= self.lease_duration / 3:
                    await self.reclaim_expired()
                    last_reclaim = loop.time()
                while len(self._running) < self.max_concurrent_jobs:
                    job = await self._claim()
                    if job is None:
                        break
                    self._running[job.id] = asyncio.ensure_future(self._execute(job))
                await self._report_queue()
            except Exception:
                self.log.exception("The grading scheduler failed to claim jobs; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_interval)

    async def _recover_executor(self) -> None:
        """Let the executor adopt or clean up what a previous run left (pods), once."""
        try:
            async with self.session_factory() as session:
                active = await session.scalars(
                    select(GradingJob.id).where(
                        GradingJob.state.in_((JobState.QUEUED, JobState.RUNNING))
                    )
                )
                job_ids = set(active.all())
            await self.pipeline.executor.recover(job_ids)
        except Exception:
            self.log.exception("The executor could not recover work of a previous run")

    async def _claim(self) -> GradingJob | None:
        async with self.session_factory() as session:
            job = await claim_job(session, self.owner, utcnow(), self._lease)
            await session.commit()
        if job is not None:
            self.log.info(
                "Grading job %d (%s of submission %d), attempt %d",
                job.id,
                job.kind,
                job.submission_id,
                job.attempts,
            )
            if self.metrics is not None and job.started_at is not None:
                self.metrics.observe_phase(
                    str(job.kind), "queued", (job.started_at - job.queued_at).total_seconds()
                )
            await self._publish(job.submission_id)
        return job

    async def reclaim_expired(self) -> int:
        """Put jobs whose lease ran out back in the queue (or fail them after max_attempts)."""
        now = utcnow()
        count = 0
        async with self.session_factory() as session:
            for job in await expired_jobs(session, now):
                if job.attempts >= job.max_attempts:
                    await self.pipeline.record_failure(
                        session,
                        job,
                        GradingFailure(
                            f"grading was interrupted {job.attempts} times (the grading "
                            "process stopped or hung); giving up. Ask an admin to look at "
                            "the service's log, then queue the autograde again.",
                            FailureReason.INFRASTRUCTURE,
                        ),
                    )
                else:
                    job.state = JobState.QUEUED
                    job.lease_owner = None
                    job.lease_expires_at = None
                    job.available_at = now
                self.log.warning(
                    "Grading job %d lost its lease (process %s); %s",
                    job.id,
                    job.lease_owner,
                    "failed" if job.state == JobState.FAILED else "queued again",
                )
                count += 1
            await session.commit()
        if count:
            self._wake.set()
        return count

    async def _lease_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lease_duration / 3)
            if not self._running:
                continue
            try:
                async with self.session_factory() as session:
                    held = await renew_leases(
                        session, self.owner, list(self._running), utcnow(), self._lease
                    )
                    await session.commit()
            except Exception:
                self.log.exception("Could not renew grading leases; retrying")
                continue
            for job_id, task in list(self._running.items()):
                if job_id not in held:
                    # cancelled through the API, or reclaimed after a stall: stop now
                    self.log.info("Grading job %d was cancelled or taken over; stopping it", job_id)
                    task.cancel()

    # -- running ---------------------------------------------------------------------

    async def _execute(self, job: GradingJob) -> None:
        kind = str(job.kind)
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            report, follow_up = await self.pipeline.run(job, self.owner)
        except asyncio.CancelledError:
            if self._stopping:
                raise
            self._count(kind, "cancelled", FailureReason.CANCELLED)
            return
        except LeaseLost:
            self.log.warning(
                "Grading job %d finished after losing its lease; result dropped", job.id
            )
            self._count(kind, "cancelled", FailureReason.CANCELLED)
            return
        except GradingFailure as failure:
            await self._failed(job, failure)
            return
        except Exception as e:
            self.log.exception("Grading job %d failed unexpectedly", job.id)
            await self._failed(
                job,
                GradingFailure(
                    f"the grading service hit an error ({type(e).__name__}); it will retry",
                    FailureReason.INFRASTRUCTURE,
                    retry=True,
                ),
            )
            return
        finally:
            self._running.pop(job.id, None)
            self._wake.set()
        duration = loop.time() - started
        self._durations = [*self._durations[-19:], duration]
        self._count(kind, "succeeded", report.reason)
        if self.metrics is not None:
            self.metrics.observe_phase(kind, "total", duration)
        self.log.info(
            "Grading job %d done in %.2fs: %.2f / %.2f points",
            job.id,
            duration,
            report.score,
            report.max_score,
        )
        await self._publish(job.submission_id)
        if follow_up is not None:
            self._wake.set()

    async def _failed(self, job: GradingJob, failure: GradingFailure) -> None:
        kind = str(job.kind)
        async with self.session_factory() as session:
            row = await session.get(GradingJob, job.id)
            if row is None or row.state != JobState.RUNNING or row.lease_owner != self.owner:
                return  # cancelled or taken over meanwhile: not ours to record
            if failure.retry and row.attempts < row.max_attempts:
                delay = backoff_delay(row.attempts, self.retry_backoff, self.retry_backoff_max)
                row.state = JobState.QUEUED
                row.lease_owner = None
                row.lease_expires_at = None
                row.available_at = utcnow() + delay
                row.error = failure.message
                await session.commit()
                self.log.warning(
                    "Grading job %d: %s; retry %d of %d in %.0fs",
                    job.id,
                    failure.message,
                    row.attempts,
                    row.max_attempts - 1,
                    delay.total_seconds(),
                )
                self._count(kind, "retried", failure.reason)
                return
            await self.pipeline.record_failure(session, row, failure, failure.logs)
            await session.commit()
        self.log.warning("Grading job %d failed: %s", job.id, failure.message)
        self._count(kind, "failed", failure.reason)
        await self._publish(job.submission_id)

    def _count(self, kind: str, outcome: str, reason: str) -> None:
        if self.metrics is not None:
            self.metrics.count_outcome(kind, outcome, str(reason))

    async def _report_queue(self) -> None:
        if self.metrics is None:
            return
        async with self.session_factory() as session:
            counts = await queue_counts(session)
        for kind in {k for k, _ in counts}:
            self.metrics.set_queue_depth(
                kind, counts[(kind, JobState.QUEUED.value)], counts[(kind, JobState.RUNNING.value)]
            )

    async def _publish(self, submission_id: int) -> None:
        """Tell the submission's owner (and staff watching the lecture) its new state."""
        if self.events is None:
            return
        try:
            async with self.session_factory() as session:
                event = await submission_event(session, submission_id)
        except Exception:
            self.log.exception("Could not publish the state of submission %d", submission_id)
            return
        if event is not None:
            self.events.publish(event, user_id=event["user_id"], lecture_id=event["lecture_id"])


async def submission_event(session: AsyncSession, submission_id: int) -> dict[str, Any] | None:
    """The event announcing a submission's statuses (never its score)."""
    row = (
        await session.execute(
            select(Submission, User.name, Assignment.lecture_id)
            .join(User, User.id == Submission.user_id)
            .join(Assignment, Assignment.id == Submission.assignment_id)
            .join(Lecture, Lecture.id == Assignment.lecture_id)
            .where(Submission.id == submission_id)
        )
    ).one_or_none()
    if row is None:
        return None
    submission, username, lecture_id = row
    job = await session.scalar(
        select(GradingJob)
        .where(GradingJob.submission_id == submission_id, GradingJob.state == JobState.QUEUED)
        .order_by(GradingJob.id)
        .limit(1)
    )
    return {
        "type": "submission",
        "submission_id": submission.id,
        "assignment_id": submission.assignment_id,
        "lecture_id": lecture_id,
        "user_id": submission.user_id,
        "username": username,
        "auto_status": str(submission.auto_status),
        "feedback_status": str(submission.feedback_status),
        "manual_status": str(submission.manual_status),
        "queue_position": await queue_position(session, job) if job is not None else None,
    }
