"""A complaint's follow-up: open → assigned → resolved → closed.

A low rating raises it open; the desk assigns it to a staff member (again, to hand it on),
records how it was resolved, and closes it with a note once the customer is satisfied. An
open complaint may be resolved or closed at once when no one else needs to look at it.
"""

from __future__ import annotations

from enum import StrEnum

from edge.errors import InvalidTransition


class ComplaintState(StrEnum):
    OPEN = "open"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


STEPS: dict[ComplaintState, frozenset[ComplaintState]] = {
    ComplaintState.OPEN: frozenset({ComplaintState.ASSIGNED, ComplaintState.RESOLVED, ComplaintState.CLOSED}),
    ComplaintState.ASSIGNED: frozenset({ComplaintState.ASSIGNED, ComplaintState.RESOLVED, ComplaintState.CLOSED}),
    ComplaintState.RESOLVED: frozenset({ComplaintState.CLOSED}),
    ComplaintState.CLOSED: frozenset(),
}

# the complaints still someone's to do
FOLLOWED_UP = (ComplaintState.OPEN, ComplaintState.ASSIGNED, ComplaintState.RESOLVED)


def check_step(complaint_id: str, current: str, target: ComplaintState) -> None:
    """Raise InvalidTransition unless a complaint in `current` may become `target`."""
    if target not in STEPS[ComplaintState(current)]:
        allowed = ", ".join(sorted(STEPS[ComplaintState(current)])) or "none (closed)"
        raise InvalidTransition(f"complaint {complaint_id} is {current}; cannot become {target} (allowed: {allowed})")
