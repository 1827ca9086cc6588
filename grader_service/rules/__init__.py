"""Grading rules as pure functions: deadlines and late penalties, submission limits,
assignment status transitions and scores. No database, no HTTP: easy to test, and the
single place where these rules are written down."""

from .deadlines import effective_deadline, score_scaling, submission_allowance
from .scores import gradebook_score, scaled_score
from .transitions import check_status_transition

__all__ = [
    "check_status_transition",
    "effective_deadline",
    "gradebook_score",
    "scaled_score",
    "score_scaling",
    "submission_allowance",
]
