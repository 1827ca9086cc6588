"""Alembic environment of grader-service.

Two ways in: the service hands over a connection (``config.attributes["connection"]``,
see ``grader_service.orm.db.upgrade_schema``), or the plain ``alembic`` command runs with
``sqlalchemy.url`` set, in which case an asyncio engine is created here. Revision
scripts are self-contained: they import nothing from grader_service.
"""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

config = context.config


def run_migrations(connection: Connection) -> None:
    """Run the migrations on an open (sync-facade) connection."""
    context.configure(
        connection=connection,
        # SQLite cannot ALTER most things; batch mode recreates tables when needed.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an asyncio engine from ``sqlalchemy.url`` and migrate through it."""
    engine = create_async_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
    async with engine.connect() as connection:
        await connection.run_sync(run_migrations)
        await connection.commit()
    await engine.dispose()


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
elif (given := config.attributes.get("connection")) is not None:
    run_migrations(given)
else:
    asyncio.run(run_async_migrations())
