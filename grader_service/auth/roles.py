"""Lecture roles: parsing hub groups, syncing them, and loading roles from config.

Each role remembers its source (hub, config, api) so that a sync only ever revokes roles
its own source granted: removing a student from a hub group removes that role, but a
role an instructor granted through the API stays.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ..orm import Lecture, LectureRole, Role, RoleSource, User
from ..orm.lecture import LECTURE_CODE_PATTERN

log = logging.getLogger(__name__)


def parse_group_roles(groups: Iterable[str], separator: str = ":") -> dict[str, LectureRole]:
    """Map lecture code -> role from group names like ``lect1:tutor``.

    Groups that are not of that form are ignored. If a user is in several groups of one
    lecture, the highest role wins (instructor > tutor > student).
    """
    ranking = list(LectureRole)
    roles: dict[str, LectureRole] = {}
    for group in groups:
        code, sep, role_name = group.rpartition(separator)
        if not sep or not re.match(LECTURE_CODE_PATTERN, code):
            continue
        try:
            role = LectureRole(role_name)
        except ValueError:
            continue
        if code not in roles or ranking.index(role) > ranking.index(roles[code]):
            roles[code] = role
    return roles


async def ensure_user(
    session: AsyncSession, name: str, display_name: str = ""
) -> tuple[User, bool]:
    """The user row for ``name`` (created on first sight, display name kept current) and
    whether anything was written."""
    user = await session.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, display_name=display_name or name)
        session.add(user)
        await session.flush()
        return user, True
    if display_name and user.display_name != display_name:
        user.display_name = display_name
        return user, True
    return user, False


async def get_or_create_user(session: AsyncSession, name: str, display_name: str = "") -> User:
    """The user row for ``name``, created on first sight; display name kept current."""
    user, _ = await ensure_user(session, name, display_name)
    return user


async def get_or_create_lecture(session: AsyncSession, code: str) -> Lecture:
    """The lecture with ``code``, created (named after its code) if it does not exist."""
    lecture = await session.scalar(select(Lecture).where(Lecture.code == code))
    if lecture is None:
        lecture = Lecture(code=code, name=code)
        session.add(lecture)
        await session.flush()
        log.info("Created lecture %r", code)
    return lecture


async def sync_roles(
    session: AsyncSession,
    user: User,
    wanted: Mapping[str, LectureRole],
    source: RoleSource,
    *,
    revoke_missing: bool = True,
) -> bool:
    """Make ``user``'s roles from ``source`` equal ``wanted`` (lecture code -> role).

    A role of another source for the same lecture is taken over (one role per user and
    lecture). Returns whether anything changed.
    """
    rows = (
        await session.execute(
            select(Role, Lecture.code).join(Lecture).where(Role.user_id == user.id)
        )
    ).all()
    current = {code: role for role, code in rows}
    changed = False
    for code, role_name in wanted.items():
        role = current.get(code)
        if role is None:
            lecture = await get_or_create_lecture(session, code)
            session.add(Role(user_id=user.id, lecture_id=lecture.id, role=role_name, source=source))
            changed = True
        elif role.role != role_name or role.source != source:
            role.role, role.source = role_name, source
            changed = True
    if revoke_missing:
        for code, role in current.items():
            if role.source == source and code not in wanted:
                await session.delete(role)
                changed = True
    if changed:
        await session.flush()
    return changed


def parse_load_roles(spec: Mapping[str, Any]) -> dict[str, dict[str, tuple[LectureRole, str]]]:
    """Validate ``c.GraderService.load_roles``: lecture code -> username -> (role, display).

    Accepts ``{"lect1": [{"role": "instructor", "members": ["alice", {"username": "bob",
    "display_name": "Bob B."}]}]}``. Raises ``ValueError`` naming what is wrong.
    """
    result: dict[str, dict[str, tuple[LectureRole, str]]] = {}
    for code, entries in spec.items():
        if not isinstance(entries, list):
            raise ValueError(f"load_roles[{code!r}] must be a list of {{role, members}} entries")
        members: dict[str, tuple[LectureRole, str]] = {}
        for i, entry in enumerate(entries):
            where = f"load_roles[{code!r}][{i}]"
            if not isinstance(entry, Mapping) or "role" not in entry or "members" not in entry:
                raise ValueError(f"{where} must be a dict with 'role' and 'members'")
            try:
                role = LectureRole(entry["role"])
            except ValueError:
                choices = ", ".join(r.value for r in LectureRole)
                raise ValueError(
                    f"{where}: role {entry['role']!r} is not one of {choices}"
                ) from None
            for member in entry["members"]:
                if isinstance(member, str):
                    members[member] = (role, "")
                elif isinstance(member, Mapping) and isinstance(member.get("username"), str):
                    members[member["username"]] = (role, str(member.get("display_name", "")))
                else:
                    raise ValueError(
                        f"{where}: member {member!r} must be a username "
                        "or {{username, display_name}}"
                    )
        result[code] = members
    return result


async def apply_load_roles(
    session: AsyncSession, spec: Mapping[str, dict[str, tuple[LectureRole, str]]]
) -> None:
    """Create the configured lectures and users, and sync their config-sourced roles."""
    per_user: dict[str, dict[str, LectureRole]] = {}
    display: dict[str, str] = {}
    for code, members in spec.items():
        await get_or_create_lecture(session, code)
        for name, (role, display_name) in members.items():
            per_user.setdefault(name, {})[code] = role
            if display_name:
                display[name] = display_name
    for name, wanted in per_user.items():
        user = await get_or_create_user(session, name, display.get(name, ""))
        await sync_roles(session, user, wanted, RoleSource.CONFIG)
    # users removed from the config lose the roles the config gave them
    stale = await session.scalars(
        select(User).join(Role).where(Role.source == RoleSource.CONFIG, User.name.not_in(per_user))
    )
    for user in stale.unique():
        await sync_roles(session, user, {}, RoleSource.CONFIG)
