"""Submissions: creating them under the rules, picking latest/best, recomputing scores."""

from __future__ import annotations

import asyncio
import enum
import weakref
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Conflict
from ..orm import (
    Assignment,
    AssignmentStatus,
    AutogradeType,
    AutoStatus,
    FeedbackStatus,
    GradingJob,
    JobKind,
    Submission,
    User,
)
from ..orm.settings import FeedbackTiming
from ..rules import effective_deadline, scaled_score, score_scaling, submission_allowance
from .gradebooks import copy_gradebook_to_submission
from .jobs import JobPriority, enqueue_job, new_submission_job

# Grader Service marks submissions an instructor made on a student's behalf with this
# hash; they are not autograded.
STAFF_PLACEHOLDER_COMMIT = "0" * 40


class SubmissionFilter(enum.StrEnum):
    """Which of a student's submissions a list shows."""

    NONE = "none"
    LATEST = "latest"
    BEST = "best"


_sqlite_locks: weakref.WeakValueDictionary[tuple[int, int], asyncio.Lock] = (
    weakref.WeakValueDictionary()
)


@asynccontextmanager
async def student_submission_lock(
    session: AsyncSession, assignment_id: int, user_id: int
) -> AsyncIterator[None]:
    """Serialise submissions of one student to one assignment until the caller commits.

    Counting submissions and inserting one must not interleave with the same student's
    other request, or two requests could both see "0 of 1 used". PostgreSQL: a
    transaction-scoped advisory lock (held across replicas, released at commit).
    SQLite (one process): an asyncio lock held for the block. Commit inside the block.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"submission:{assignment_id}:{user_id}".encode())
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
        yield
        return
    lock = _sqlite_locks.get((assignment_id, user_id))
    if lock is None:
        lock = _sqlite_locks[(assignment_id, user_id)] = asyncio.Lock()
    async with lock:
        yield


async def count_submissions(session: AsyncSession, assignment_id: int, user_id: int) -> int:
    """Submissions a student has made, deleted ones included (deleting does not refund)."""
    count = await session.scalar(
        select(func.count()).where(
            Submission.assignment_id == assignment_id, Submission.user_id == user_id
        )
    )
    return int(count or 0)


async def create_submission(
    session: AsyncSession,
    assignment: Assignment,
    user: User,
    commit_hash: str,
    *,
    now: datetime,
    by_staff: bool,
) -> tuple[Submission, GradingJob | None]:
    """Record a submission (and its autograde job) if the rules allow it.

    Students need a released assignment, a submission window that is still open (late
    periods give a reduced scaling) and an unused submission. Tutors and instructors
    submitting for a student bypass the window (scaling 0 after it closed) and the limit.
    """
    settings = assignment.settings
    if assignment.status == AssignmentStatus.COMPLETE:
        raise Conflict("The assignment is complete and takes no more submissions.")
    if not by_staff and assignment.status != AssignmentStatus.RELEASED:
        # students never get here (unreleased assignments are hidden from them); staff see it
        raise Conflict(
            f"Assignment {assignment.id} is not released yet; it takes submissions once it is."
        )
    scaling = score_scaling(settings, user.name, now)
    if scaling is None:
        if not by_staff:
            raise Conflict(
                "The deadline and every late-submission period have passed; the submission "
                "was not recorded."
            )
        scaling = 0.0
    allowance = submission_allowance(settings, user.name)
    if allowance is not None and not by_staff:
        used = await count_submissions(session, assignment.id, user.id)
        if used >= allowance:
            raise Conflict(f"You have used all {allowance} submissions of this assignment.")
    submission = Submission(
        assignment_id=assignment.id,
        user_id=user.id,
        submitted_at=now,
        commit_hash=commit_hash,
        score_scaling=scaling,
        grading_score=0.0,
        score=None,
    )
    wants_autograde = settings.autograde_type in (AutogradeType.AUTO, AutogradeType.FULL_AUTO)
    autograde = wants_autograde and commit_hash != STAFF_PLACEHOLDER_COMMIT
    if autograde:
        mark_autograde_queued(submission)  # before the INSERT, so it is part of it
    session.add(submission)
    await session.flush()
    await copy_gradebook_to_submission(session, assignment.id, submission.id)
    job = None
    if autograde:
        job = new_submission_job(submission, assignment.lecture_id, JobKind.AUTOGRADE)
        session.add(job)
        await session.flush()  # its id orders the queue
    return submission, job


def filtered_submissions(
    assignment_id: int, which: SubmissionFilter, user_id: int | None = None
) -> Select[Submission]:
    """Live submissions of an assignment, all or one per student (latest or best).

    Ties are broken deterministically: best = highest score, then latest, then highest
    id; latest = latest ``submitted_at``, then highest id.
    """
    live = [Submission.assignment_id == assignment_id, Submission.deleted_at.is_(None)]
    if user_id is not None:
        live.append(Submission.user_id == user_id)
    if which == SubmissionFilter.NONE:
        return (
            select(Submission)
            .where(*live)
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        )
    if which == SubmissionFilter.LATEST:
        order: list[Any] = [Submission.submitted_at.desc(), Submission.id.desc()]
    else:
        order = [
            Submission.score.desc().nulls_last(),
            Submission.submitted_at.desc(),
            Submission.id.desc(),
        ]
    ranked = (
        select(
            Submission.id,
            func.row_number().over(partition_by=Submission.user_id, order_by=order).label("rank"),
        )
        .where(*live)
        .subquery()
    )
    return (
        select(Submission)
        .join(ranked, ranked.c.id == Submission.id)
        .where(ranked.c.rank == 1)
        .order_by(Submission.user_id, Submission.id)
    )


async def recompute_scores(session: AsyncSession, assignment: Assignment) -> int:
    """Re-apply the deadline, late periods and extensions to every submission.

    Returns how many submissions changed. Called whenever those settings change, so a
    moved deadline never leaves stale penalties behind.
    """
    names = dict(
        (
            await session.execute(
                select(User.id, User.name)
                .join(Submission, Submission.user_id == User.id)
                .where(Submission.assignment_id == assignment.id)
                .distinct()
            )
        ).all()
    )
    changed = 0
    submissions = await session.scalars(
        select(Submission).where(Submission.assignment_id == assignment.id)
    )
    for submission in submissions:
        scaling = score_scaling(
            assignment.settings, names[submission.user_id], submission.submitted_at
        )
        scaling = 0.0 if scaling is None else scaling
        if scaling != submission.score_scaling:
            submission.score_scaling = scaling
            if submission.score is not None:
                submission.score = scaled_score(submission.grading_score, scaling)
            changed += 1
    return changed


def score_visible_to_student(
    submission: Submission, assignment: Assignment, username: str, now: datetime
) -> bool:
    """Students see scores only once feedback is released to them: generated, and, if
    the assignment says so, after their deadline."""
    if submission.feedback_status not in (
        FeedbackStatus.GENERATED,
        FeedbackStatus.FEEDBACK_OUTDATED,
    ):
        return False
    visibility = assignment.settings.feedback_visibility
    if visibility.when == FeedbackTiming.AFTER_DEADLINE:
        deadline = effective_deadline(assignment.settings, username)
        return deadline is None or now > deadline
    return True


def mark_autograde_queued(submission: Submission) -> None:
    """Statuses after an autograde was queued: pending, and feedback now outdated."""
    submission.auto_status = AutoStatus.PENDING
    if submission.feedback_status == FeedbackStatus.GENERATED:
        submission.feedback_status = FeedbackStatus.FEEDBACK_OUTDATED


async def regrade_assignment(session: AsyncSession, assignment: Assignment) -> tuple[int, int]:
    """Queue an autograde of every live submission (bulk priority).

    Returns (newly queued, already queued). Instructor-made placeholders are skipped.
    """
    queued = already = 0
    submissions = await session.scalars(
        select(Submission).where(
            Submission.assignment_id == assignment.id,
            Submission.deleted_at.is_(None),
            Submission.commit_hash != STAFF_PLACEHOLDER_COMMIT,
        )
    )
    for submission in submissions:
        _, created = await enqueue_job(
            session, submission, assignment.lecture_id, JobKind.AUTOGRADE, JobPriority.BULK
        )
        if created:
            mark_autograde_queued(submission)
            queued += 1
        else:
            already += 1
    return queued, already
