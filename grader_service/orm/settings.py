"""Assignment settings: the validated JSON document stored on each assignment.

Field names follow Grader Service 0.12 (``deadline``, ``late_submission``,
``max_submissions``, ``allowed_files``, ``autograde_type``, ``cell_timeout``, ``group``)
so exported settings keep working for its users.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    field_validator,
    model_validator,
)


class AutogradeType(enum.StrEnum):
    """When autograding happens after a submission."""

    UNASSISTED = "unassisted"
    """Nothing is graded automatically; tutors start grading by hand."""
    AUTO = "auto"
    """Every submission is autograded; feedback is released by a tutor."""
    FULL_AUTO = "full_auto"
    """Every submission is autograded and feedback is generated right away."""


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("must include a time zone, e.g. 2026-12-01T23:59:00+01:00 or ...Z")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_aware_utc)]

ISODuration = Annotated[
    timedelta,
    PlainSerializer(lambda d: _iso_duration(d), return_type=str, when_used="json-unless-none"),
]


def _iso_duration(delta: timedelta) -> str:
    """Render a non-negative timedelta as an ISO-8601 duration such as ``P1DT2H``."""
    seconds = int(delta.total_seconds())
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n)
    text = "P" + (f"{days}D" if days else "") + (f"T{time}" if time else "")
    return text if text != "P" else "PT0S"


class SubmissionPeriod(BaseModel):
    """A late-submission period: submissions up to ``period`` after the deadline score
    ``scaling`` times their points."""

    model_config = ConfigDict(extra="forbid")

    period: ISODuration = Field(
        description="ISO-8601 duration measured from the deadline, e.g. 'P1D' or 'P1W'."
    )
    scaling: float = Field(gt=0, lt=1, description="Factor applied to the score, 0 < s < 1.")

    @field_validator("period")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise ValueError("must be a positive duration such as 'P1D'")
        return value


class Extension(BaseModel):
    """A per-student exception: a later deadline and/or extra submissions."""

    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=255, description="The student it applies to.")
    deadline: AwareDatetime | None = Field(
        default=None,
        description="The student's own deadline; late periods count from it. null = the "
        "assignment's deadline.",
    )
    extra_submissions: int = Field(
        default=0, ge=0, description="Submissions allowed on top of max_submissions."
    )


class FeedbackTiming(enum.StrEnum):
    """When students may open their feedback."""

    IMMEDIATELY = "immediately"
    AFTER_DEADLINE = "after_deadline"


class FeedbackVisibility(BaseModel):
    """What feedback shows students. Hidden tests are never shown, whatever this says."""

    model_config = ConfigDict(extra="forbid")

    show_test_code: bool = Field(default=True, description="Show the source of visible tests.")
    show_test_output: bool = Field(
        default=True, description="Show the output (e.g. tracebacks) of visible tests."
    )
    when: FeedbackTiming = Field(
        default=FeedbackTiming.IMMEDIATELY,
        description="Release feedback right away, or only once the deadline has passed.",
    )


class AssignmentSettings(BaseModel):
    """Per-assignment settings, validated whenever they are written."""

    model_config = ConfigDict(extra="forbid")

    deadline: AwareDatetime | None = Field(
        default=None, description="Submission deadline (ISO-8601 with time zone)."
    )
    late_submission: list[SubmissionPeriod] = Field(
        default_factory=list,
        description="Late periods after the deadline, with strictly increasing durations "
        "and strictly decreasing scaling.",
    )
    max_submissions: int | None = Field(
        default=None,
        ge=1,
        description="Maximum number of submissions per student; null = no limit.",
    )
    allowed_files: list[str] = Field(
        default_factory=list,
        description="Glob patterns of extra files students may submit besides the notebooks.",
    )
    autograde_type: AutogradeType = Field(
        default=AutogradeType.AUTO, description="When autograding and feedback happen."
    )
    cell_timeout: int | None = Field(
        default=None, ge=1, description="Per-cell execution timeout in seconds; null = default."
    )
    group: str | None = Field(
        default=None, max_length=255, description="A label that groups assignments in the UI."
    )
    release_at: AwareDatetime | None = Field(
        default=None, description="When the assignment is released automatically; null = by hand."
    )
    extensions: list[Extension] = Field(
        default_factory=list, description="Per-student deadlines and extra submissions."
    )
    image: str | None = Field(
        default=None,
        max_length=512,
        description="Container image that grades this assignment (container executors); "
        "must match the admin's allow-list. null = the lecture's default.",
    )
    max_file_size_mb: float | None = Field(
        default=None,
        gt=0,
        description="Largest file (MiB) students may push; at most the service's limit.",
    )
    max_file_count: int | None = Field(
        default=None, ge=1, description="Most files a submission may contain."
    )
    feedback_visibility: FeedbackVisibility = Field(
        default_factory=FeedbackVisibility, description="What feedback shows, and when."
    )

    @model_validator(mode="after")
    def _late_periods_are_ordered(self) -> AssignmentSettings:
        periods = self.late_submission
        if periods and self.deadline is None:
            raise ValueError("late_submission periods need a deadline")
        for earlier, later in pairwise(periods):
            if later.period <= earlier.period:
                raise ValueError("late_submission periods must have strictly increasing durations")
            if later.scaling >= earlier.scaling:
                raise ValueError("late_submission scaling must strictly decrease")
        names = [e.username for e in self.extensions]
        if len(names) != len(set(names)):
            raise ValueError("extensions name a student more than once")
        return self

    def extension_for(self, username: str) -> Extension | None:
        """The extension granted to ``username``, if any."""
        return next((e for e in self.extensions if e.username == username), None)

    def to_json(self) -> dict[str, Any]:
        """The JSON document stored in the database and sent to clients."""
        return self.model_dump(mode="json")
