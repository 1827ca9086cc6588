"""Grades: the lecture's grade sheet and a user's submissions across lectures."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..errors import NotFound
from ..orm import Assignment, Lecture, LectureRole, Role, Submission, User, utcnow
from ..store.submissions import SubmissionFilter, filtered_submissions, score_visible_to_student
from .assignment_models import (
    CSV_COLUMNS,
    GradeSheetQuery,
    GradeSheetRow,
    OutputFormat,
    SubmissionOut,
    UserSubmissionOut,
    UserSubmissionsQuery,
    submission_csv_row,
)
from .base import BaseHandler, admin_or_self
from .routing import Route, authorize, document

STAFF = (LectureRole.TUTOR, LectureRole.INSTRUCTOR)


class LectureGradesHandler(BaseHandler):
    """``{base}api/lectures/{lecture_id}/submissions``: the grade sheet."""

    @document(
        "Grade sheet: every student x every assignment, the latest or best score",
        query=GradeSheetQuery,
        response=list[GradeSheetRow],
        errors=[400, 403, 404],
        tags=["grades"],
        csv=True,
    )
    @authorize(*STAFF)
    async def get(self, lecture_id: int) -> None:
        query = self.parse_query(GradeSheetQuery)
        which = (
            SubmissionFilter.LATEST
            if query.filter == SubmissionFilter.LATEST
            else SubmissionFilter.BEST
        )
        assignments = (
            await self.db.scalars(
                select(Assignment)
                .where(Assignment.lecture_id == lecture_id, Assignment.deleted_at.is_(None))
                .order_by(Assignment.id)
            )
        ).all()
        students = (
            await self.db.scalars(
                select(User)
                .join(Role)
                .where(Role.lecture_id == lecture_id, Role.role == LectureRole.STUDENT)
                .order_by(User.name)
            )
        ).all()
        scores: dict[tuple[int, int], float | None] = {}
        for assignment in assignments:
            chosen = (
                await self.db.execute(
                    filtered_submissions(assignment.id, which).with_only_columns(
                        Submission.user_id, Submission.score
                    )
                )
            ).all()
            for user_id, score in chosen:
                scores[(user_id, assignment.id)] = score
        rows = [
            GradeSheetRow(
                user_id=student.id,
                username=student.name,
                display_name=student.display_name,
                scores={a.name: scores.get((student.id, a.id)) for a in assignments},
            )
            for student in students
        ]
        if query.format == OutputFormat.CSV:
            header = ["username", "display_name", *(a.name for a in assignments)]
            self.write_csv(
                header,
                [
                    [
                        r.username,
                        r.display_name,
                        *("" if v is None else v for v in r.scores.values()),
                    ]
                    for r in rows
                ],
                "grades.csv",
            )
        else:
            self.write_json(rows)


class UserSubmissionsHandler(BaseHandler):
    """``{base}api/users/{username}/submissions``."""

    @document(
        "All of a user's submissions across lectures (the user themself, or admins)",
        query=UserSubmissionsQuery,
        response=list[UserSubmissionOut],
        errors=[400, 403, 404],
        tags=["grades"],
        paginated=True,
        csv=True,
    )
    @authorize()
    async def get(self, username: str) -> None:
        admin_or_self(self, username)
        query = self.parse_query(UserSubmissionsQuery)
        user = await self.db.scalar(select(User).where(User.name == username))
        if user is None:
            raise NotFound(f"User {username!r} does not exist.")
        stmt = (
            select(Submission)
            .join(Assignment)
            .join(Lecture)
            .where(
                Submission.user_id == user.id,
                Submission.deleted_at.is_(None),
                Assignment.deleted_at.is_(None),
                Lecture.deleted_at.is_(None),
            )
            .options(
                selectinload(Submission.user),
                selectinload(Submission.assignment).selectinload(Assignment.lecture),
            )
            .order_by(Submission.submitted_at.desc(), Submission.id.desc())
        )
        submissions = await self.paginate(stmt, query)
        now = utcnow()
        views = []
        for s in submissions:
            show = self.is_admin or score_visible_to_student(s, s.assignment, username, now)
            base = SubmissionOut.of(s, show_score=show).model_dump()
            views.append(
                UserSubmissionOut(
                    **base,
                    lecture_id=s.assignment.lecture_id,
                    lecture_code=s.assignment.lecture.code,
                    assignment_name=s.assignment.name,
                )
            )
        if query.format == OutputFormat.CSV:
            self.write_csv(
                ["lecture_code", "assignment_name", *CSV_COLUMNS],
                [[v.lecture_code, v.assignment_name, *submission_csv_row(v)] for v in views],
                f"{username}-submissions.csv",
            )
        else:
            self.write_json(views)


default_handlers = [
    Route("api/lectures/{lecture_id}/submissions", LectureGradesHandler),
    Route("api/users/{username}/submissions", UserSubmissionsHandler),
]
