"""SQLAlchemy models of grader-service and the database session factory."""

from .api_token import ApiToken, hash_token, new_token
from .assignment import Assignment, AssignmentStatus
from .base import Base, utcnow
from .grading_job import ACTIVE_JOB_STATES, GradingJob, JobKind, JobState
from .lecture import Lecture
from .role import LectureRole, Role, RoleSource
from .settings import AssignmentSettings, AutogradeType, SubmissionPeriod
from .submission import (
    AutoStatus,
    FeedbackStatus,
    ManualStatus,
    Submission,
    SubmissionLogs,
    SubmissionProperties,
)
from .user import User

__all__ = [
    "ACTIVE_JOB_STATES",
    "ApiToken",
    "Assignment",
    "AssignmentSettings",
    "AssignmentStatus",
    "AutoStatus",
    "AutogradeType",
    "Base",
    "FeedbackStatus",
    "GradingJob",
    "JobKind",
    "JobState",
    "Lecture",
    "LectureRole",
    "ManualStatus",
    "Role",
    "RoleSource",
    "Submission",
    "SubmissionLogs",
    "SubmissionPeriod",
    "SubmissionProperties",
    "User",
    "hash_token",
    "new_token",
    "utcnow",
]
