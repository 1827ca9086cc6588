"""Grade exports as CSV text: pure functions of the service's JSON (no tornado, no I/O
but the returned text), so they are tested without a server."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

SUBMISSION_COLUMNS = [
    "username",
    "display_name",
    "submission_id",
    "submitted_at",
    "auto_status",
    "manual_status",
    "feedback_status",
    "grading_score",
    "score_scaling",
    "score",
    "max_points",
]


# a text cell starting with one of these is a formula to spreadsheet programs
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    """A CSV cell: empty for unknown values (e.g. a score not graded yet); text that a
    spreadsheet would run as a formula (a display name "=HYPERLINK(...)") gets a leading
    apostrophe, so opening the sheet runs nothing."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _csv(header: list[str], rows: Iterable[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([_cell(v) for v in header])
    writer.writerows([[_cell(v) for v in row] for row in rows])
    return out.getvalue()


def submissions_csv(submissions: Iterable[Mapping[str, Any]], max_points: float) -> str:
    """One row per submission (``SubmissionOut`` JSON), in ``SUBMISSION_COLUMNS`` order,
    sorted by username then submission time so that sheets diff well."""
    ordered = sorted(submissions, key=lambda s: (str(s["username"]), str(s["submitted_at"])))
    return _csv(
        SUBMISSION_COLUMNS,
        (
            [
                s["username"],
                s.get("user_display_name", ""),
                s["id"],
                s["submitted_at"],
                s["auto_status"],
                s["manual_status"],
                s["feedback_status"],
                s.get("grading_score"),
                s.get("score_scaling"),
                s.get("score"),
                max_points,
            ]
            for s in ordered
        ),
    )


def grade_sheet_csv(rows: Iterable[Mapping[str, Any]]) -> str:
    """The lecture's grade sheet (``GradeSheetRow`` JSON): one row per student, one column
    per assignment (empty: no submission), in the service's assignment order."""
    rows = list(rows)
    assignments: list[str] = []
    for row in rows:  # every row names every assignment; union in case one does not
        assignments += [name for name in row["scores"] if name not in assignments]
    return _csv(
        ["username", "display_name", *assignments],
        (
            [
                row["username"],
                row.get("display_name", ""),
                *(row["scores"].get(a) for a in assignments),
            ]
            for row in rows
        ),
    )


def export_filename(name: str, which: str, now: datetime) -> str:
    """``{name}_{which}_{YYYYmmdd-HHMMSS}.csv`` with ``name`` made safe for any file system."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "export"
    return f"{safe}_{which}_{now.strftime('%Y%m%d-%H%M%S')}.csv"
