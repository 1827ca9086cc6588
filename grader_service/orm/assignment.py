"""Assignments: notebooks released to the students of one lecture."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Dialect, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from .base import Base, TimestampMixin, str_enum
from .settings import AssignmentSettings

if TYPE_CHECKING:
    from .lecture import Lecture
    from .submission import Submission


class AssignmentStatus(enum.StrEnum):
    """Lifecycle of an assignment: created -> pushed -> released -> complete."""

    CREATED = "created"
    PUSHED = "pushed"
    RELEASED = "released"
    COMPLETE = "complete"


class SettingsType(TypeDecorator[AssignmentSettings]):
    """Stores :class:`AssignmentSettings` as JSON and validates it on both ways."""

    impl = JSON
    cache_ok = True

    def process_bind_param(
        self, value: AssignmentSettings | None, dialect: Dialect
    ) -> dict[str, Any] | None:
        if value is None:
            return None
        return AssignmentSettings.model_validate(value).to_json()

    def process_result_value(
        self, value: dict[str, Any] | None, dialect: Dialect
    ) -> AssignmentSettings | None:
        if value is None:
            return None
        return AssignmentSettings.model_validate(value)


class Assignment(TimestampMixin, Base):
    """An assignment; its name is unique among the live assignments of a lecture."""

    __tablename__ = "assignments"
    __table_args__ = (
        # Partial index: a soft-deleted assignment does not block reusing its name.
        Index(
            "uq_assignments_lecture_id_name_live",
            "lecture_id",
            "name",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lecture_id: Mapped[int] = mapped_column(
        ForeignKey("lectures.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[AssignmentStatus] = mapped_column(
        str_enum(AssignmentStatus, "assignment_status"), default=AssignmentStatus.CREATED
    )
    points: Mapped[float] = mapped_column(default=0.0)
    settings: Mapped[AssignmentSettings] = mapped_column(SettingsType(), default=AssignmentSettings)
    # The assignment's gradebook (reference/grader-service.md §6), written by the
    # service's own release step, never uploaded by clients. Deferred: it can be large
    # (every cell's source) and almost no request needs it, while nearly every request
    # loads the assignment (decoding it was a tenth of a push+submit's service CPU).
    # Reading it without loading it first raises; see ``store.assignments.gradebook``.
    properties: Mapped[dict[str, Any] | None] = mapped_column(
        JSON, default=None, deferred=True, deferred_raiseload=True
    )
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    lecture: Mapped[Lecture] = relationship(back_populates="assignments")
    submissions: Mapped[list[Submission]] = relationship(
        back_populates="assignment", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def deleted(self) -> bool:
        """Whether the assignment is soft-deleted."""
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Assignment {self.name!r} id={self.id} lecture={self.lecture_id}>"
