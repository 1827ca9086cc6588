"""One grading job from start to stored result: prepare, execute, store.

1. **prepare**: the submitted commit is exported from the student's repository (or,
   for feedback, the graded commit from the autograde repository) into a private job
   directory, with the submission's gradebook (hidden tests included) beside it.
2. **execute**: the configured executor grades it in isolation.
3. **store**: the results are committed to the ``autograde`` (or ``feedback``)
   repository on branch ``submission_{commit}`` (``feedback_{commit}``), then written
   to the database in ONE transaction that is fenced on the job's lease: a process
   that lost its lease stores nothing, so a submission is graded exactly once.
"""

from __future__ import annotations

import asyncio
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ..convert.gradebook import GRADEBOOK_FILENAME
from ..git.layout import RepoAddress, RepoType
from ..git.repos import ensure_bare_repo
from ..git.server import GitServer
from ..git.snapshots import commit_directory, export_commit
from ..orm import (
    Assignment,
    AutogradeType,
    AutoStatus,
    FeedbackStatus,
    GradingJob,
    JobKind,
    JobState,
    Lecture,
    Submission,
    SubmissionLogs,
    SubmissionProperties,
    User,
    utcnow,
)
from ..rules import scaled_score
from ..rules.scores import gradebook_score
from ..store.gradebooks import assignment_gradebook
from ..store.grading import fence
from ..store.jobs import JobPriority, enqueue_job
from .executor import (
    AutogradeExecutor,
    FailureReason,
    GradingFailure,
    GradingReport,
    GradingTask,
    JobDirectory,
)
from .limits import CellTimeoutPolicy

# Logs are shown in the browser; a flood of output must not bloat the database.
MAX_LOG_CHARS = 200_000


@dataclass
class JobContext:
    """What the pipeline reads from the database before it starts."""

    task: GradingTask
    gradebook: dict[str, Any] | None
    autograde_type: AutogradeType


