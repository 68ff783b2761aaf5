"""The booking state machine and the service-progress stages a customer can see."""

from __future__ import annotations

from enum import StrEnum

from edge.errors import InvalidTransition


class BookingState(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    IN_SERVICE = "in_service"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"
    EXPIRED = "expired"
    PENDING_APPROVAL = "pending_approval"
    TENTATIVE = "tentative"
    REJECTED = "rejected"


S = BookingState

TRANSITIONS: dict[BookingState, frozenset[BookingState]] = {
    # a walk-in on hold may be checked in directly: the attendant confirms by serving
    S.HELD: frozenset({S.CONFIRMED, S.CHECKED_IN, S.CANCELLED, S.EXPIRED}),
    S.CONFIRMED: frozenset({S.CHECKED_IN, S.CANCELLED, S.NO_SHOW}),
    S.CHECKED_IN: frozenset({S.IN_SERVICE, S.COMPLETED, S.CANCELLED}),
    S.IN_SERVICE: frozenset({S.COMPLETED}),
    S.PENDING_APPROVAL: frozenset({S.CONFIRMED, S.REJECTED, S.CANCELLED, S.EXPIRED}),
    S.TENTATIVE: frozenset({S.CONFIRMED, S.REJECTED, S.CANCELLED}),
    S.COMPLETED: frozenset(),
    S.CANCELLED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.EXPIRED: frozenset(),
    S.REJECTED: frozenset(),
}

# states whose bookings hold their cells; a completed booking keeps the cells it used
LIVE_STATES = frozenset({S.HELD, S.CONFIRMED, S.CHECKED_IN, S.IN_SERVICE, S.PENDING_APPROVAL, S.TENTATIVE})
RELEASING_STATES = frozenset({S.CANCELLED, S.NO_SHOW, S.EXPIRED, S.REJECTED})
# a booking can move to another time only before the car has arrived
RESCHEDULABLE_STATES = frozenset({S.HELD, S.CONFIRMED, S.PENDING_APPROVAL, S.TENTATIVE})


def check_transition(booking_id: str, current: BookingState, target: BookingState) -> None:
    """Raise InvalidTransition unless `current -> target` is allowed."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none (final state)"
        raise InvalidTransition(
            f"booking {booking_id} is {current}; cannot become {target} (allowed: {allowed})"
        )


class Progress(StrEnum):
    RECEIVED = "received"
    IN_BAY = "in_bay"
    IN_SERVICE = "in_service"
    WAITING_PARTS = "waiting_parts"
    QUALITY_CHECK = "quality_check"
    DONE = "done"


P = Progress

PROGRESS_NEXT: dict[Progress, frozenset[Progress]] = {
    P.RECEIVED: frozenset({P.IN_BAY, P.IN_SERVICE}),
    P.IN_BAY: frozenset({P.IN_SERVICE}),
    P.IN_SERVICE: frozenset({P.WAITING_PARTS, P.QUALITY_CHECK}),
    P.WAITING_PARTS: frozenset({P.IN_SERVICE}),
    # a failed quality check sends the car back to work
    P.QUALITY_CHECK: frozenset({P.IN_SERVICE, P.DONE}),
    P.DONE: frozenset(),
}

_STATE_OF_STAGE = {
    P.RECEIVED: S.CHECKED_IN,
    P.IN_BAY: S.CHECKED_IN,
    P.IN_SERVICE: S.IN_SERVICE,
    P.WAITING_PARTS: S.IN_SERVICE,
    P.QUALITY_CHECK: S.IN_SERVICE,
    P.DONE: S.COMPLETED,
}


def advance_progress(
    booking_id: str, state: BookingState, current: Progress | None, target: Progress
) -> BookingState:
    """Check a progress move and return the booking state it implies."""
    if state not in (S.CHECKED_IN, S.IN_SERVICE):
        raise InvalidTransition(
            f"booking {booking_id} is {state}; progress moves only after check-in"
        )
    current = current or P.RECEIVED
    if target not in PROGRESS_NEXT[current]:
        allowed = ", ".join(sorted(PROGRESS_NEXT[current])) or "none"
        raise InvalidTransition(
            f"booking {booking_id} is at stage {current}; cannot go to {target} (next: {allowed})"
        )
    new_state = _STATE_OF_STAGE[target]
    if new_state != state:
        check_transition(booking_id, state, new_state)
    return new_state
