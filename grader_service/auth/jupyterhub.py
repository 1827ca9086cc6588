"""Authenticate JupyterHub API tokens, using the hub's own service-auth library."""

from __future__ import annotations

import os
from typing import Any

from jupyterhub.services.auth import HubAuth
from tornado.web import HTTPError
from traitlets import Bool, Instance, Integer, Unicode, default

from ..errors import Forbidden, ServiceUnavailable
from .base import AuthenticatedUser, Authenticator


class JupyterHubAuthenticator(Authenticator):
    """Accepts JupyterHub API tokens; hub groups ``{code}:{role}`` become lecture roles.

    The token is checked with the hub (``GET /hub/api/user``) and the answer cached for
    ``cache_ttl`` seconds, so a busy course does not hammer the hub. The hub reports the
    user's groups with every answer; they are synced into lecture roles.

    Configure the hub so that users' tokens may reach this service, e.g.::

        c.JupyterHub.services = [{"name": "grader", "url": "http://127.0.0.1:4010",
                                  "api_token": "<GRADER_HUB_TOKEN>"}]
        c.JupyterHub.load_roles = [{"name": "user",
            "scopes": ["self", "access:services!service=grader"]}]
        c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                         "access:services!service=grader"]
    """

    hub_api_url = Unicode(
        "http://127.0.0.1:8081/hub/api",
        help="""URL of the JupyterHub API, e.g. ``http://127.0.0.1:8081/hub/api``.

        Default: ``$JUPYTERHUB_API_URL`` (set by JupyterHub for managed services).
        """,
    ).tag(config=True)

    @default("hub_api_url")
    def _hub_api_url_default(self) -> str:
        return os.environ.get("JUPYTERHUB_API_URL", "http://127.0.0.1:8081/hub/api")

    hub_api_token = Unicode(
        help="""This service's own JupyterHub API token (the ``api_token`` of the service
        entry in ``jupyterhub_config.py``).

        Default: ``$JUPYTERHUB_API_TOKEN``. Prefer the environment over the config file
        so the secret does not end up in a file that is shared or committed.
        """,
    ).tag(config=True)

    @default("hub_api_token")
    def _hub_api_token_default(self) -> str:
        return os.environ.get("JUPYTERHUB_API_TOKEN", "")

    service_name = Unicode(
        "grader",
        help="""The name of this service in JupyterHub's ``services`` list.

        Default: ``$JUPYTERHUB_SERVICE_NAME``, else ``grader``.
        """,
    ).tag(config=True)

    @default("service_name")
    def _service_name_default(self) -> str:
        return os.environ.get("JUPYTERHUB_SERVICE_NAME", "grader")

    require_access_scope = Bool(
        True,
        help="""Only accept tokens that carry ``access:services!service=<service_name>``.

        This is JupyterHub's rule for services: a token a user made for something else
        cannot be used here. Set to False only if your hub issues tokens without that
        scope and you accept that any valid token of a user works here.
        """,
    ).tag(config=True)

    cache_ttl = Integer(
        60,
        help="""Seconds to cache the hub's answer for a token (valid or not).

        A revoked token keeps working for at most this long; groups changed on the hub
        show up here after at most this long.
        """,
    ).tag(config=True)

    hub_auth = Instance(
        HubAuth, help="The JupyterHub HubAuth client (built from the traits above)."
    )

    @default("hub_auth")
    def _hub_auth_default(self) -> HubAuth:
        return HubAuth(
            api_url=self.hub_api_url,
            api_token=self.hub_api_token,
            cache_max_age=self.cache_ttl,
            access_scopes={f"access:services!service={self.service_name}"},
        )

    async def authenticate(self, token: str) -> AuthenticatedUser | None:
        """Ask the hub (or the cache) who ``token`` belongs to."""
        try:
            model: dict[str, Any] | None = await self.hub_auth.user_for_token(token, sync=False)
        except HTTPError as e:
            # HubAuth raises 500/502 when the hub is unreachable or refuses us; to our
            # clients that is a temporarily unavailable dependency, not their fault.
            self.log.error("JupyterHub token check failed: %s", e.log_message)
            raise ServiceUnavailable(
                "Could not check the token with JupyterHub; try again shortly."
            ) from e
        if model is None:
            return None
        if model.get("kind", "user") != "user":
            raise Forbidden("Only JupyterHub user tokens are accepted, not service tokens.")
        if self.require_access_scope and not self.hub_auth.check_scopes(
            self.hub_auth.access_scopes, model
        ):
            raise Forbidden(
                f"This JupyterHub token does not grant access to the grader service "
                f"(scope access:services!service={self.service_name} is missing). Ask your "
                "JupyterHub admin to add it to the users' role and to "
                "c.Spawner.server_token_scopes."
            )
        return AuthenticatedUser(
            name=model["name"],
            display_name=model.get("display_name") or "",
            groups=tuple(model.get("groups") or ()),
        )

    async def close(self) -> None:
        """Close the HTTP session HubAuth opened to the hub for this event loop."""
        # JupyterHub >= 6 fetches through a shared aiohttp client, one per event loop; left
        # open it leaks its connections and warns "Unclosed client session". (JupyterHub 5
        # used Tornado's client, which needs no closing.)
        try:
            from jupyterhub.httpclient import JupyterHubHTTPClient
        except ImportError:
            return
        await JupyterHubHTTPClient.loop_instance().close()
