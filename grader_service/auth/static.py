"""A fixed table of tokens, for development, demos and tests."""

from __future__ import annotations

import hmac

from traitlets import Dict, List, Unicode

from .base import AuthenticatedUser, Authenticator


class StaticTokenAuthenticator(Authenticator):
    """Accepts the tokens listed in ``tokens``; never use it in production.

    Example::

        c.GraderService.authenticator_class = "grader_service.auth.StaticTokenAuthenticator"
        c.StaticTokenAuthenticator.tokens = {"dev-token-alice": "alice"}
        c.StaticTokenAuthenticator.user_groups = {"alice": ["lect1:instructor"]}
    """

    tokens = Dict(
        key_trait=Unicode(),
        value_trait=Unicode(),
        help="""Map of token -> username. Every listed token authenticates its user.""",
    ).tag(config=True)

    user_groups = Dict(
        key_trait=Unicode(),
        value_trait=List(Unicode()),
        help="""Map of username -> group names, as JupyterHub would report them.

        Groups named ``{lecture_code}:{role}`` grant roles, like hub groups do. Users not
        listed here keep the roles they have (from ``load_roles`` or the API).
        """,
    ).tag(config=True)

    async def authenticate(self, token: str) -> AuthenticatedUser | None:
        """Look ``token`` up in the table, comparing in constant time."""
        name = None
        for known, user in self.tokens.items():
            # compare against every entry so the time taken does not reveal a prefix
            if hmac.compare_digest(known.encode(), token.encode()):
                name = user
        if name is None:
            return None
        groups = self.user_groups.get(name)
        return AuthenticatedUser(name=name, groups=tuple(groups) if groups is not None else None)
