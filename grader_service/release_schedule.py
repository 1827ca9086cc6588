"""Releases assignments whose ``release_at`` has come (exams that open on their own)."""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from traitlets import Float, Instance
from traitlets.config import LoggingConfigurable

from .errors import Conflict
from .git.server import GitServer
from .orm import Assignment, AssignmentStatus, Lecture, utcnow
from .store.releases import release_assignment

# One replica at a time runs the schedule (PostgreSQL advisory lock key).
_LOCK_KEY = 0x6772_6164  # "grad"


class ReleaseScheduler(LoggingConfigurable):
    """Every ``interval`` seconds, release the due assignments (status created or pushed)."""

    interval = Float(
        30.0,
        help="""Seconds between checks for assignments whose ``release_at`` has passed. An
        assignment is released within this long after its time.""",
    ).tag(config=True)

    session_factory = Instance(async_sessionmaker, help="Sessions for the checks.")
    git_server = Instance(GitServer, help="Where the repositories are.")

    _task: asyncio.Task[None] | None = None
    _warned: set[int]

    def start(self) -> None:
        """Run the checks in the background until :meth:`stop`."""
        self._warned = set()
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        """Cancel the background checks."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await self.release_due()
            except Exception:
                self.log.exception("Scheduled release check failed; retrying later")
            await asyncio.sleep(self.interval)

    async def release_due(self) -> list[int]:
        """Release every assignment that is due now; returns their ids."""
        released: list[int] = []
        async with self.session_factory() as session:
            if not await self._lock(session):
                return released
            now = utcnow()
            candidates = await session.execute(
                select(Assignment, Lecture.code)
                .join(Lecture)
                .where(
                    Assignment.deleted_at.is_(None),
                    Lecture.deleted_at.is_(None),
                    Assignment.status.in_([AssignmentStatus.CREATED, AssignmentStatus.PUSHED]),
                )
            )
            for assignment, code in candidates.all():
                release_at = assignment.settings.release_at
                if release_at is None or release_at > now:
                    continue
                try:
                    release = await release_assignment(self.git_server, code, assignment)
                except Conflict as e:
                    if assignment.id not in self._warned:
                        self._warned.add(assignment.id)
                        self.log.warning(
                            "Assignment %d (%s) is due for release but: %s", assignment.id, code, e
                        )
                    continue
                await session.commit()
                released.append(assignment.id)
                self.log.info(
                    "Released assignment %d (%s) on schedule as %s",
                    assignment.id,
                    code,
                    release.tag,
                )
        return released

    @staticmethod
    async def _lock(session: AsyncSession) -> bool:
        if session.get_bind().dialect.name != "postgresql":
            return True
        return bool(
            await session.scalar(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})
        )
