"""Assignments of a lecture: list, create, update with validated transitions, delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, exists, select

from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..orm import Assignment, AssignmentSettings, AssignmentStatus, LectureRole, Submission, utcnow
from ..orm.settings import AutogradeType
from ..rules import check_status_transition
from ..store.gradebooks import assignment_gradebook
from ..store.submissions import recompute_scores, regrade_assignment
from .assignment_models import (
    AssignmentCreate,
    AssignmentListQuery,
    AssignmentOut,
    AssignmentUpdate,
    RegradeResult,
)
from .base import BaseHandler
from .routing import Route, authorize, document
from .schemas import DeleteQuery

STAFF = (LectureRole.TUTOR, LectureRole.INSTRUCTOR)
HIDDEN_FROM_STUDENTS = (AssignmentStatus.CREATED, AssignmentStatus.PUSHED)


class AssignmentBaseHandler(BaseHandler):
    """Loads assignments with the visibility rules of the caller's role."""

    @property
    def is_staff(self) -> bool:
        """Tutors, instructors and admins."""
        return self.is_admin or self.lecture_role in STAFF

    async def load_assignment(self, lecture_id: int, assignment_id: int) -> Assignment:
        """The assignment, or 404 if it is not in the lecture or hidden from the caller."""
        assignment = await self.db.get(Assignment, assignment_id)
        if (
            assignment is None
            or assignment.lecture_id != lecture_id
            or (assignment.deleted_at is not None and not self.is_admin)
            or (not self.is_staff and assignment.status in HIDDEN_FROM_STUDENTS)
        ):
            raise NotFound(f"Assignment {assignment_id} does not exist in lecture {lecture_id}.")
        return assignment

    def checked_settings(self, settings: AssignmentSettings) -> AssignmentSettings:
        """Apply the service's limits: clamp the cell timeout, check the image."""
        app = self.grader_app
        if settings.cell_timeout is not None:
            settings = settings.model_copy(
                update={"cell_timeout": app.cell_timeout_policy.clamp(settings.cell_timeout)}
            )
        if settings.image is not None:
            try:
                app.image_policy.check(settings.image)
            except ValueError as e:
                raise BadRequest(f"body.settings.image: {e}") from None
        return settings

    @staticmethod
    def check_full_auto(settings: AssignmentSettings, properties: dict[str, Any] | None) -> None:
        """``full_auto`` releases feedback unseen: it cannot have manually graded cells."""
        if settings.autograde_type != AutogradeType.FULL_AUTO or not properties:
            return
        for notebook in properties.get("notebooks", {}).values():
            manual = set(notebook.get("task_cells_dict", {})) | (
                set(notebook.get("grade_cells_dict", {}))
                & set(notebook.get("solution_cells_dict", {}))
            )
            if manual:
                raise Conflict(
                    "full_auto grading is not possible: the assignment has manually graded "
                    f"cells ({', '.join(sorted(manual))}). Use 'auto' instead."
                )

    async def name_taken(self, lecture_id: int, name: str, exclude_id: int | None = None) -> bool:
        """Whether a live assignment of the lecture already has ``name``."""
        conditions = [
            Assignment.lecture_id == lecture_id,
            Assignment.name == name,
            Assignment.deleted_at.is_(None),
        ]
        if exclude_id is not None:
            conditions.append(Assignment.id != exclude_id)
        return bool(await self.db.scalar(select(exists().where(*conditions))))


