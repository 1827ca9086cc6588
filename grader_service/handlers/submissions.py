"""Submissions of an assignment: create under the rules, list, read, update, delete,
logs, properties (the gradebook), and the grading actions (autograde, feedback)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import selectinload

from ..errors import BadRequest, Conflict, Forbidden, NotFound
from ..git.layout import RepoAddress, RepoType
from ..git.repos import is_commit_on_main
from ..orm import (
    Assignment,
    AutoStatus,
    FeedbackStatus,
    GradingJob,
    JobKind,
    JobState,
    LectureRole,
    ManualStatus,
    Role,
    Submission,
    SubmissionLogs,
    SubmissionProperties,
    User,
    utcnow,
)
from ..rules import effective_deadline, gradebook_score, scaled_score, submission_allowance
from ..store.grading import cancel_job
from ..store.jobs import enqueue_job, queue_position
from ..store.submissions import (
    STAFF_PLACEHOLDER_COMMIT,
    count_submissions,
    create_submission,
    filtered_submissions,
    mark_autograde_queued,
    score_visible_to_student,
    student_submission_lock,
)
from .assignment_models import (
    CSV_COLUMNS,
    DeleteSubmissionQuery,
    JobOut,
    OutputFormat,
    SubmissionCount,
    SubmissionCreate,
    SubmissionCreated,
    SubmissionListQuery,
    SubmissionOut,
    SubmissionUpdate,
    submission_csv_row,
)
from .assignments import STAFF, AssignmentBaseHandler, strip_sources
from .routing import Route, authorize, document


class SubmissionBaseHandler(AssignmentBaseHandler):
    """Loads submissions the caller may see (students: only their own)."""

    async def load_submission(
        self, lecture_id: int, assignment_id: int, submission_id: int
    ) -> tuple[Assignment, Submission]:
        """The assignment and submission, or 404 (also for other students' submissions)."""
        assert self.current_user is not None
        assignment = await self.load_assignment(lecture_id, assignment_id)
        submission = await self.db.scalar(
            select(Submission)
            .where(Submission.id == submission_id, Submission.assignment_id == assignment.id)
            .options(selectinload(Submission.user))
        )
        if (
            submission is None
            or (not self.is_staff and submission.user_id != self.current_user.id)
            or (submission.deleted_at is not None and not self.is_staff)
        ):
            raise NotFound(f"Submission {submission_id} does not exist.")
        return assignment, submission

    def view(self, assignment: Assignment, submission: Submission) -> SubmissionOut:
        """The submission as the caller may see it (students: no score before feedback)."""
        show = self.is_staff or score_visible_to_student(
            submission, assignment, submission.user.name, utcnow()
        )
        return SubmissionOut.of(submission, show_score=show)


class SubmissionListHandler(SubmissionBaseHandler):
    """``{base}api/lectures/{l}/assignments/{a}/submissions``."""

    @document(
        "Your submissions, or (tutors, instructors with instructor-version=true) everyone's; "
        "filter=latest|best keeps one per student, ties broken by time then id",
        query=SubmissionListQuery,
        response=list[SubmissionOut],
        errors=[400, 403, 404],
        tags=["submissions"],
        paginated=True,
        csv=True,
    )
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int) -> None:
        assert self.current_user is not None
        query = self.parse_query(SubmissionListQuery)
        assignment = await self.load_assignment(lecture_id, assignment_id)
        if query.instructor_version and not self.is_staff:
            raise Forbidden("Only tutors and instructors see everyone's submissions.")
        user_id = None if query.instructor_version else self.current_user.id
        stmt = filtered_submissions(assignment.id, query.filter, user_id).options(
            selectinload(Submission.user)
        )
        submissions = await self.paginate(stmt, query)
        views = [self.view(assignment, s) for s in submissions]
        if query.format == OutputFormat.CSV:
            self.write_csv(
                CSV_COLUMNS,
                [submission_csv_row(v) for v in views],
                f"{assignment.name}-submissions.csv",
            )
        else:
            self.write_json(views)

    @document(
        "Submit a pushed commit. Checks release, deadline (with extensions and late "
        "periods) and the submission limit, and queues the autograde in the same "
        "transaction. Tutors and instructors may submit for a student (username)",
        body=SubmissionCreate,
        response=SubmissionCreated,
        status=201,
        errors=[400, 403, 404, 409],
        tags=["submissions"],
    )
    @authorize()
    async def post(self, lecture_id: int, assignment_id: int) -> None:
        assert self.current_user is not None
        body = self.parse_body(SubmissionCreate)
        assignment = await self.load_assignment(lecture_id, assignment_id)
        student = self.current_user
        by_staff = False
        if body.username is not None and body.username != student.name:
            if not self.is_staff:
                raise Forbidden("Only tutors and instructors may submit for someone else.")
            found = await self.db.scalar(
                select(User)
                .join(Role)
                .where(User.name == body.username, Role.lecture_id == lecture_id)
            )
            if found is None:
                raise NotFound(f"{body.username!r} is not a member of this lecture.")
            student, by_staff = found, True
        await self.check_pushed(assignment, student.name, body.commit_hash)
        async with student_submission_lock(self.db, assignment.id, student.id):
            submission, job = await create_submission(
                self.db, assignment, student, body.commit_hash, now=utcnow(), by_staff=by_staff
            )
            # asked before the commit: afterwards it would be a second write transaction
            # (on SQLite, a second wait for the one writer) to read one number
            position = await queue_position(self.db, job) if job is not None else None
            await self.db.commit()
        if job is not None:
            self.notify_grading()
        submission.user = student
        out = SubmissionCreated(
            **self.view(assignment, submission).model_dump(),
            job=JobOut.of(job, position) if job else None,
        )
        self.write_json(out, status=201)

    async def check_pushed(self, assignment: Assignment, username: str, commit: str) -> None:
        """Refuse a commit that is not on the main branch of the student's repository.

        A submission must be exactly what was pushed: otherwise grading would fail later,
        or grade something the student never handed in.
        """
        if commit == STAFF_PLACEHOLDER_COMMIT:
            return
        assert self.lecture is not None
        repo = self.grader_app.git_server.directory(
            RepoAddress(self.lecture.code, assignment.id, RepoType.USER, username=username)
        )
        if not await is_commit_on_main(repo, commit):
            raise Conflict(
                f"Commit {commit[:12]} is not in {username}'s repository for this assignment. "
                "Push your work first, then submit the commit you pushed."
            )


