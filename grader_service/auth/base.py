"""The authenticator interface: turn an API token into a user the service knows."""

from __future__ import annotations

from dataclasses import dataclass, field

from traitlets import Set, Unicode
from traitlets.config import LoggingConfigurable


@dataclass(frozen=True)
class AuthenticatedUser:
    """Who a token belongs to, as told by an authenticator.

    ``groups`` is ``None`` when the authenticator knows nothing about group membership
    (then roles are left as they are); a list, even empty, is authoritative for the
    roles that came from that authenticator.
    """

    name: str
    display_name: str = ""
    groups: tuple[str, ...] | None = None
    admin: bool = False
    extra: dict[str, object] = field(default_factory=dict)


class Authenticator(LoggingConfigurable):
    """Base class of authenticators, selected with ``c.GraderService.authenticator_class``.

    Subclasses implement :meth:`authenticate`. Tokens arrive from the HTTP layer, which
    reads ``Authorization: token <t>``, ``Bearer <t>`` or Basic auth with the token as
    password (what git sends).
    """

    admin_users = Set(
        Unicode(),
        help="""Usernames that are grader-service administrators.

        Admins may do everything in every lecture: create and hard-delete lectures,
        manage users and roles. Admin status is not stored in the database; removing a
        name here revokes it at the next request.

        Example::

            c.Authenticator.admin_users = {"alice"}
        """,
    ).tag(config=True)

    group_role_separator = Unicode(
        ":",
        help="""Separator between lecture code and role in group names.

        A group ``lect1:instructor`` makes its members instructors of the lecture with
        code ``lect1`` (created if needed). Groups whose suffix is not ``student``,
        ``tutor`` or ``instructor`` are ignored.
        """,
    ).tag(config=True)

    async def authenticate(self, token: str) -> AuthenticatedUser | None:
        """Return the user a token belongs to, or ``None`` if the token is not valid."""
        raise NotImplementedError

    def is_admin(self, user: AuthenticatedUser) -> bool:
        """Whether ``user`` is a grader-service admin."""
        return user.admin or user.name in self.admin_users

    async def close(self) -> None:
        """Release resources (HTTP clients, caches) at shutdown."""
