"""Request and response bodies of the REST API; the OpenAPI document is built from them.

Field names follow Grader Service 0.12 so its clients keep working.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..orm import LectureRole, RoleSource
from ..orm.lecture import LECTURE_CODE_PATTERN
from .routing import MAX_ID


class Strict(BaseModel):
    """Base of request models: unknown fields are an error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """The body of every error response."""

    status: int = Field(description="The HTTP status code.")
    error: str = Field(description="The short reason phrase, e.g. 'Not Found'.")
    message: str = Field(description="What went wrong and, where possible, what to do.")


class VersionInfo(BaseModel):
    """Name and version of the service."""

    name: str
    version: str


class Health(BaseModel):
    """Health of the service and its database."""

    health: str = Field(description="'OK' when the service can serve requests.")
    database: str = Field(description="'ok' when a query on the database succeeded.")


class ServiceConfig(BaseModel):
    """Settings clients need to show (e.g. the allowed cell timeouts)."""

    version: str
    default_cell_timeout: int
    min_cell_timeout: int
    max_cell_timeout: int


class Permission(BaseModel):
    """The caller's role in one lecture."""

    lecture_id: int
    lecture_code: str
    role: LectureRole
    scope: int = Field(
        description="Grader Service's integer role: student=0, tutor=1, instructor=2."
    )


LectureCode = Annotated[str, StringConstraints(pattern=LECTURE_CODE_PATTERN)]
LectureName = Annotated[str, StringConstraints(min_length=1, max_length=255, strip_whitespace=True)]


class FromRow(BaseModel):
    """Base of response models that are read straight from an ORM row's attributes."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, row: object) -> Self:
        """The API view of ``row``."""
        return cls.model_validate(row)


class LectureOut(FromRow):
    """A lecture."""

    id: int
    name: str
    code: str
    complete: bool
    deleted: bool
    created_at: datetime
    updated_at: datetime


class LectureCreate(Strict):
    """Create a lecture, or (for its instructors and admins) restore and update one."""

    code: LectureCode = Field(description="Stable identifier, the prefix of its hub groups.")
    name: LectureName | None = Field(
        default=None, description="Display name; defaults to the code."
    )
    complete: bool = False


class LectureUpdate(Strict):
    """Change a lecture's name or completion."""

    name: LectureName | None = None
    complete: bool | None = None

    @model_validator(mode="after")
    def _something(self) -> LectureUpdate:
        if self.name is None and self.complete is None:
            raise ValueError("give at least one of 'name' or 'complete'")
        return self


class LectureListQuery(Strict):
    """Filters of the lecture list."""

    complete: bool | None = Field(
        default=None, description="Only complete (true) or running (false) lectures."
    )
    instructor: bool = Field(
        default=False, description="Only lectures where you are tutor or instructor."
    )
    include_deleted: bool = Field(
        default=False, description="Admins: include soft-deleted lectures."
    )


class DeleteQuery(Strict):
    """Soft delete by default; ``hard_delete=true`` removes the rows for good (admins)."""

    hard_delete: bool = False


class UserOut(FromRow):
    """A user."""

    id: int
    name: str
    display_name: str


class UserUpdate(Strict):
    """Change a user's display name."""

    display_name: Annotated[str, StringConstraints(max_length=255, strip_whitespace=True)]


class UserQuery(Strict):
    """``lecture_id`` lets tutors and instructors look up members of their lecture."""

    lecture_id: int | None = Field(default=None, ge=0, le=MAX_ID)


class LectureUsers(BaseModel):
    """The members of a lecture, by role."""

    instructors: list[UserOut]
    tutors: list[UserOut]
    students: list[UserOut]


class RoleOut(BaseModel):
    """A user's role in a lecture."""

    user_id: int
    lecture_id: int
    lecture_code: str
    role: LectureRole
    source: RoleSource
    user: UserOut


def _role_from_scope(value: object) -> object:
    # Grader Service clients send integer scopes (0=student, 1=tutor, 2=instructor).
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(LectureRole):
        return list(LectureRole)[value]
    return value


class RoleGrant(Strict):
    """One user and the role to give them."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    role: LectureRole

    @model_validator(mode="before")
    @classmethod
    def _scope(cls, data: object) -> object:
        if isinstance(data, dict) and "role" in data:
            return {**data, "role": _role_from_scope(data["role"])}
        return data


class RolesUpdate(Strict):
    """Grant (or change) roles of several users at once."""

    users: list[RoleGrant] = Field(min_length=1)


class RolesDeleteQuery(Strict):
    """Comma-separated usernames whose roles in the lecture are removed."""

    usernames: Annotated[str, StringConstraints(min_length=1)]
