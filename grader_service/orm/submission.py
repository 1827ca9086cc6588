"""Submissions, their gradebook (properties) and their grading logs."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, str_enum, utcnow

if TYPE_CHECKING:
    from .assignment import Assignment
    from .user import User


class AutoStatus(enum.StrEnum):
    """Where a submission is in autograding."""

    NOT_GRADED = "not_graded"
    PENDING = "pending"
    AUTOMATICALLY_GRADED = "automatically_graded"
    GRADING_FAILED = "grading_failed"


class ManualStatus(enum.StrEnum):
    """Where a submission is in manual grading."""

    NOT_GRADED = "not_graded"
    BEING_EDITED = "being_edited"
    MANUALLY_GRADED = "manually_graded"


class FeedbackStatus(enum.StrEnum):
    """Where a submission's feedback is."""

    NOT_GENERATED = "not_generated"
    GENERATING = "generating"
    GENERATED = "generated"
    GENERATION_FAILED = "generation_failed"
    FEEDBACK_OUTDATED = "feedback_outdated"


class Submission(Base):
    """One submitted commit of a student's assignment repository."""

    __tablename__ = "submissions"
    __table_args__ = (Index("ix_submissions_assignment_id_user_id", "assignment_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    assignment_id: Mapped[int] = mapped_column(ForeignKey("assignments.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    commit_hash: Mapped[str] = mapped_column(String(64))
    auto_status: Mapped[AutoStatus] = mapped_column(
        str_enum(AutoStatus, "auto_status"), default=AutoStatus.NOT_GRADED
    )
    manual_status: Mapped[ManualStatus] = mapped_column(
        str_enum(ManualStatus, "manual_status"), default=ManualStatus.NOT_GRADED
    )
    feedback_status: Mapped[FeedbackStatus] = mapped_column(
        str_enum(FeedbackStatus, "feedback_status"), default=FeedbackStatus.NOT_GENERATED
    )
    grading_score: Mapped[float] = mapped_column(default=0.0)
    score_scaling: Mapped[float] = mapped_column(default=1.0)
    score: Mapped[float | None] = mapped_column(default=None)
    edited: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    assignment: Mapped[Assignment] = relationship(back_populates="submissions")
    user: Mapped[User] = relationship()
    properties: Mapped[SubmissionProperties | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )
    logs: Mapped[SubmissionLogs | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Submission id={self.id} assignment={self.assignment_id} user={self.user_id}>"


class SubmissionProperties(Base):
    """The submission's gradebook JSON: per-cell scores and comments."""

    __tablename__ = "submission_properties"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)


class SubmissionLogs(Base):
    """The text log of the latest grading run of a submission."""

    __tablename__ = "submission_logs"

    submission_id: Mapped[int] = mapped_column(
        ForeignKey("submissions.id", ondelete="CASCADE"), primary_key=True
    )
    logs: Mapped[str] = mapped_column(Text, default="")
