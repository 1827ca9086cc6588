"""Grading jobs: the durable queue of autograde and feedback work.

The rows *are* the queue (DESIGN.md "The DB is the queue"): a job is written in the
same transaction as the submission, claimed by a scheduler with a lease it renews, and
reclaimed when that lease expires. The partial unique index below lets the database
itself refuse a second active job of the same kind for one submission.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, str_enum, utcnow


class JobKind(enum.StrEnum):
    """What a job does."""

    AUTOGRADE = "autograde"
    FEEDBACK = "feedback"


class JobState(enum.StrEnum):
    """Lifecycle: queued -> running -> succeeded | failed | cancelled."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_JOB_STATES = (JobState.QUEUED, JobState.RUNNING)


class GradingJob(Base):
    """One unit of grading work for one submission."""

    __tablename__ = "grading_jobs"
    __table_args__ = (
        Index(
            "uq_grading_jobs_submission_id_kind_active",
            "submission_id",
            "kind",
            unique=True,
            sqlite_where=text("state IN ('queued', 'running')"),
            postgresql_where=text("state IN ('queued', 'running')"),
        ),
        Index("ix_grading_jobs_state_priority", "state", "priority", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    # Denormalised so the scheduler can share capacity fairly between lectures
    # without joining through assignments on every claim.
    lecture_id: Mapped[int] = mapped_column(ForeignKey("lectures.id", ondelete="CASCADE"))
    kind: Mapped[JobKind] = mapped_column(str_enum(JobKind, "job_kind"))
    state: Mapped[JobState] = mapped_column(
        str_enum(JobState, "job_state"), default=JobState.QUEUED
    )
    # Lower runs first: interactive submissions ahead of bulk regrades.
    priority: Mapped[int] = mapped_column(default=0)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    lease_owner: Mapped[str | None] = mapped_column(String(255), default=None)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    # Not claimable before this time (retry backoff).
    available_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    executed_at: Mapped[datetime | None] = mapped_column(default=None)
    stored_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)

    def __repr__(self) -> str:
        return f"<GradingJob id={self.id} {self.kind} submission={self.submission_id} {self.state}>"