def _clip(text: str) -> str:
    text = text.replace("\0", "")
    if len(text) <= MAX_LOG_CHARS:
        return text
    return text[: MAX_LOG_CHARS // 2] + "\n[... log shortened ...]\n" + text[-MAX_LOG_CHARS // 2 :]


def result_branch(kind: JobKind, commit_hash: str) -> str:
    """The branch a job's results are committed to (Grader Service's names)."""
    prefix = "submission" if kind == JobKind.AUTOGRADE else "feedback"
    return f"{prefix}_{commit_hash}"


class GradingPipeline:
    """Runs claimed jobs through an executor and stores their results."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        git_server: GitServer,
        executor: AutogradeExecutor,
        timeouts: CellTimeoutPolicy,
        work_dir: Path,
    ) -> None:
        self.session_factory = session_factory
        self.git_server = git_server
        self.executor = executor
        self.timeouts = timeouts
        self.work_dir = work_dir

    async def load(self, job: GradingJob) -> JobContext:
        """The job's submission, assignment and student, as plain values."""
        async with self.session_factory() as session:
            row = (
                await session.execute(
                    select(Submission, Assignment, Lecture.code, User.name)
                    .join(Assignment, Assignment.id == Submission.assignment_id)
                    .join(Lecture, Lecture.id == Assignment.lecture_id)
                    .join(User, User.id == Submission.user_id)
                    .where(Submission.id == job.submission_id)
                )
            ).one_or_none()
            if row is None:
                raise GradingFailure(
                    "the submission no longer exists", FailureReason.INVALID_SUBMISSION
                )
            submission, assignment, code, username = row
            props = await session.get(SubmissionProperties, submission.id)
            gradebook = (
                props.properties
                if props is not None
                else await assignment_gradebook(session, assignment.id)
            )
            settings = assignment.settings
            return JobContext(
                task=GradingTask(
                    job_id=job.id,
                    kind=str(job.kind),
                    lecture_code=code,
                    assignment_id=assignment.id,
                    assignment_name=assignment.name,
                    submission_id=submission.id,
                    username=username,
                    commit_hash=submission.commit_hash,
                    cell_timeout=self.timeouts.clamp(settings.cell_timeout),
                    image=settings.image,
                ),
                gradebook=gradebook,
                autograde_type=settings.autograde_type,
            )

    def _repo(self, task: GradingTask, repo_type: RepoType) -> Path:
        return self.git_server.directory(
            RepoAddress(task.lecture_code, task.assignment_id, repo_type, username=task.username)
        )

    async def prepare(self, job: GradingJob, context: JobContext) -> JobDirectory:
        """Materialise the job's input and, for autograde, the gradebook."""
        task = context.task
        root = self.work_dir / "jobs" / f"{job.id}-{job.attempts}"
        job_dir = JobDirectory(root, root / "input", root / "output")
        if job.kind == JobKind.AUTOGRADE:
            if not context.gradebook:
                raise GradingFailure(
                    "the assignment has no gradebook; release it before grading",
                    FailureReason.INVALID_SUBMISSION,
                )
            source = self._repo(task, RepoType.USER)
            ref = task.commit_hash
        else:
            source = self._repo(task, RepoType.AUTOGRADE)
            ref = f"refs/heads/{result_branch(JobKind.AUTOGRADE, task.commit_hash)}"
        await asyncio.to_thread(
            _make_job_dir, job_dir, context.gradebook if job.kind == JobKind.AUTOGRADE else None
        )
        try:
            await export_commit(source, ref, job_dir.input_dir)
        except Exception as e:
            what = "submitted commit" if job.kind == JobKind.AUTOGRADE else "graded notebooks"
            raise GradingFailure(
                f"the {what} could not be read from the repository ({e})",
                FailureReason.INVALID_SUBMISSION,
            ) from None
        return job_dir

    async def execute(
        self, job: GradingJob, context: JobContext, job_dir: JobDirectory
    ) -> GradingReport:
        """Run the job on the executor."""
        if job.kind == JobKind.AUTOGRADE:
            return await self.executor.autograde(context.task, job_dir)
        return await self.executor.feedback(context.task, job_dir)

    async def commit_results(
        self, job: GradingJob, context: JobContext, job_dir: JobDirectory
    ) -> str:
        """Commit the output to the autograde / feedback repository; returns the commit."""
        repo_type = RepoType.AUTOGRADE if job.kind == JobKind.AUTOGRADE else RepoType.FEEDBACK
        repo = self._repo(context.task, repo_type)
        await ensure_bare_repo(repo)
        message = f"{job.kind} of submission {context.task.submission_id} (job {job.id})"
        return await commit_directory(
            repo, result_branch(job.kind, context.task.commit_hash), job_dir.output_dir, message
        )

    async def store(
        self, session: AsyncSession, job: GradingJob, context: JobContext, report: GradingReport
    ) -> GradingJob | None:
        """Write the result (caller fenced the lease and commits); returns a follow-up job."""
        now = utcnow()
        submission = await session.get(Submission, job.submission_id, populate_existing=True)
        row = await session.get(GradingJob, job.id, populate_existing=True)
        assert submission is not None and row is not None
        row.state = JobState.SUCCEEDED
        row.executed_at = row.executed_at or now
        row.stored_at = row.finished_at = now
        row.lease_owner = None
        row.error = None
        follow_up = None
        if job.kind == JobKind.AUTOGRADE:
            assert report.gradebook is not None
            props = await session.get(SubmissionProperties, submission.id)
            if props is None:
                session.add(
                    SubmissionProperties(submission_id=submission.id, properties=report.gradebook)
                )
            else:
                props.properties = report.gradebook
            submission.grading_score = gradebook_score(report.gradebook)
            submission.score = scaled_score(submission.grading_score, submission.score_scaling)
            submission.auto_status = AutoStatus.AUTOMATICALLY_GRADED
            await self._set_logs(session, submission.id, report.logs)
            if context.autograde_type == AutogradeType.FULL_AUTO:
                lecture_id = job.lecture_id
                follow_up, created = await enqueue_job(
                    session, submission, lecture_id, JobKind.FEEDBACK, _priority(job)
                )
                if created:
                    submission.feedback_status = FeedbackStatus.GENERATING
        else:
            submission.feedback_status = FeedbackStatus.GENERATED
        return follow_up

    async def record_failure(
        self, session: AsyncSession, job: GradingJob, failure: GradingFailure, logs: str = ""
    ) -> None:
        """Mark a job failed for good, with the reason where instructors will look."""
        now = utcnow()
        row = await session.get(GradingJob, job.id, populate_existing=True)
        submission = await session.get(Submission, job.submission_id, populate_existing=True)
        if row is None or submission is None:
            return
        cancelled = failure.reason == FailureReason.CANCELLED
        row.state = JobState.CANCELLED if cancelled else JobState.FAILED
        row.finished_at = now
        row.lease_owner = None
        row.error = failure.message
        if job.kind == JobKind.AUTOGRADE:
            submission.auto_status = (
                AutoStatus.NOT_GRADED if cancelled else AutoStatus.GRADING_FAILED
            )
            text = f"Grading failed: {failure.message}\n"
            if cancelled:
                text = "Grading was cancelled.\n"
            await self._set_logs(session, submission.id, text + logs)
        else:
            submission.feedback_status = (
                FeedbackStatus.NOT_GENERATED if cancelled else FeedbackStatus.GENERATION_FAILED
            )

    @staticmethod
    async def _set_logs(session: AsyncSession, submission_id: int, text: str) -> None:
        logs = await session.get(SubmissionLogs, submission_id)
        if logs is None:
            session.add(SubmissionLogs(submission_id=submission_id, logs=_clip(text)))
        else:
            logs.logs = _clip(text)

    async def run(self, job: GradingJob, owner: str) -> tuple[GradingReport, GradingJob | None]:
        """Prepare, execute and store one claimed job (raises GradingFailure)."""
        context = await self.load(job)
        job_dir = await self.prepare(job, context)
        try:
            report = await self.execute(job, context, job_dir)
            executed_at = utcnow()
            await self.commit_results(job, context, job_dir)
        finally:
            await asyncio.to_thread(shutil.rmtree, job_dir.root, ignore_errors=True)
        async with self.session_factory() as session:
            if not await fence(session, job.id, owner):
                raise LeaseLost(job.id)
            row = await session.get(GradingJob, job.id)
            if row is not None:
                row.executed_at = executed_at
            follow_up = await self.store(session, job, context, report)
            await session.commit()
        return report, follow_up


def _make_job_dir(job_dir: JobDirectory, gradebook: dict[str, Any] | None) -> None:
    """A fresh job directory (a retry starts clean), with the gradebook if given."""
    if job_dir.root.exists():
        shutil.rmtree(job_dir.root)
    job_dir.output_dir.mkdir(parents=True, mode=0o700)
    if gradebook is not None:
        (job_dir.output_dir / GRADEBOOK_FILENAME).write_text(json.dumps(gradebook), "utf-8")


class LeaseLost(Exception):
    """The job was reclaimed or cancelled while it ran; its result was not stored."""


def _priority(job: GradingJob) -> JobPriority:
    """A follow-up job (feedback after autograde) keeps the priority of its cause."""
    try:
        return JobPriority(job.priority)
    except ValueError:
        return JobPriority.BULK
