"""Lectures (courses): the unit that owns assignments and the roles of its members."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, TimestampMixin

# Lecture codes appear in git URLs, directory names and hub group names.
LECTURE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

if TYPE_CHECKING:
    from .assignment import Assignment
    from .role import Role


class Lecture(TimestampMixin, Base):
    """A course, identified by a stable ``code`` (the prefix of its JupyterHub groups)."""

    __tablename__ = "lectures"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    code: Mapped[str] = mapped_column(String(255), unique=True)
    complete: Mapped[bool] = mapped_column(default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)

    roles: Mapped[list[Role]] = relationship(
        back_populates="lecture", cascade="all, delete-orphan", passive_deletes=True
    )
    assignments: Mapped[list[Assignment]] = relationship(
        back_populates="lecture", cascade="all, delete-orphan", passive_deletes=True
    )

    @property
    def deleted(self) -> bool:
        """Whether the lecture is soft-deleted (hidden, but restorable)."""
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<Lecture {self.code!r} id={self.id}>"
