"""Migrations create exactly the schema the models declare, and upgrades keep data."""

from __future__ import annotations

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text

from grader_service.orm import Base
from grader_service.orm.db import (
    SchemaState,
    create_engine,
    ensure_schema,
    schema_status,
    upgrade_schema,
)

pytestmark = pytest.mark.asyncio


def _differences(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrated_schema_matches_models(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        status = await ensure_schema(engine, upgrade=False)
        assert status.state is SchemaState.CURRENT
        async with engine.connect() as conn:
            assert await conn.run_sync(_differences) == []
    finally:
        await engine.dispose()


async def test_upgrade_from_first_revision_keeps_data(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        await upgrade_schema(engine, "0001")
        async with engine.begin() as conn:
            await conn.execute(text("INSERT INTO users (name, display_name) VALUES ('ada', 'Ada')"))
        assert (await schema_status(engine)).state is SchemaState.OUTDATED
        await ensure_schema(engine, upgrade=True)
        assert (await schema_status(engine)).state is SchemaState.CURRENT
        async with engine.connect() as conn:
            assert (
                await conn.execute(text("SELECT display_name FROM users"))
            ).scalar_one() == "Ada"
            assert (await conn.execute(text("SELECT count(*) FROM grading_jobs"))).scalar_one() == 0
    finally:
        await engine.dispose()


async def test_foreign_schema_is_refused(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("CREATE TABLE something_else (id INTEGER PRIMARY KEY)"))
        assert (await schema_status(engine)).state is SchemaState.UNKNOWN
        with pytest.raises(Exception, match="does not know"):
            await ensure_schema(engine, upgrade=True)
    finally:
        await engine.dispose()


async def test_database_enforces_cascades_and_uniqueness(db_url: str) -> None:
    """Constraints live in the database, not only in the handlers."""
    from sqlalchemy.exc import IntegrityError

    engine = create_engine(db_url)
    try:
        await ensure_schema(engine, upgrade=False)
        async with engine.begin() as conn:
            await conn.execute(
                text("INSERT INTO users (id, name, display_name) VALUES (1, 'u', 'u')")
            )
            await conn.execute(
                text("INSERT INTO lectures (id, name, code, complete) VALUES (1, 'L', 'l', false)")
            )
            await conn.execute(
                text(
                    "INSERT INTO roles (user_id, lecture_id, role, source) "
                    "VALUES (1, 1, 'student', 'api')"
                )
            )
            await conn.execute(
                text(
                    "INSERT INTO assignments (lecture_id, name, status, points, settings) "
                    "VALUES (1, 'a1', 'created', 0, '{}')"
                )
            )
        for statement in (
            "INSERT INTO roles (user_id, lecture_id, role, source) VALUES (1, 1, 'tutor', 'api')",
            "INSERT INTO roles (user_id, lecture_id, role, source) VALUES (1, 1, 'king', 'api')",
            "INSERT INTO assignments (lecture_id, name, status, points, settings) "
            "VALUES (1, 'a1', 'created', 0, '{}')",
        ):
            with pytest.raises(IntegrityError):
                async with engine.begin() as conn:
                    await conn.execute(text(statement))
        async with engine.begin() as conn:
            # a soft-deleted assignment frees its name
            await conn.execute(text("UPDATE assignments SET deleted_at = CURRENT_TIMESTAMP"))
            await conn.execute(
                text(
                    "INSERT INTO assignments (lecture_id, name, status, points, settings) "
                    "VALUES (1, 'a1', 'created', 0, '{}')"
                )
            )
            await conn.execute(text("DELETE FROM lectures WHERE id = 1"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM roles"))).scalar_one() == 0
            assert (await conn.execute(text("SELECT count(*) FROM assignments"))).scalar_one() == 0
    finally:
        await engine.dispose()


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
async def test_replicas_starting_together_create_the_schema_once(db_url: str) -> None:
    """Three replicas' start-ups (upgrade-db init containers) race on an empty
    PostgreSQL database: the schema lock lets them take turns, so all succeed."""
    engines = [create_engine(db_url) for _ in range(3)]
    try:
        statuses = await asyncio.gather(*(ensure_schema(e, upgrade=True) for e in engines))
        assert all(s.state is SchemaState.CURRENT for s in statuses)
    finally:
        for engine in engines:
            await engine.dispose()
