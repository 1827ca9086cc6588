"""Grade exports into ``{lectures_dir}/{code}/exports/``: an assignment's submissions or
the lecture's grade sheet as CSV, written where the instructor's JupyterLab opens them."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any

import tornado.web

from ..exports import export_filename, grade_sheet_csv, submissions_csv
from .assignments import AssignmentHandler
from .base import GraderHTTPError, translate_errors

PAGE = 1000  # the service's largest page


class ExportHandler(AssignmentHandler):
    """Shared: the filter argument and writing the file."""

    def which(self, allowed: tuple[str, ...]) -> str:
        """The ``filter`` of the body, one of ``allowed`` (default the first)."""
        which = self.json_body().get("filter", allowed[0])
        if which not in allowed:
            raise GraderHTTPError(
                400, "Bad Request", f"'filter' must be one of {', '.join(allowed)}."
            )
        return str(which)

    async def write_export(self, code: str, name: str, which: str, text: str, rows: int) -> None:
        """Write ``text`` to a new file in the lecture's exports folder; answer its path."""
        folder = self.lectures_dir / code / "exports"
        path = folder / export_filename(name, which, datetime.now())

        def write() -> None:
            folder.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")

        await asyncio.to_thread(write)
        self.write_json({"path": str(path), "lab_path": self.lab_path(Path(path)), "rows": rows})


class AssignmentExportHandler(ExportHandler):
    """``POST .../assignments/{a}/export`` ``{"filter": "latest"|"best"|"all"}``."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str, assignment_id: str) -> None:
        which = self.which(("latest", "best", "all"))
        base = f"api/lectures/{lecture_id}/assignments/{assignment_id}"
        assignment = await self.service.json("GET", base)
        code = await self.lecture_code(lecture_id)
        submissions: list[dict[str, Any]] = []
        while True:  # every page: a large course has more than one
            page = await self.service.json(
                "GET",
                f"{base}/submissions",
                query={
                    "instructor-version": "true",
                    "filter": "none" if which == "all" else which,
                    "limit": PAGE,
                    "offset": len(submissions),
                },
            )
            submissions += page
            if len(page) < PAGE:
                break
        text = submissions_csv(submissions, float(assignment.get("points") or 0))
        await self.write_export(code, str(assignment["name"]), which, text, len(submissions))


class LectureExportHandler(ExportHandler):
    """``POST .../lectures/{l}/export`` ``{"filter": "latest"|"best"}``: the grade sheet."""

    @tornado.web.authenticated
    @translate_errors
    async def post(self, lecture_id: str) -> None:
        which = self.which(("best", "latest"))
        lecture = await self.service.json("GET", f"api/lectures/{lecture_id}")
        rows = await self.service.json(
            "GET", f"api/lectures/{lecture_id}/submissions", query={"filter": which}
        )
        code = str(lecture["code"])
        await self.write_export(code, f"{code}_grades", which, grade_sheet_csv(rows), len(rows))


default_handlers = [
    (r"lectures/(\d+)/assignments/(\d+)/export", AssignmentExportHandler),
    (r"lectures/(\d+)/export", LectureExportHandler),
]
