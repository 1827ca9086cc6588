"""Database engine, session factory and schema revision management.

The schema is owned by alembic (``migrations/``). At start-up the service compares the
database's revision with the newest migration: a new empty database is created at the
newest revision, an up-to-date one is used, and an out-of-date one is refused with a
message naming ``grader-service upgrade-db`` unless the operator opted in to automatic
upgrades (then SQLite files are backed up first).
"""

from __future__ import annotations

import enum
import logging
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, event, inspect, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

log = logging.getLogger(__name__)

# sync driver names operators commonly write -> the asyncio driver we use
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


def async_db_url(url: str | URL) -> URL:
    """Normalise a database URL to its asyncio driver (``sqlite://`` -> aiosqlite, ...)."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver) if driver else parsed


def redact_url(url: str | URL) -> str:
    """The URL with its password hidden, safe for logs and error messages."""
    return make_url(url).render_as_string(hide_password=True)


def _enable_sqlite_integrity(dbapi_connection: Any, _record: Any) -> None:
    # SQLite ignores foreign keys (and so ON DELETE CASCADE) unless asked per connection;
    # WAL lets readers proceed while a grading job writes.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def _sqlite_manual_transactions(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy's "begin" event below decide how transactions start.
    dbapi_connection.isolation_level = None


def _sqlite_begin_immediate(connection: Connection) -> None:
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | URL, *, immediate: bool = False, **kwargs: Any) -> AsyncEngine:
    """Create the asyncio engine for ``url`` with per-backend settings applied.

    ``immediate`` (SQLite only): transactions take the write lock when they begin. A
    request that reads and then writes would otherwise fail with "database is locked"
    when another writer committed in between; with the lock taken up front it waits
    its turn instead. PostgreSQL needs none of this.
    """
    db_url = async_db_url(url)
    if db_url.get_backend_name() == "postgresql":
        # No pre-ping: it costs a round trip per request. A connection the server closed
        # fails its query, SQLAlchemy drops it from the pool, and the request gets a 500
        # once; recycling keeps connections younger than typical idle timeouts.
        kwargs.setdefault("pool_recycle", 1800)
        # A few connections keep two cores busy; more only lets hundreds of queries
        # finish at once, and the burst of their callbacks stalls the event loop.
        kwargs.setdefault("pool_size", 5)
        kwargs.setdefault("max_overflow", 5)
    elif db_url.get_backend_name() == "sqlite" and db_url.database not in (None, "", ":memory:"):
        if immediate:
            # SQLite has one writer, and a write transaction holds its connection from
            # its first statement to its end: with a single connection, the pool is
            # that lock, and writers wait for it in order, woken the moment it is free.
            # Otherwise they would wait in SQLite's busy handler, which sleeps 1 to
            # 100 ms between tries: a burst of submissions then waits mostly on sleeps.
            kwargs.setdefault("pool_size", 1)
            kwargs.setdefault("max_overflow", 0)
            kwargs.setdefault("pool_timeout", 30)
        else:
            # Every SQLite connection is a thread (aiosqlite), an open file and three
            # PRAGMAs. Connections beyond pool_size are closed when returned, so a burst
            # larger than the pool would open and close one per request; keep them (an
            # idle one costs a sleeping thread).
            kwargs.setdefault("pool_size", 20)
            kwargs.setdefault("max_overflow", 20)
    engine = create_async_engine(db_url, **kwargs)
    if db_url.get_backend_name() == "sqlite":
        event.listen(engine.sync_engine, "connect", _enable_sqlite_integrity)
        if immediate:
            event.listen(engine.sync_engine, "connect", _sqlite_manual_transactions)
            event.listen(engine.sync_engine, "begin", _sqlite_begin_immediate)
    return engine


def is_sqlite(engine: AsyncEngine) -> bool:
    """Whether ``engine`` talks to SQLite (single process, one writer at a time)."""
    return engine.url.get_backend_name() == "sqlite"


def new_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """The one factory of sessions: one session per request or background job."""
    return async_sessionmaker(engine, expire_on_commit=False)


def migrations_dir() -> Path:
    """Where the alembic environment lives: inside the wheel, or at the repository top."""
    packaged = Path(__file__).resolve().parent.parent / "_migrations"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "migrations"


def alembic_config(db_url: str | URL) -> Config:
    """An alembic configuration for ``db_url`` without any ini file."""
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    # ConfigParser interpolation would choke on "%" in passwords.
    cfg.set_main_option(
        "sqlalchemy.url", async_db_url(db_url).render_as_string(False).replace("%", "%%")
    )
    return cfg


def head_revision(db_url: str | URL) -> str:
    """The newest migration shipped with this version of grader-service."""
    head = ScriptDirectory.from_config(alembic_config(db_url)).get_current_head()
    assert head is not None, "migrations directory has no revisions"
    return head


class SchemaState(enum.Enum):
    """How the database's schema relates to this version of the code."""

    EMPTY = "empty"
    CURRENT = "current"
    OUTDATED = "outdated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class SchemaStatus:
    """The database's schema state with the revisions it was computed from."""

    state: SchemaState
    current: str | None
    head: str


