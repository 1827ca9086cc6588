"""The assignment's gradebook, which the ORM never loads by itself (it is deferred).

An assignment's gradebook holds every graded cell with its source; it is read by few
requests but the assignment row by nearly all, so ``Assignment.properties`` is a
deferred column that raises when read unloaded. These are the ways to read and copy it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from ..orm import Assignment, SubmissionProperties


async def assignment_gradebook(session: AsyncSession, assignment_id: int) -> dict[str, Any] | None:
    """The gradebook the service's release wrote, or ``None`` before the first release."""
    gradebook: dict[str, Any] | None = await session.scalar(
        select(Assignment.properties).where(Assignment.id == assignment_id)
    )
    return gradebook


async def copy_gradebook_to_submission(
    session: AsyncSession, assignment_id: int, submission_id: int
) -> None:
    """Give a new submission the assignment's current gradebook, inside the database.

    The submission keeps the gradebook of the release it answered even if the
    assignment is released again before grading. ``INSERT ... SELECT`` copies it without
    decoding and re-encoding the JSON in the service (it is the largest value a submit
    touches). Nothing is inserted before the first release.
    """
    await session.execute(
        insert(SubmissionProperties).from_select(
            ["submission_id", "properties"],
            select(literal(submission_id), Assignment.properties).where(
                Assignment.id == assignment_id, Assignment.properties.is_not(None)
            ),
        )
    )
