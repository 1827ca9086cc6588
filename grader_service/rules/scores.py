"""Scores: from a gradebook to a submission's points, and the late-penalty scaling."""

from __future__ import annotations

from typing import Any

from ..convert.gradebook import GradeBookModel


def gradebook_score(gradebook: dict[str, Any]) -> float:
    """Total points in a gradebook: per cell the manual score if set, else the automatic
    one, plus extra credit (the converter's rule, so both sides agree)."""
    return float(GradeBookModel.from_dict(gradebook).score)


def gradebook_max_score(gradebook: dict[str, Any]) -> float:
    """The points an assignment is worth according to its gradebook."""
    return float(GradeBookModel.from_dict(gradebook).max_score)


def scaled_score(grading_score: float, scaling: float) -> float:
    """The score that counts: the grading score times the late-penalty factor."""
    return round(grading_score * scaling, 6)
