"""JupyterHubAuthenticator against a real JupyterHub (and configurable-http-proxy).

One hub serves the whole module (see ``tests/hub_fixture.py``); each test starts its own
grader service on its own database and uses fresh hub users, so tests stay independent.
Needs ``npm ci --prefix tests/hub``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from traitlets.config import Config

from tests.conftest import AppFactory
from tests.hub_fixture import (  # noqa: F401 - fixtures
    SERVICE_NAME,
    Hub,
    HubAdmin,
    free_ports,
    hub_admin_fixture,
    hub_fixture,
)
from tests.utils import ApiClient, assert_error

pytestmark = pytest.mark.asyncio

# Seconds the service caches the hub's answer for a token. Short so the tests can wait
# it out; long enough that a few hub API calls fit inside it.
CACHE_TTL = 1


def hub_config(hub: Hub) -> Config:
    """Service config: authenticate against ``hub`` as the ``grader`` service."""
    c = Config()
    c.GraderService.authenticator_class = "grader_service.auth.JupyterHubAuthenticator"
    c.JupyterHubAuthenticator.hub_api_url = hub.api_url
    c.JupyterHubAuthenticator.hub_api_token = hub.service_token
    c.JupyterHubAuthenticator.service_name = SERVICE_NAME
    c.JupyterHubAuthenticator.cache_ttl = CACHE_TTL
    return c


@pytest_asyncio.fixture
async def hub_api(make_app: AppFactory, hub: Hub) -> AsyncIterator[ApiClient]:
    """A client of a grader service that checks tokens with ``hub``."""
    app = await make_app(hub_config(hub))
    client = ApiClient(app.url, {})
    yield client
    client.close()


async def roles_of(api: ApiClient, token: str) -> list[tuple[str, str]]:
    """(lecture code, role) pairs from ``GET api/permissions``."""
    r = await api.get("permissions", token=token)
    assert r.status == 200, (r.status, r.body)
    return [(p["lecture_code"], p["role"]) for p in r.json]


async def wait_out_cache(since: float) -> None:
    """Sleep until hub answers the service cached before ``since`` (monotonic) expired."""
    await asyncio.sleep(max(0.0, since + CACHE_TTL + 0.2 - time.monotonic()))


@pytest.mark.hub
async def test_hub_token_is_accepted_with_roles_from_groups(
    hub_api: ApiClient, hub_admin: HubAdmin
) -> None:
    name = await hub_admin.create_user("teacher")
    await hub_admin.add_to_group("lect9:instructor", name)
    token = (await hub_admin.create_token(name)).token

    r = await hub_api.get("permissions", token=token)
    assert r.status == 200, r.body
    assert [(p["lecture_code"], p["role"], p["scope"]) for p in r.json] == [
        ("lect9", "instructor", 2)
    ]
    # the lecture was created on first sight, named after its code
    r = await hub_api.get("lectures", token=token)
    assert r.status == 200
    assert [(lec["code"], lec["name"]) for lec in r.json] == [("lect9", "lect9")]
    lecture_id = r.json[0]["id"]
    assert (await hub_api.get(f"lectures/{lecture_id}", token=token)).status == 200
    # the role is recorded as coming from the hub, for the hub's user name
    r = await hub_api.get(f"users/{name}/roles", token=token)
    assert r.status == 200
    assert [(x["lecture_code"], x["role"], x["source"]) for x in r.json] == [
        ("lect9", "instructor", "hub")
    ]
    # Bearer works as well as "token"
    r = await hub_api.get("permissions", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200 and r.json[0]["role"] == "instructor"


@pytest.mark.hub
async def test_group_changes_show_after_cache_ttl(hub_api: ApiClient, hub_admin: HubAdmin) -> None:
    name = await hub_admin.create_user("stud")
    await hub_admin.add_to_group("lect9:student", name)
    token = (await hub_admin.create_token(name)).token
    before = time.monotonic()
    assert await roles_of(hub_api, token) == [("lect9", "student")]
    asked = time.monotonic()

    # promoted to tutor on the hub: the cached answer holds for cache_ttl, then it shows
    await hub_admin.remove_from_group("lect9:student", name)
    await hub_admin.add_to_group("lect9:tutor", name)
    if time.monotonic() - before < CACHE_TTL - 0.3:  # (a very slow machine skips this)
        assert await roles_of(hub_api, token) == [("lect9", "student")]
    await wait_out_cache(asked)
    assert await roles_of(hub_api, token) == [("lect9", "tutor")]
    asked = time.monotonic()

    # removed from every group of the lecture: the role goes, the lecture stays
    await hub_admin.remove_from_group("lect9:tutor", name)
    await wait_out_cache(asked)
    assert await roles_of(hub_api, token) == []
    assert (await hub_api.get("lectures", token=token)).json == []


@pytest.mark.hub
async def test_wrong_token_is_401(hub_api: ApiClient) -> None:
    assert_error(
        await hub_api.get("permissions", token="not-a-hub-token"), 401, "invalid or expired"
    )
    assert_error(await hub_api.get("lectures"), 401, "Authorization: token")


@pytest.mark.hub
async def test_revoked_token_is_401_after_cache_ttl(
    hub_api: ApiClient, hub_admin: HubAdmin
) -> None:
    name = await hub_admin.create_user("gone")
    await hub_admin.add_to_group("lect9:student", name)
    issued = await hub_admin.create_token(name)
    kept = await hub_admin.create_token(name)
    assert await roles_of(hub_api, issued.token) == [("lect9", "student")]
    asked = time.monotonic()

    await hub_admin.revoke_token(name, issued.id)
    await wait_out_cache(asked)
    assert_error(await hub_api.get("permissions", token=issued.token), 401, "invalid or expired")
    # the user's other token is unaffected
    assert await roles_of(hub_api, kept.token) == [("lect9", "student")]


@pytest.mark.hub
async def test_token_without_access_scope_is_403(hub_api: ApiClient, hub_admin: HubAdmin) -> None:
    name = await hub_admin.create_user("narrow")
    await hub_admin.add_to_group("lect9:student", name)
    narrow = await hub_admin.create_token(name, scopes=["read:users:name!user"])
    assert_error(
        await hub_api.get("permissions", token=narrow.token),
        403,
        f"access:services!service={SERVICE_NAME}",
    )
    # the same user with a token that has the scope gets in
    full = await hub_admin.create_token(name, scopes=[f"access:services!service={SERVICE_NAME}"])
    assert await roles_of(hub_api, full.token) == [("lect9", "student")]


@pytest.mark.hub
async def test_service_tokens_are_403(hub_api: ApiClient, hub: Hub) -> None:
    for token in (hub.admin_token, hub.service_token):
        assert_error(await hub_api.get("permissions", token=token), 403, "service tokens")


async def test_unreachable_hub_is_503(make_app: AppFactory) -> None:
    # No hub listens on the port: a hub outage is 503 (try again), not 401 (log in again).
    (port,) = free_ports(1)
    c = Config()
    c.GraderService.authenticator_class = "grader_service.auth.JupyterHubAuthenticator"
    c.JupyterHubAuthenticator.hub_api_url = f"http://127.0.0.1:{port}/hub/api"
    c.JupyterHubAuthenticator.hub_api_token = "unused"
    app = await make_app(c)
    api = ApiClient(app.url, {})
    try:
        assert_error(await api.get("permissions", token="some-token"), 503, "JupyterHub")
        assert (await api.get("health")).status == 200
    finally:
        api.close()
