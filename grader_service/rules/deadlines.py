"""Deadlines, per-student extensions and late-submission scaling."""

from __future__ import annotations

from datetime import datetime

from ..orm.settings import AssignmentSettings


def effective_deadline(settings: AssignmentSettings, username: str) -> datetime | None:
    """The deadline that applies to ``username``: their extension's, else the assignment's."""
    extension = settings.extension_for(username)
    if extension is not None and extension.deadline is not None:
        return extension.deadline
    return settings.deadline


def score_scaling(
    settings: AssignmentSettings, username: str, submitted_at: datetime
) -> float | None:
    """The factor applied to a submission's score, or ``None`` when it is too late.

    On or before the (effective) deadline: 1.0. Within a late period (measured from the
    effective deadline; a submission exactly at a period's end is still inside it): that
    period's scaling. After the last period, or after the deadline without periods:
    ``None``.
    """
    deadline = effective_deadline(settings, username)
    if deadline is None or submitted_at <= deadline:
        return 1.0
    for period in settings.late_submission:
        if submitted_at <= deadline + period.period:
            return period.scaling
    return None


def submission_allowance(settings: AssignmentSettings, username: str) -> int | None:
    """How many submissions ``username`` may make in total; ``None`` means no limit."""
    if settings.max_submissions is None:
        return None
    extension = settings.extension_for(username)
    return settings.max_submissions + (extension.extra_submissions if extension else 0)


def submission_window_closed(settings: AssignmentSettings, username: str, now: datetime) -> bool:
    """Whether ``username`` can no longer submit (past the deadline and every late period)."""
    return score_scaling(settings, username, now) is None
