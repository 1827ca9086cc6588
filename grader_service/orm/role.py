"""Roles: what a user is in one lecture (student, tutor or instructor)."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin, str_enum

if TYPE_CHECKING:
    from .lecture import Lecture
    from .user import User


class LectureRole(enum.StrEnum):
    """A user's role in a lecture. ``scope`` is Grader Service's integer for it."""

    STUDENT = "student"
    TUTOR = "tutor"
    INSTRUCTOR = "instructor"

    @property
    def scope(self) -> int:
        """Grader Service 0.12's integer scope (student=0, tutor=1, instructor=2)."""
        return list(LectureRole).index(self)


class RoleSource(enum.StrEnum):
    """Where a role came from, so that each source only ever revokes what it granted."""

    HUB = "hub"
    """From the user's JupyterHub groups ``{code}:{role}``; synced on every login."""
    CONFIG = "config"
    """From ``c.GraderService.load_roles``; synced at start-up."""
    API = "api"
    """Granted through the roles API by an admin or instructor."""


class Role(TimestampMixin, Base):
    """One row per user and lecture: the database enforces one role per pair."""

    __tablename__ = "roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    lecture_id: Mapped[int] = mapped_column(
        ForeignKey("lectures.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[LectureRole] = mapped_column(str_enum(LectureRole, "lecture_role"))
    source: Mapped[RoleSource] = mapped_column(
        str_enum(RoleSource, "role_source"), default=RoleSource.API
    )

    user: Mapped[User] = relationship(back_populates="roles")
    lecture: Mapped[Lecture] = relationship(back_populates="roles")

    def __repr__(self) -> str:
        return f"<Role user={self.user_id} lecture={self.lecture_id} {self.role}>"
