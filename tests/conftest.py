"""Fixtures of the grader-service test suite.

Index:

- ``db_url``: a fresh, empty database; parametrised over SQLite and, when
  ``GRADER_TEST_POSTGRES_URL`` points at a server, PostgreSQL (a new database per test).
- ``make_app``: factory that starts a :class:`MockGraderService` in this event loop on a
  random port with a given config; stopped at teardown.
- ``app``: the default service: StaticTokenAuthenticator with the tokens in ``TOKENS``,
  lecture ``lect1`` with an instructor, a tutor and a student, and admin ``admin``.
- ``api``: an :class:`ApiClient` bound to ``app``; ``await api.get("lectures",
  user="student")`` sends a real HTTP request with that user's token.

Tests talk to the service over real HTTP only.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy.engine import make_url
from traitlets.config import Config

from tests.utils import ApiClient, MockGraderService

TOKENS = {
    "admin": "token-admin",
    "instructor": "token-instructor",
    "tutor": "token-tutor",
    "student": "token-student",
    "outsider": "token-outsider",
}

POSTGRES_URL = os.environ.get("GRADER_TEST_POSTGRES_URL", "")


def _backends() -> list[Any]:
    params: list[Any] = [pytest.param("sqlite", id="sqlite")]
    params.append(
        pytest.param(
            "postgresql",
            id="postgresql",
            marks=pytest.mark.skipif(
                not POSTGRES_URL,
                reason="set GRADER_TEST_POSTGRES_URL (e.g. by .ci/run) to test PostgreSQL",
            ),
        )
    )
    return params


@pytest_asyncio.fixture(params=_backends())
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on the requested backend, removed after the test."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'grader.sqlite'}"
        return
    import asyncpg

    admin_url = make_url(POSTGRES_URL)
    name = f"grader_test_{secrets.token_hex(6)}"
    dsn = admin_url.set(drivername="postgresql").render_as_string(hide_password=False)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    yield admin_url.set(drivername="postgresql+asyncpg", database=name).render_as_string(
        hide_password=False
    )
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def base_config(db_url: str, data_dir: Path) -> Config:
    """The config every test service starts from."""
    c = Config()
    c.GraderService.db_url = db_url
    c.GraderService.grader_service_dir = str(data_dir)
    c.GraderService.service_port = 0
    c.GraderService.authenticator_class = "grader_service.auth.StaticTokenAuthenticator"
    c.StaticTokenAuthenticator.tokens = {token: name for name, token in TOKENS.items()}
    c.Authenticator.admin_users = {"admin"}
    # Most tests check the API, not grading: the queue stays put so statuses do not
    # change under them. Grading tests turn it on (tests/grading/).
    c.GraderService.grading_enabled = False
    c.GraderService.load_roles = {
        "lect1": [
            {"role": "instructor", "members": ["instructor"]},
            {"role": "tutor", "members": ["tutor"]},
            {"role": "student", "members": ["student"]},
        ]
    }
    return c


AppFactory = Callable[..., Awaitable[MockGraderService]]


@pytest_asyncio.fixture
async def make_app(db_url: str, tmp_path: Path) -> AsyncIterator[AppFactory]:
    """Start services with a config derived from ``base_config``; stop them afterwards."""
    started: list[MockGraderService] = []

    async def factory(config: Config | None = None, **traits: Any) -> MockGraderService:
        c = base_config(db_url, tmp_path / f"data{len(started)}")
        if config is not None:
            c.merge(config)
        app = MockGraderService(config=c, **traits)
        await app.initialize([])
        await app.serve()
        started.append(app)
        return app

    yield factory
    for app in reversed(started):
        await app.stop()


@pytest_asyncio.fixture
async def app(make_app: AppFactory) -> MockGraderService:
    """The default test service."""
    return await make_app()


@pytest_asyncio.fixture
async def api(app: MockGraderService) -> AsyncIterator[ApiClient]:
    """A client of ``app`` that knows the test users' tokens."""
    client = ApiClient(app.url, TOKENS)
    yield client
    client.close()