def _inspect_schema(connection: Connection, db_url: str | URL) -> SchemaStatus:
    script = ScriptDirectory.from_config(alembic_config(db_url))
    head = script.get_current_head()
    assert head is not None
    current = MigrationContext.configure(connection).get_current_revision()
    if current is None:
        tables = set(inspect(connection).get_table_names())
        # tables without alembic_version: a schema we did not create
        state = SchemaState.UNKNOWN if tables - {"alembic_version"} else SchemaState.EMPTY
    elif current == head:
        state = SchemaState.CURRENT
    else:
        known = {rev.revision for rev in script.walk_revisions()}
        state = SchemaState.OUTDATED if current in known else SchemaState.UNKNOWN
    return SchemaStatus(state=state, current=current, head=head)


async def schema_status(engine: AsyncEngine) -> SchemaStatus:
    """Compare the database's alembic revision with the newest migration."""
    async with engine.connect() as conn:
        return await conn.run_sync(_inspect_schema, engine.url)


def _run_upgrade(connection: Connection, db_url: str | URL, revision: str) -> None:
    cfg = alembic_config(db_url)
    # migrations/env.py uses a connection handed over here instead of opening its own
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


async def upgrade_schema(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` in one transaction where the backend allows."""
    async with engine.begin() as conn:
        await conn.run_sync(_run_upgrade, engine.url, revision)


def backup_sqlite(db_url: str | URL) -> Path | None:
    """Copy a SQLite database file next to itself before an upgrade; returns the copy."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    source = Path(url.database)
    if not source.exists():
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    backup = source.with_name(f"{source.name}.{stamp}.bak")
    shutil.copy2(source, backup)
    return backup


class SchemaError(RuntimeError):
    """The database's schema cannot be used by this version of grader-service."""


# PostgreSQL advisory lock key of schema changes ("grsc").
_SCHEMA_LOCK_KEY = 0x6772_7363


@asynccontextmanager
async def _schema_lock(engine: AsyncEngine) -> AsyncIterator[None]:
    """Hold PostgreSQL's schema lock: replicas starting together (their upgrade-db init
    containers) take turns, and the later ones find the schema already current."""
    if engine.dialect.name != "postgresql":
        yield
        return
    async with engine.connect() as conn:
        await conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _SCHEMA_LOCK_KEY})
        await conn.commit()
        try:
            yield
        finally:
            await conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEMA_LOCK_KEY})
            await conn.commit()


async def ensure_schema(engine: AsyncEngine, *, upgrade: bool) -> SchemaStatus:
    """Make the schema usable or raise :class:`SchemaError` with what to do about it."""
    async with _schema_lock(engine):
        return await _ensure_schema(engine, upgrade=upgrade)


async def _ensure_schema(engine: AsyncEngine, *, upgrade: bool) -> SchemaStatus:
    status = await schema_status(engine)
    where = redact_url(engine.url)
    if status.state is SchemaState.CURRENT:
        return status
    if status.state is SchemaState.EMPTY:
        log.info("Creating the database schema at revision %s in %s", status.head, where)
        await upgrade_schema(engine)
        return await schema_status(engine)
    if status.state is SchemaState.UNKNOWN:
        raise SchemaError(
            f"The database {where} is at revision {status.current or '(none)'}, which this "
            f"version of grader-service does not know (newest known: {status.head}). "
            "Use the grader-service version that created it, or a newer one."
        )
    if not upgrade:
        raise SchemaError(
            f"The database {where} is at revision {status.current} but this version of "
            f"grader-service needs {status.head}. Back it up, then run "
            "'grader-service upgrade-db -f <your config file>' "
            "(or set c.GraderService.upgrade_db = True to upgrade at start-up)."
        )
    backup = backup_sqlite(engine.url)
    if backup:
        log.info("Backed up %s to %s before upgrading", where, backup)
    log.info("Upgrading the database %s from %s to %s", where, status.current, status.head)
    await upgrade_schema(engine)
    return await schema_status(engine)
