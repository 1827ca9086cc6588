"""The assignment lifecycle: which status changes are allowed."""

from __future__ import annotations

from ..errors import Conflict
from ..orm.assignment import AssignmentStatus

S = AssignmentStatus

# created -> pushed -> released -> complete, and back from complete to released to
# reopen. Un-releasing is not offered: students may already have fetched the assignment.
ALLOWED: dict[AssignmentStatus, frozenset[AssignmentStatus]] = {
    S.CREATED: frozenset({S.PUSHED}),
    S.PUSHED: frozenset({S.CREATED, S.RELEASED}),
    S.RELEASED: frozenset({S.COMPLETE}),
    S.COMPLETE: frozenset({S.RELEASED}),
}


def check_status_transition(current: AssignmentStatus, wanted: AssignmentStatus) -> None:
    """Raise :class:`Conflict` explaining why ``current -> wanted`` is not allowed."""
    if wanted == current or wanted in ALLOWED[current]:
        return
    allowed = ", ".join(sorted(s.value for s in ALLOWED[current])) or "none"
    raise Conflict(
        f"An assignment cannot go from '{current.value}' to '{wanted.value}'. "
        f"From '{current.value}' it can go to: {allowed}."
    )