class AssignmentListHandler(AssignmentBaseHandler):
    """``{base}api/lectures/{lecture_id}/assignments``."""

    @document(
        "Assignments of a lecture (students see released and complete ones)",
        query=AssignmentListQuery,
        response=list[AssignmentOut],
        errors=[400, 403, 404],
        tags=["assignments"],
        paginated=True,
    )
    @authorize()
    async def get(self, lecture_id: int) -> None:
        query = self.parse_query(AssignmentListQuery)
        stmt = (
            select(Assignment)
            .where(Assignment.lecture_id == lecture_id, Assignment.deleted_at.is_(None))
            .order_by(Assignment.id)
        )
        if not self.is_staff:
            stmt = stmt.where(Assignment.status.not_in(HIDDEN_FROM_STUDENTS))
        if query.status is not None:
            stmt = stmt.where(Assignment.status == query.status)
        assignments = await self.paginate(stmt, query)
        self.write_json([AssignmentOut.of(a) for a in assignments])

    @document(
        "Create an assignment",
        body=AssignmentCreate,
        response=AssignmentOut,
        status=201,
        errors=[400, 403, 404, 409],
        tags=["assignments"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def post(self, lecture_id: int) -> None:
        body = self.parse_body(AssignmentCreate)
        if body.status not in HIDDEN_FROM_STUDENTS:
            raise Conflict(
                "A new assignment starts as 'created' or 'pushed'; release it once its "
                "files are pushed."
            )
        if await self.name_taken(lecture_id, body.name):
            raise Conflict(f"The lecture already has an assignment named {body.name!r}.")
        assignment = Assignment(
            lecture_id=lecture_id,
            name=body.name,
            status=body.status,
            settings=self.checked_settings(body.settings),
        )
        self.db.add(assignment)
        await self.db.commit()
        self.write_json(AssignmentOut.of(assignment), status=201)


class AssignmentHandler(AssignmentBaseHandler):
    """``{base}api/lectures/{lecture_id}/assignments/{assignment_id}``."""

    @document("One assignment", response=AssignmentOut, errors=[403, 404], tags=["assignments"])
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int) -> None:
        self.write_json(AssignmentOut.of(await self.load_assignment(lecture_id, assignment_id)))

    @document(
        "Change an assignment's name, status (validated lifecycle) or settings; changing "
        "deadline, late periods or extensions recomputes the scores of its submissions",
        body=AssignmentUpdate,
        response=AssignmentOut,
        errors=[400, 403, 404, 409],
        tags=["assignments"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def put(self, lecture_id: int, assignment_id: int) -> None:
        body = self.parse_body(AssignmentUpdate)
        assignment = await self.load_assignment(lecture_id, assignment_id)
        if body.name is not None and body.name != assignment.name:
            if await self.name_taken(lecture_id, body.name, exclude_id=assignment.id):
                raise Conflict(f"The lecture already has an assignment named {body.name!r}.")
            assignment.name = body.name
        if body.status is not None:
            check_status_transition(assignment.status, body.status)
            assignment.status = body.status
        if body.settings is not None:
            settings = self.checked_settings(body.settings)
            self.check_full_auto(settings, await assignment_gradebook(self.db, assignment.id))
            old = assignment.settings
            assignment.settings = settings
            if (old.deadline, old.late_submission, old.extensions) != (
                settings.deadline,
                settings.late_submission,
                settings.extensions,
            ):
                changed = await recompute_scores(self.db, assignment)
                self.log.info(
                    "Deadline rules of assignment %d changed: %d submissions rescored",
                    assignment.id,
                    changed,
                )
        assignment.updated_at = utcnow()
        await self.db.commit()
        self.write_json(AssignmentOut.of(assignment))

    @document(
        "Delete an assignment: soft (restorable) unless hard_delete=true (admins). "
        "Refused while it has submissions or is released",
        query=DeleteQuery,
        status=204,
        errors=[403, 404, 409],
        tags=["assignments"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def delete(self, lecture_id: int, assignment_id: int) -> None:
        query = self.parse_query(DeleteQuery)
        assignment = await self.load_assignment(lecture_id, assignment_id)
        if query.hard_delete and not self.is_admin:
            raise Forbidden("Only admins may hard-delete an assignment.")
        has_submissions = await self.db.scalar(
            select(exists().where(Submission.assignment_id == assignment.id))
        )
        if has_submissions and not query.hard_delete:
            raise Conflict("The assignment has submissions; mark it complete instead.")
        if (
            assignment.status in (AssignmentStatus.RELEASED, AssignmentStatus.COMPLETE)
            and not query.hard_delete
        ):
            raise Conflict(
                f"The assignment is {assignment.status.value}; students may have fetched it. "
                "Mark it complete instead."
            )
        if query.hard_delete:
            await self.db.execute(delete(Assignment).where(Assignment.id == assignment.id))
        else:
            assignment.deleted_at = utcnow()
        await self.db.commit()
        self.set_status(204)
        self.finish()


class AssignmentPropertiesHandler(AssignmentBaseHandler):
    """``{base}api/lectures/{lecture_id}/assignments/{assignment_id}/properties``."""

    @document(
        "The assignment's gradebook (students never receive cell sources, so hidden tests "
        "stay hidden); 404 before the assignment was released by the service",
        response=dict[str, Any],
        errors=[403, 404],
        tags=["assignments"],
    )
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int) -> None:
        assignment = await self.load_assignment(lecture_id, assignment_id)
        gradebook = await assignment_gradebook(self.db, assignment.id)
        if gradebook is None:
            raise NotFound("The assignment has no gradebook yet; it is created by its release.")
        self.write_json(gradebook if self.is_staff else strip_sources(gradebook))


def strip_sources(gradebook: dict[str, Any]) -> dict[str, Any]:
    """A copy of a gradebook without cell sources (where hidden tests live)."""
    notebooks = {
        nb_id: {**notebook, "source_cells_dict": {}}
        for nb_id, notebook in gradebook.get("notebooks", {}).items()
    }
    return {**gradebook, "notebooks": notebooks}


class AssignmentRegradeHandler(AssignmentBaseHandler):
    """``{base}api/lectures/{lecture_id}/assignments/{assignment_id}/regrade``."""

    @document(
        "Queue an autograde of every live submission (runs after interactive work)",
        response=RegradeResult,
        status=202,
        errors=[403, 404],
        tags=["grading"],
    )
    @authorize(*STAFF)
    async def post(self, lecture_id: int, assignment_id: int) -> None:
        assignment = await self.load_assignment(lecture_id, assignment_id)
        queued, already = await regrade_assignment(self.db, assignment)
        await self.db.commit()
        self.notify_grading()
        self.write_json(RegradeResult(queued=queued, already_queued=already), status=202)


default_handlers = [
    Route("api/lectures/{lecture_id}/assignments", AssignmentListHandler),
    Route("api/lectures/{lecture_id}/assignments/{assignment_id}", AssignmentHandler),
    Route(
        "api/lectures/{lecture_id}/assignments/{assignment_id}/properties",
        AssignmentPropertiesHandler,
    ),
    Route(
        "api/lectures/{lecture_id}/assignments/{assignment_id}/regrade", AssignmentRegradeHandler
    ),
]
