"""Users and their roles across lectures (administration)."""

from __future__ import annotations

from pydantic import Field
from sqlalchemy import delete, select

from ..errors import Forbidden, NotFound
from ..orm import Lecture, LectureRole, Role, User
from .base import BaseHandler, Page, admin_or_self
from .routing import Route, authorize, document
from .schemas import RoleOut, Strict, UserOut, UserQuery, UserUpdate


class UserListQuery(Page, Strict):
    """Paging and filtering of the user list."""

    name_prefix: str | None = Field(default=None, description="Only users whose name starts so.")


class UserListHandler(BaseHandler):
    """``{base}api/users``."""

    @document(
        "All users, by name",
        query=UserListQuery,
        response=list[UserOut],
        errors=[400, 401, 403],
        tags=["users"],
        paginated=True,
    )
    @authorize(admin_only=True)
    async def get(self) -> None:
        query = self.parse_query(UserListQuery)
        stmt = select(User).order_by(User.name)
        if query.name_prefix:
            stmt = stmt.where(User.name.startswith(query.name_prefix, autoescape=True))
        users = await self.paginate(stmt, query)
        self.write_json([UserOut.of(u) for u in users])


class UserHandler(BaseHandler):
    """``{base}api/users/{user_id}``."""

    async def _user(self, user_id: int) -> User:
        user = await self.db.get(User, user_id)
        if user is None:
            raise NotFound(f"User {user_id} does not exist.")
        return user

    @document(
        "One user (admins; tutors and instructors for members of lecture_id)",
        query=UserQuery,
        response=UserOut,
        errors=[401, 403, 404],
        tags=["users"],
    )
    @authorize()
    async def get(self, user_id: int) -> None:
        assert self.current_user is not None
        query = self.parse_query(UserQuery)
        if not self.is_admin and user_id != self.current_user.id:
            if query.lecture_id is None:
                raise Forbidden("Pass lecture_id to look up a member of your lecture.")
            my_role = await self.db.scalar(
                select(Role.role).where(
                    Role.user_id == self.current_user.id, Role.lecture_id == query.lecture_id
                )
            )
            is_member = await self.db.scalar(
                select(Role.role).where(
                    Role.user_id == user_id, Role.lecture_id == query.lecture_id
                )
            )
            if my_role not in (LectureRole.TUTOR, LectureRole.INSTRUCTOR) or is_member is None:
                raise Forbidden("You may only look up members of lectures you teach.")
        self.write_json(UserOut.of(await self._user(user_id)))

    @document(
        "Change a user's display name",
        body=UserUpdate,
        response=UserOut,
        errors=[400, 401, 403, 404],
        tags=["users"],
    )
    @authorize(admin_only=True)
    async def put(self, user_id: int) -> None:
        body = self.parse_body(UserUpdate)
        user = await self._user(user_id)
        user.display_name = body.display_name
        await self.db.commit()
        self.write_json(UserOut.of(user))

    @document(
        "Delete a user with all their roles and submissions",
        status=204,
        errors=[401, 403, 404],
        tags=["users"],
    )
    @authorize(admin_only=True)
    async def delete(self, user_id: int) -> None:
        user = await self._user(user_id)
        await self.db.execute(delete(User).where(User.id == user.id))
        await self.db.commit()
        self.identity_resolver.forget(user.name)
        self.set_status(204)
        self.finish()


class UserRolesHandler(BaseHandler):
    """``{base}api/users/{username}/roles``."""

    @document(
        "A user's roles in all lectures (admins, or yourself)",
        response=list[RoleOut],
        errors=[401, 403, 404],
        tags=["users"],
    )
    @authorize()
    async def get(self, username: str) -> None:
        admin_or_self(self, username)
        user = await self.db.scalar(select(User).where(User.name == username))
        if user is None:
            raise NotFound(f"User {username!r} does not exist.")
        rows = await self.db.execute(
            select(Role, Lecture.code)
            .join(Lecture)
            .where(Role.user_id == user.id)
            .order_by(Lecture.code)
        )
        self.write_json(
            [
                RoleOut(
                    user_id=role.user_id,
                    lecture_id=role.lecture_id,
                    lecture_code=code,
                    role=role.role,
                    source=role.source,
                    user=UserOut.of(user),
                )
                for role, code in rows
            ]
        )


default_handlers = [
    Route("api/users", UserListHandler),
    Route("api/users/{user_id}", UserHandler),
    Route("api/users/{username}/roles", UserRolesHandler),
]
