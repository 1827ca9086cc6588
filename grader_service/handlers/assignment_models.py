"""Request and response bodies of assignments, submissions and grades."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from ..orm import (
    AssignmentSettings,
    AssignmentStatus,
    AutoStatus,
    FeedbackStatus,
    GradingJob,
    JobKind,
    JobState,
    ManualStatus,
    Submission,
)
from ..store.submissions import SubmissionFilter
from .base import Page
from .routing import MAX_ID
from .schemas import FromRow, Strict

AssignmentName = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, strip_whitespace=True, pattern=r"^[^/\\]+$"),
]


class AssignmentOut(FromRow):
    """An assignment."""

    id: int
    lecture_id: int
    name: str
    status: AssignmentStatus
    points: float
    settings: AssignmentSettings
    deleted: bool
    created_at: datetime
    updated_at: datetime


class AssignmentCreate(Strict):
    """A new assignment (status ``created`` unless ``pushed`` is given)."""

    name: AssignmentName
    status: AssignmentStatus = AssignmentStatus.CREATED
    settings: AssignmentSettings = Field(default_factory=AssignmentSettings)


class AssignmentUpdate(Strict):
    """Fields to change; ``settings`` replaces the settings as a whole."""

    name: AssignmentName | None = None
    status: AssignmentStatus | None = None
    settings: AssignmentSettings | None = None

    @model_validator(mode="after")
    def _something(self) -> AssignmentUpdate:
        if self.name is None and self.status is None and self.settings is None:
            raise ValueError("give at least one of 'name', 'status' or 'settings'")
        return self


class AssignmentListQuery(Page, Strict):
    """Filters of the assignment list."""

    status: AssignmentStatus | None = Field(default=None, description="Only this status.")


class RegradeResult(BaseModel):
    """What a regrade of all submissions queued."""

    queued: int = Field(description="Autograde jobs queued now.")
    already_queued: int = Field(description="Submissions whose autograde was already queued.")


class OutputFormat(enum.StrEnum):
    """Response format of list routes that can export."""

    JSON = "json"
    CSV = "csv"


class SubmissionListQuery(Page, Strict):
    """Filters of an assignment's submission list."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    filter: SubmissionFilter = Field(
        default=SubmissionFilter.NONE, description="All, or each student's latest or best."
    )
    instructor_version: bool = Field(
        default=False,
        alias="instructor-version",
        description="Tutors and instructors: everyone's submissions instead of your own.",
    )
    format: OutputFormat = OutputFormat.JSON


CommitHash = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{40}([0-9a-f]{24})?$")]


class SubmissionCreate(Strict):
    """Submit the pushed commit ``commit_hash``; staff may submit for ``username``."""

    commit_hash: CommitHash = Field(description="The git commit (40 or 64 hex digits).")
    username: str | None = Field(
        default=None, min_length=1, description="Tutors and instructors: submit for this student."
    )


class SubmissionOut(BaseModel):
    """A submission. ``score`` and ``grading_score`` are null for students until their
    feedback is released."""

    id: int
    assignid: int = Field(description="The assignment id (Grader Service's name).")
    assignment_id: int
    user_id: int
    username: str
    user_display_name: str
    submitted_at: datetime
    commit_hash: str
    auto_status: AutoStatus
    manual_status: ManualStatus
    feedback_status: FeedbackStatus
    grading_score: float | None
    score_scaling: float
    score: float | None
    edited: bool
    deleted: bool
    queue_position: int | None = Field(
        default=None,
        description="Grading jobs ahead of this submission's queued job (single "
        "submission responses only; null when nothing is queued).",
    )
    estimated_wait_seconds: float | None = Field(
        default=None,
        description="Rough seconds until the queued job is graded, from recent job "
        "durations (null when unknown).",
    )

    @classmethod
    def of(cls, submission: Submission, *, show_score: bool = True) -> SubmissionOut:
        """The API view of a submission row (with its ``user`` loaded)."""
        return cls(
            id=submission.id,
            assignid=submission.assignment_id,
            assignment_id=submission.assignment_id,
            user_id=submission.user_id,
            username=submission.user.name,
            user_display_name=submission.user.display_name,
            submitted_at=submission.submitted_at,
            commit_hash=submission.commit_hash,
            auto_status=submission.auto_status,
            manual_status=submission.manual_status,
            feedback_status=submission.feedback_status,
            grading_score=submission.grading_score if show_score else None,
            score_scaling=submission.score_scaling,
            score=submission.score if show_score else None,
            edited=submission.edited,
            deleted=submission.deleted_at is not None,
        )


CSV_COLUMNS = [
    "id",
    "assignment_id",
    "username",
    "user_display_name",
    "submitted_at",
    "commit_hash",
    "auto_status",
    "manual_status",
    "feedback_status",
    "grading_score",
    "score_scaling",
    "score",
]


def submission_csv_row(out: SubmissionOut) -> list[Any]:
    """One CSV row of a submission, in ``CSV_COLUMNS`` order."""
    data = out.model_dump(mode="json")
    return [data[column] for column in CSV_COLUMNS]


class SubmissionCreated(SubmissionOut):
    """A new submission and, if it is autograded, its queued job."""

    job: JobOut | None = None


class SubmissionUpdate(Strict):
    """Staff changes to a submission's statuses or late-penalty factor."""

    auto_status: AutoStatus | None = None
    manual_status: ManualStatus | None = None
    feedback_status: FeedbackStatus | None = None
    score_scaling: float | None = Field(default=None, ge=0, le=1)
    edited: bool | None = None
    user_id: int | None = Field(
        default=None, ge=0, le=MAX_ID, description="Instructors: reassign to this user."
    )


class SubmissionCount(BaseModel):
    """How many submissions the caller made and may still make."""

    submission_count: int
    allowed: int | None = Field(description="Total allowed (with extensions); null = unlimited.")
    remaining: int | None


class DeleteSubmissionQuery(Strict):
    """Soft delete by default; ``hard_delete=true`` (admins) removes the row."""

    hard_delete: bool = False


class JobOut(BaseModel):
    """A grading job."""

    id: int
    submission_id: int
    kind: JobKind
    state: JobState
    priority: int
    attempts: int
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_position: int | None = Field(default=None, description="Jobs ahead of this one.")
    error: str | None

    @classmethod
    def of(cls, job: GradingJob, position: int | None = None) -> JobOut:
        """The API view of a job row."""
        return cls(
            id=job.id,
            submission_id=job.submission_id,
            kind=job.kind,
            state=job.state,
            priority=job.priority,
            attempts=job.attempts,
            queued_at=job.queued_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            queue_position=position,
            error=job.error,
        )


SubmissionCreated.model_rebuild()


class GradeSheetQuery(Strict):
    """Which submission counts per student and assignment, and the format."""

    filter: SubmissionFilter = Field(
        default=SubmissionFilter.BEST, description="latest or best (none is treated as best)."
    )
    format: OutputFormat = OutputFormat.JSON


class GradeSheetRow(BaseModel):
    """One student's scores: assignment name -> score (null = no submission)."""

    user_id: int
    username: str
    display_name: str
    scores: dict[str, float | None]


class UserSubmissionsQuery(Page, Strict):
    """Format of a user's submissions across lectures."""

    format: OutputFormat = OutputFormat.JSON


class UserSubmissionOut(SubmissionOut):
    """A submission with the lecture and assignment it belongs to."""

    lecture_id: int
    lecture_code: str
    assignment_name: str
