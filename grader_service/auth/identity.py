"""From a token to a user row: service-issued tokens first, then the authenticator."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from ..errors import Unauthorized
from ..orm import ApiToken, RoleSource, User, hash_token, utcnow
from .base import Authenticator
from .roles import ensure_user, parse_group_roles, sync_roles

log = logging.getLogger(__name__)

_REMEMBERED_TOKENS = 10_000
"""How many non-service tokens the resolver remembers (least recently used go first)."""


@dataclass(frozen=True)
class Identity:
    """The user a request acts as."""

    user: User
    is_admin: bool


class IdentityResolver:
    """Resolves tokens to users and keeps hub-group roles in sync.

    One instance lives for the life of the service. It remembers the groups it last
    synced for each user so that a cached hub answer does not cost a role sync (three
    queries) on every request.
    """

    def __init__(self, authenticator: Authenticator) -> None:
        self.authenticator = authenticator
        self._synced_groups: dict[str, tuple[str, ...]] = {}
        # Hashes of tokens that are not the service's own (hub tokens, mostly): they are
        # looked up once, not on every request. Safe to remember, unlike a hit: a new
        # service token is a fresh random value that no earlier request can have shown.
        self._not_service_tokens: OrderedDict[str, None] = OrderedDict()

    async def resolve(self, session: AsyncSession, token: str) -> Identity:
        """The identity for ``token``; raises :class:`Unauthorized` if nobody owns it."""
        own = await self._service_token_user(session, token)
        if own is not None:
            return Identity(user=own, is_admin=own.name in self.authenticator.admin_users)

        authenticated = await self.authenticator.authenticate(token)
        if authenticated is None:
            raise Unauthorized("The token is invalid or expired. Log in again to get a new one.")
        # Two first requests of a new user may race to create the same rows; the loser
        # retries against what the winner committed.
        for attempt in range(2):
            try:
                user, changed = await ensure_user(
                    session, authenticated.name, authenticated.display_name
                )
                if (
                    authenticated.groups is not None
                    and self._synced_groups.get(user.name) != authenticated.groups
                ):
                    wanted = parse_group_roles(
                        authenticated.groups, self.authenticator.group_role_separator
                    )
                    changed |= await sync_roles(session, user, wanted, RoleSource.HUB)
                if changed:
                    await session.commit()
                break
            except IntegrityError:
                await session.rollback()
                if attempt:
                    raise
        if authenticated.groups is not None:
            self._synced_groups[user.name] = authenticated.groups
        return Identity(user=user, is_admin=self.authenticator.is_admin(authenticated))

    def forget(self, username: str) -> None:
        """Force a role re-sync on the user's next request (after roles changed)."""
        self._synced_groups.pop(username, None)

    async def _service_token_user(self, session: AsyncSession, token: str) -> User | None:
        hashed = hash_token(token)
        if hashed in self._not_service_tokens:
            self._not_service_tokens.move_to_end(hashed)
            return None
        row = await session.scalar(select(ApiToken).where(ApiToken.hashed == hashed))
        if row is None:
            self._not_service_tokens[hashed] = None
            if len(self._not_service_tokens) > _REMEMBERED_TOKENS:
                self._not_service_tokens.popitem(last=False)
            return None
        now = utcnow()
        if row.expires_at is not None and row.expires_at <= now:
            return None
        user = await session.get(User, row.user_id)
        # A write per request would serialise SQLite; a minute's resolution is plenty.
        if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
            row.last_used_at = now
            await session.commit()
        return user
