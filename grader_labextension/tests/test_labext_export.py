"""Grade exports: the CSV builders alone, and files written from a real service's scores."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any

from grader_fixtures import (
    LECTURE_CODE,
    LECTURE_ID,
    GraderService,
    LabClient,
    as_instructor,
    needs_grading,
    submit_as_student,
    wait_for_submission,
)

from grader_labextension.exports import (
    SUBMISSION_COLUMNS,
    export_filename,
    grade_sheet_csv,
    submissions_csv,
)

__all__ = ["as_instructor"]  # the extension runs as the instructor here (a fixture)


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_submissions_csv_orders_rows_and_leaves_unknown_scores_empty() -> None:
    def sub(i: int, user: str, at: str, score: float | None) -> dict[str, Any]:
        return {
            "id": i, "username": user, "user_display_name": user.title(), "submitted_at": at,
            "auto_status": "automatically_graded", "manual_status": "not_graded",
            "feedback_status": "not_generated", "grading_score": score,
            "score_scaling": 1.0, "score": score,
        }  # fmt: skip

    text = submissions_csv(
        [sub(3, "zoe", "2026-01-02", None), sub(1, "ann, jr", "2026-01-03", 2.5)], 4
    )
    rows = read_csv(text)
    assert list(rows[0]) == SUBMISSION_COLUMNS
    assert [r["username"] for r in rows] == ["ann, jr", "zoe"]  # quoted, not split
    assert rows[0]["score"] == "2.5" and rows[0]["max_points"] == "4"
    assert rows[1]["score"] == "" and rows[1]["grading_score"] == ""


def test_csv_cells_never_become_spreadsheet_formulas() -> None:
    text = grade_sheet_csv(
        [{"username": "mallory", "display_name": '=HYPERLINK("http://x")', "scores": {"@a": 1}}]
    )
    rows = read_csv(text)
    assert rows[0]["display_name"] == '\'=HYPERLINK("http://x")'
    assert list(rows[0]) == ["username", "display_name", "'@a"] and rows[0]["'@a"] == "1"


def test_grade_sheet_csv_has_a_column_per_assignment() -> None:
    text = grade_sheet_csv(
        [
            {"username": "ann", "display_name": "Ann", "scores": {"hw1": 1.0, "hw2": None}},
            {"username": "bob", "display_name": "Bob", "scores": {"hw1": 0.5, "hw2": 2.0}},
        ]
    )
    assert text.splitlines() == [
        "username,display_name,hw1,hw2",
        "ann,Ann,1.0,",
        "bob,Bob,0.5,2.0",
    ]


def test_export_filename_is_safe() -> None:
    name = export_filename("../Week 1: loops", "best", datetime(2026, 3, 4, 5, 6, 7))
    assert name == "Week_1_loops_best_20260304-050607.csv"


@needs_grading
async def test_exports_carry_the_services_scores(
    lab: LabClient, release: Any, grader_service: GraderService, tmp_path: Path
) -> None:
    assignment = release()
    work = tmp_path / "student"
    right = submit_as_student(grader_service, assignment, work, "def answer():\n    return 42\n")
    wrong = submit_as_student(grader_service, assignment, work, "def answer():\n    return 41\n")
    for s in (right, wrong):
        wait_for_submission(
            grader_service, assignment, s["id"], lambda s: s["auto_status"] != "pending"
        )
    api = f"lectures/{LECTURE_ID}/assignments/{assignment['id']}"
    status, service_rows = grader_service.api(
        "GET", f"{api}/submissions?instructor-version=true", "instructor"
    )
    assert status == 200
    by_id = {s["id"]: s for s in service_rows}
    assert by_id[right["id"]]["score"] == 1 and by_id[wrong["id"]]["score"] == 0, by_id

    exports = {}
    for which in ("all", "best", "latest"):
        status, export = await lab.post(f"{api}/export", {"filter": which})
        assert status == 200, export
        path = Path(export["path"])
        assert path.parent.parts[-2:] == (LECTURE_CODE, "exports")
        assert path.name.startswith(f"{assignment['name']}_{which}_")
        exports[which] = read_csv(path.read_text())
        assert export["rows"] == len(exports[which])
    assert {int(r["submission_id"]) for r in exports["all"]} == {right["id"], wrong["id"]}
    for row in exports["all"]:
        service = by_id[int(row["submission_id"])]
        assert float(row["score"]) == service["score"]
        assert row["auto_status"] == service["auto_status"] and row["username"] == "student"
        assert float(row["max_points"]) == 1
    assert [int(r["submission_id"]) for r in exports["best"]] == [right["id"]]
    assert [int(r["submission_id"]) for r in exports["latest"]] == [wrong["id"]]

    status, error = await lab.post(f"{api}/export", {"filter": "worst"})
    assert status == 400 and "latest" in error["message"], error

    status, sheet = await lab.post(f"lectures/{LECTURE_ID}/export", {"filter": "best"})
    assert status == 200, sheet
    rows = read_csv(Path(sheet["path"]).read_text())
    student = next(r for r in rows if r["username"] == "student")
    assert float(student[assignment["name"]]) == 1.0
    status, sheet = await lab.post(f"lectures/{LECTURE_ID}/export", {"filter": "latest"})
    student = next(
        r for r in read_csv(Path(sheet["path"]).read_text()) if r["username"] == "student"
    )
    assert float(student[assignment["name"]]) == 0.0
