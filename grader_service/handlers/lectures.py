"""Lectures, their members and their roles."""

from __future__ import annotations

from sqlalchemy import delete, exists, select, update
from sqlalchemy.orm import selectinload

from ..auth.roles import get_or_create_user
from ..errors import Conflict, Forbidden, NotFound
from ..orm import (
    Assignment,
    AssignmentStatus,
    Lecture,
    LectureRole,
    Role,
    RoleSource,
    Submission,
    User,
    utcnow,
)
from .base import BaseHandler
from .routing import Route, authorize, document
from .schemas import (
    DeleteQuery,
    LectureCreate,
    LectureListQuery,
    LectureOut,
    LectureUpdate,
    LectureUsers,
    RoleOut,
    RolesDeleteQuery,
    RolesUpdate,
    UserOut,
)

STAFF = (LectureRole.TUTOR, LectureRole.INSTRUCTOR)


class LectureListHandler(BaseHandler):
    """``{base}api/lectures``."""

    @document(
        "Lectures you have a role in (admins: all lectures)",
        query=LectureListQuery,
        response=list[LectureOut],
        errors=[400, 401],
        tags=["lectures"],
    )
    @authorize()
    async def get(self) -> None:
        assert self.current_user is not None
        query = self.parse_query(LectureListQuery)
        stmt = select(Lecture).order_by(Lecture.code)
        if not (self.is_admin and not query.instructor):
            roles = STAFF if query.instructor else tuple(LectureRole)
            stmt = stmt.join(Role).where(Role.user_id == self.current_user.id, Role.role.in_(roles))
        if not (self.is_admin and query.include_deleted):
            stmt = stmt.where(Lecture.deleted_at.is_(None))
        if query.complete is not None:
            stmt = stmt.where(Lecture.complete.is_(query.complete))
        lectures = await self.db.scalars(stmt)
        self.write_json([LectureOut.of(lecture) for lecture in lectures])

    @document(
        "Create a lecture (admins), or restore and update an existing one "
        "(its instructors and admins); 201 when created, 200 when updated",
        body=LectureCreate,
        response=LectureOut,
        status=201,
        errors=[400, 401, 403],
        tags=["lectures"],
    )
    @authorize()
    async def post(self) -> None:
        assert self.current_user is not None
        body = self.parse_body(LectureCreate)
        lecture = await self.db.scalar(select(Lecture).where(Lecture.code == body.code))
        if lecture is None:
            if not self.is_admin:
                raise Forbidden(
                    "Only admins create lectures. Lectures also appear automatically for "
                    "JupyterHub groups named '<code>:<role>'."
                )
            lecture = Lecture(code=body.code, name=body.name or body.code, complete=body.complete)
            self.db.add(lecture)
            status = 201
        else:
            role = await self.db.scalar(
                select(Role.role).where(
                    Role.user_id == self.current_user.id, Role.lecture_id == lecture.id
                )
            )
            if not self.is_admin and role != LectureRole.INSTRUCTOR:
                raise Forbidden(
                    f"A lecture with code {body.code!r} exists and you are not its instructor."
                )
            if body.name is not None:
                lecture.name = body.name
            lecture.complete = body.complete
            lecture.deleted_at = None
            status = 200
        await self.db.commit()
        self.write_json(LectureOut.of(lecture), status=status)