class SubmissionCountHandler(SubmissionBaseHandler):
    """``{base}api/lectures/{l}/assignments/{a}/submissions/count``."""

    @document(
        "How many submissions you made and how many remain",
        response=SubmissionCount,
        errors=[403, 404],
        tags=["submissions"],
    )
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int) -> None:
        assert self.current_user is not None
        assignment = await self.load_assignment(lecture_id, assignment_id)
        used = await count_submissions(self.db, assignment.id, self.current_user.id)
        allowed = submission_allowance(assignment.settings, self.current_user.name)
        self.write_json(
            SubmissionCount(
                submission_count=used,
                allowed=allowed,
                remaining=None if allowed is None else max(0, allowed - used),
            )
        )


class SubmissionHandler(SubmissionBaseHandler):
    """``{base}api/lectures/{l}/assignments/{a}/submissions/{submission_id}``."""

    @document("One submission", response=SubmissionOut, errors=[403, 404], tags=["submissions"])
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        out = self.view(assignment, submission)
        if submission.auto_status == AutoStatus.PENDING or (
            submission.feedback_status == FeedbackStatus.GENERATING
        ):
            job = await self.db.scalar(
                select(GradingJob)
                .where(
                    GradingJob.submission_id == submission.id,
                    GradingJob.state == JobState.QUEUED,
                )
                .order_by(GradingJob.id)
                .limit(1)
            )
            if job is not None:
                out.queue_position = await queue_position(self.db, job)
                scheduler = self.settings.get("grading_scheduler")
                if scheduler is not None:
                    out.estimated_wait_seconds = scheduler.estimated_wait(out.queue_position)
        self.write_json(out)

    @document(
        "Change a submission's statuses or late-penalty factor (the score follows)",
        body=SubmissionUpdate,
        response=SubmissionOut,
        errors=[400, 403, 404],
        tags=["submissions"],
    )
    @authorize(*STAFF)
    async def put(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        body = self.parse_body(SubmissionUpdate)
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        if body.user_id is not None and body.user_id != submission.user_id:
            if not (self.is_admin or self.lecture_role == LectureRole.INSTRUCTOR):
                raise Forbidden("Only instructors may give a submission to another student.")
            new_owner = await self.db.get(User, body.user_id)
            if new_owner is None:
                raise NotFound(f"User {body.user_id} does not exist.")
            submission.user_id, submission.user = new_owner.id, new_owner
        for field in ("auto_status", "manual_status", "feedback_status", "edited"):
            value = getattr(body, field)
            if value is not None:
                setattr(submission, field, value)
        if body.score_scaling is not None:
            submission.score_scaling = body.score_scaling
            if submission.score is not None:
                submission.score = scaled_score(submission.grading_score, body.score_scaling)
        await self.db.commit()
        self.write_json(self.view(assignment, submission))

    @document(
        "Withdraw your submission (before the deadline and before feedback); admins may "
        "hard-delete any submission",
        query=DeleteSubmissionQuery,
        status=204,
        errors=[403, 404],
        tags=["submissions"],
    )
    @authorize()
    async def delete(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        assert self.current_user is not None
        query = self.parse_query(DeleteSubmissionQuery)
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        if query.hard_delete:
            if not self.is_admin:
                raise Forbidden("Only admins may hard-delete a submission.")
            await self.db.execute(delete(Submission).where(Submission.id == submission.id))
        else:
            if submission.user_id != self.current_user.id:
                raise Forbidden("Only the student who submitted may withdraw a submission.")
            if submission.feedback_status != FeedbackStatus.NOT_GENERATED:
                raise Forbidden("A submission with feedback cannot be withdrawn.")
            deadline = effective_deadline(assignment.settings, self.current_user.name)
            if deadline is not None and utcnow() > deadline:
                raise Forbidden("Submissions cannot be withdrawn after the deadline.")
            submission.deleted_at = utcnow()
        await self.db.commit()
        self.set_status(204)
        self.finish()


class SubmissionLogsHandler(SubmissionBaseHandler):
    """``.../submissions/{submission_id}/logs``."""

    @document(
        "The log of the submission's latest grading run",
        response=str,
        errors=[403, 404],
        tags=["submissions"],
    )
    @authorize(*STAFF)
    async def get(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        _, submission = await self.load_submission(lecture_id, assignment_id, submission_id)
        logs = await self.db.get(SubmissionLogs, submission.id)
        if logs is None:
            raise NotFound("The submission has no grading log yet.")
        self.write_json(logs.logs)


class SubmissionPropertiesHandler(SubmissionBaseHandler):
    """``.../submissions/{submission_id}/properties``: the submission's gradebook."""

    @document(
        "The submission's gradebook with per-cell scores and comments (students: their "
        "own, without cell sources, once feedback is released)",
        response=dict[str, Any],
        errors=[403, 404],
        tags=["submissions"],
    )
    @authorize()
    async def get(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        properties = await self.db.get(SubmissionProperties, submission.id)
        if properties is None:
            raise NotFound("The submission has no gradebook yet.")
        if self.is_staff:
            self.write_json(properties.properties)
            return
        if not score_visible_to_student(submission, assignment, submission.user.name, utcnow()):
            raise Forbidden("Your grades are visible once feedback is released.")
        self.write_json(strip_sources(properties.properties))

    @document(
        "Store manual grading (the whole gradebook); the score is recomputed and released "
        "feedback becomes outdated",
        body=dict[str, Any],
        response=SubmissionOut,
        errors=[400, 403, 404],
        tags=["submissions"],
    )
    @authorize(*STAFF)
    async def put(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        gradebook = self.parse_json_object()
        try:
            grading_score = gradebook_score(gradebook)
        except Exception as e:
            raise BadRequest(f"body: not a gradebook ({e}).") from None
        properties = await self.db.get(SubmissionProperties, submission.id)
        if properties is None:
            self.db.add(SubmissionProperties(submission_id=submission.id, properties=gradebook))
        else:
            properties.properties = gradebook
        submission.grading_score = grading_score
        submission.score = scaled_score(grading_score, submission.score_scaling)
        if submission.manual_status == ManualStatus.NOT_GRADED:
            submission.manual_status = ManualStatus.BEING_EDITED
        if submission.feedback_status == FeedbackStatus.GENERATED:
            submission.feedback_status = FeedbackStatus.FEEDBACK_OUTDATED
        await self.db.commit()
        self.write_json(self.view(assignment, submission))


class GradingActionHandler(SubmissionBaseHandler):
    """Queue a grading job; re-posting returns the job already queued."""

    kind: JobKind

    async def queue(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        """Queue a job of ``kind`` for the submission and answer 202 with the job."""
        assignment, submission = await self.load_submission(
            lecture_id, assignment_id, submission_id
        )
        if submission.deleted_at is not None:
            raise Conflict("The submission was withdrawn.")
        job, created = await enqueue_job(self.db, submission, assignment.lecture_id, self.kind)
        if created:
            if self.kind == JobKind.AUTOGRADE:
                mark_autograde_queued(submission)
            else:
                submission.feedback_status = FeedbackStatus.GENERATING
        await self.db.commit()
        self.notify_grading()
        self.write_json(JobOut.of(job, await queue_position(self.db, job)), status=202)

    async def cancel(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
        """Cancel the submission's queued or running job of ``kind``."""
        assert self.current_user is not None
        _, submission = await self.load_submission(lecture_id, assignment_id, submission_id)
        job = await cancel_job(
            self.db, submission.id, self.kind, utcnow(), by=self.current_user.name
        )
        if job is None:
            raise NotFound(f"The submission has no queued or running {self.kind} job.")
        if self.kind == JobKind.AUTOGRADE:
            submission.auto_status = AutoStatus.NOT_GRADED
        else:
            submission.feedback_status = FeedbackStatus.NOT_GENERATED
        await self.db.commit()
        self.write_json(JobOut.of(job))


def grading_action_handlers(
    kind: JobKind, what: str
) -> tuple[type[GradingActionHandler], type[GradingActionHandler]]:
    """The POST handler of an action and 0.12's deprecated GET alias of it."""
    errors = [403, 404, 409]

    class Action(GradingActionHandler):
        @document(
            f"Queue {what} of the submission (202 with the job; the same job if one is "
            "already queued)",
            response=JobOut,
            status=202,
            errors=errors,
            tags=["grading"],
        )
        @authorize(*STAFF)
        async def post(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
            await self.queue(lecture_id, assignment_id, submission_id)

        @document(
            f"Cancel the queued or running {what} of the submission (a running job is "
            "stopped within a third of the lease duration)",
            response=JobOut,
            errors=[403, 404],
            tags=["grading"],
        )
        @authorize(*STAFF)
        async def delete(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
            await self.cancel(lecture_id, assignment_id, submission_id)

    class LegacyAlias(GradingActionHandler):
        mutating_get = True

        @document(
            f"Deprecated GET alias (Grader Service 0.12) of the POST that queues {what}",
            response=JobOut,
            status=202,
            errors=errors,
            tags=["grading"],
            deprecated=True,
        )
        @authorize(*STAFF)
        async def get(self, lecture_id: int, assignment_id: int, submission_id: int) -> None:
            await self.queue(lecture_id, assignment_id, submission_id)

    for handler, name in ((Action, "Handler"), (LegacyAlias, "LegacyHandler")):
        handler.kind = kind
        handler.__name__ = handler.__qualname__ = f"{kind.value.capitalize()}{name}"
    return Action, LegacyAlias


AutogradeHandler, LegacyAutogradeHandler = grading_action_handlers(
    JobKind.AUTOGRADE, "an autograde"
)
FeedbackHandler, LegacyFeedbackHandler = grading_action_handlers(
    JobKind.FEEDBACK, "feedback generation"
)


_SUBMISSIONS = "api/lectures/{lecture_id}/assignments/{assignment_id}/submissions"
_GRADING = "api/lectures/{lecture_id}/assignments/{assignment_id}/grading"

default_handlers = [
    Route(_SUBMISSIONS, SubmissionListHandler),
    Route(_SUBMISSIONS + "/count", SubmissionCountHandler),
    Route(_SUBMISSIONS + "/{submission_id}", SubmissionHandler),
    Route(_SUBMISSIONS + "/{submission_id}/logs", SubmissionLogsHandler),
    Route(_SUBMISSIONS + "/{submission_id}/properties", SubmissionPropertiesHandler),
    Route(_SUBMISSIONS + "/{submission_id}/autograde", AutogradeHandler),
    Route(_SUBMISSIONS + "/{submission_id}/feedback", FeedbackHandler),
    Route(_GRADING + "/{submission_id}/auto", LegacyAutogradeHandler),
    Route(_GRADING + "/{submission_id}/feedback", LegacyFeedbackHandler),
]