class LectureHandler(BaseHandler):
    """``{base}api/lectures/{lecture_id}``."""

    @document("One lecture", response=LectureOut, errors=[401, 403, 404], tags=["lectures"])
    @authorize()
    async def get(self, lecture_id: int) -> None:
        assert self.lecture is not None
        self.write_json(LectureOut.of(self.lecture))

    @document(
        "Rename a lecture or mark it complete",
        body=LectureUpdate,
        response=LectureOut,
        errors=[400, 401, 403, 404],
        tags=["lectures"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def put(self, lecture_id: int) -> None:
        assert self.lecture is not None
        body = self.parse_body(LectureUpdate)
        if body.name is not None:
            self.lecture.name = body.name
        if body.complete is not None:
            self.lecture.complete = body.complete
        await self.db.commit()
        self.write_json(LectureOut.of(self.lecture))

    @document(
        "Delete a lecture: soft by default (restorable; its assignments are hidden too); "
        "hard_delete=true removes it and everything in it (admins only)",
        query=DeleteQuery,
        status=204,
        errors=[401, 403, 404, 409],
        tags=["lectures"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def delete(self, lecture_id: int) -> None:
        assert self.lecture is not None
        query = self.parse_query(DeleteQuery)
        if query.hard_delete:
            if not self.is_admin:
                raise Forbidden("Only admins may hard-delete a lecture.")
            await self.db.execute(delete(Lecture).where(Lecture.id == lecture_id))
        else:
            await self._check_nothing_to_lose(lecture_id)
            now = utcnow()
            self.lecture.deleted_at = now
            await self.db.execute(
                update(Assignment)
                .where(Assignment.lecture_id == lecture_id, Assignment.deleted_at.is_(None))
                .values(deleted_at=now)
            )
        await self.db.commit()
        self.set_status(204)
        self.finish()

    async def _check_nothing_to_lose(self, lecture_id: int) -> None:
        """Refuse to hide a lecture whose students have work in it."""
        live = Assignment.lecture_id == lecture_id, Assignment.deleted_at.is_(None)
        has_submissions = await self.db.scalar(
            select(exists().where(Submission.assignment_id == Assignment.id, *live))
        )
        if has_submissions:
            raise Conflict("The lecture has submissions; mark it complete instead of deleting it.")
        released = await self.db.scalar(
            select(
                exists().where(
                    *live,
                    Assignment.status.in_([AssignmentStatus.RELEASED, AssignmentStatus.COMPLETE]),
                )
            )
        )
        if released:
            raise Conflict(
                "The lecture has released assignments; mark it complete instead of deleting it."
            )


class LectureUsersHandler(BaseHandler):
    """``{base}api/lectures/{lecture_id}/users``."""

    @document(
        "Members of a lecture by role",
        response=LectureUsers,
        errors=[401, 403, 404],
        tags=["lectures"],
    )
    @authorize(*STAFF)
    async def get(self, lecture_id: int) -> None:
        rows = await self.db.execute(
            select(Role.role, User)
            .join(User)
            .where(Role.lecture_id == lecture_id)
            .order_by(User.name)
        )
        members: dict[LectureRole, list[UserOut]] = {role: [] for role in LectureRole}
        for role, user in rows:
            members[role].append(UserOut.of(user))
        self.write_json(
            LectureUsers(
                instructors=members[LectureRole.INSTRUCTOR],
                tutors=members[LectureRole.TUTOR],
                students=members[LectureRole.STUDENT],
            )
        )


class LectureRolesHandler(BaseHandler):
    """``{base}api/lectures/{lecture_id}/roles``: manage who is in a lecture."""

    async def _roles(self, lecture_id: int) -> list[RoleOut]:
        assert self.lecture is not None
        roles = await self.db.scalars(
            select(Role)
            .where(Role.lecture_id == lecture_id)
            .options(selectinload(Role.user))
            .order_by(Role.user_id)
        )
        return [
            RoleOut(
                user_id=r.user_id,
                lecture_id=r.lecture_id,
                lecture_code=self.lecture.code,
                role=r.role,
                source=r.source,
                user=UserOut.of(r.user),
            )
            for r in roles
        ]

    @document("Roles in a lecture", response=list[RoleOut], errors=[401, 403, 404], tags=["roles"])
    @authorize(LectureRole.INSTRUCTOR)
    async def get(self, lecture_id: int) -> None:
        self.write_json(await self._roles(lecture_id))

    @document(
        "Grant or change roles (users are created if new); returns all roles",
        body=RolesUpdate,
        response=list[RoleOut],
        status=201,
        errors=[400, 401, 403, 404],
        tags=["roles"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def post(self, lecture_id: int) -> None:
        body = self.parse_body(RolesUpdate)
        for grant in body.users:
            user = await get_or_create_user(self.db, grant.username)
            role = await self.db.get(Role, (user.id, lecture_id))
            if role is None:
                self.db.add(
                    Role(
                        user_id=user.id,
                        lecture_id=lecture_id,
                        role=grant.role,
                        source=RoleSource.API,
                    )
                )
            else:
                role.role, role.source = grant.role, RoleSource.API
            self.identity_resolver.forget(user.name)
        await self.db.commit()
        self.write_json(await self._roles(lecture_id), status=201)

    @document(
        "Remove the roles of the listed users (all or nothing)",
        query=RolesDeleteQuery,
        status=204,
        errors=[400, 401, 403, 404],
        tags=["roles"],
    )
    @authorize(LectureRole.INSTRUCTOR)
    async def delete(self, lecture_id: int) -> None:
        query = self.parse_query(RolesDeleteQuery)
        names = sorted({n.strip() for n in query.usernames.split(",") if n.strip()})
        users = (await self.db.scalars(select(User).where(User.name.in_(names)))).all()
        missing = sorted(set(names) - {u.name for u in users})
        if missing:
            raise NotFound(f"Unknown users: {', '.join(missing)}")
        await self.db.execute(
            delete(Role).where(
                Role.lecture_id == lecture_id, Role.user_id.in_([u.id for u in users])
            )
        )
        await self.db.commit()
        for user in users:
            self.identity_resolver.forget(user.name)
        self.set_status(204)
        self.finish()


default_handlers = [
    Route("api/lectures", LectureListHandler),
    Route("api/lectures/{lecture_id}", LectureHandler),
    Route("api/lectures/{lecture_id}/users", LectureUsersHandler),
    Route("api/lectures/{lecture_id}/roles", LectureRolesHandler),
]
