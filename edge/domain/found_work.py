"""Work found during service: a service added to a booking while the car is in.

During an oil change the technician finds worn brake pads. The brake job goes where it fits
best: straight on in the same bay when its following cells are free (the current leg is
extended), else as a new leg later that day, else as a separate follow-up booking another
day. With the customer at the counter it is approved at once; otherwise it waits, its cells
held until a deadline, for the customer's answer (at the terminal, or from HQ's app). Only
approved work is billed; refused or lapsed work gives its cells back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from edge.domain.booking_state import BookingState
from edge.domain.legs import LegPlan, LegRules, leg_window
from edge.domain.slots import Cell
from edge.errors import InvalidTransition, RuleViolation

# how long added work waits for the customer's answer before its cells go back
APPROVAL_WAIT = timedelta(minutes=30)
# work is found while the car is in: checked in (waiting for its bay) or in service
IN_PROGRESS = frozenset({BookingState.CHECKED_IN, BookingState.IN_SERVICE})


class WorkState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REFUSED = "refused"
    LAPSED = "lapsed"


class Where(StrEnum):
    """Where the added work's cells are."""

    EXTENDED = "extended"  # the current leg goes on in its bay
    NEW_LEG = "new_leg"  # a leg of the booking later that day
    FOLLOW_UP = "follow_up"  # a separate booking for the same car another day


def check_can_add(code: str, state: BookingState, services: Iterable[str]) -> None:
    """Work is added only to a booking whose car is in, and a service only once."""
    if state not in IN_PROGRESS:
        raise InvalidTransition(f"booking {code} is {state}: work is added while the car is in "
                                "(checked in or in service)")
    seen: set[str] = set()
    for service in services:
        if service in seen:
            raise RuleViolation(f"{service} is in booking {code} already (or named twice)")
        seen.add(service)


def check_decision(code: str, service: str, state: WorkState, target: WorkState) -> None:
    """Only pending work is decided: approved, refused or lapsed once."""
    if state != WorkState.PENDING:
        raise InvalidTransition(f"{service} on booking {code} is {state} already; cannot become {target}")


def approval_deadline(now: datetime) -> datetime:
    return now + APPROVAL_WAIT


def extension_cells(
    grid: Sequence[Cell], start: datetime, before: LegPlan, after: LegPlan, slot_minutes: int
) -> tuple[datetime, ...] | None:
    """The cells a leg from `start` needs beyond its own once `before` becomes `after` (its
    work with the added service); None when the longer leg would run past its opening segment.
    Empty when the added work fits in the cells the leg holds already."""
    old = leg_window(grid, start, before, slot_minutes)
    new = leg_window(grid, start, after, slot_minutes)
    if old is None or new is None:
        return None
    return new[len(old):]


def leaves_room_for_next(
    rules: LegRules, after: LegPlan, start: datetime, from_kind: str, next_kind: str, next_start: datetime
) -> bool:
    """Whether a leg grown to `after` still lets the car reach its next leg (starting at
    `next_start` on a bay of `next_kind`) in time."""
    return rules.ready_at(after, start, from_kind, next_kind) <= next_start


def ready_after(rules: LegRules, last: LegPlan, start: datetime, from_kind: str, to_kinds: Iterable[str]) -> datetime:
    """When the car may start work on any bay of `to_kinds` after its last leg (begun at `start`):
    the latest over the kinds, so every bay of them is reachable."""
    kinds = tuple(to_kinds) or (from_kind,)
    return max(rules.ready_at(last, start, from_kind, kind) for kind in kinds)


@dataclass(frozen=True, slots=True)
class Billed:
    """A booking split for its bill: the work booked, and each approved added service at its price."""

    services: tuple[str, ...]
    price_minor: int
    added: tuple[tuple[str, int], ...]


def split_bill(services: Sequence[str], price_minor: int, approved: Sequence[tuple[str, int]]) -> Billed:
    """The booking's services and price hold its approved added work: take it out, as lines of its own."""
    added = {code for code, _price in approved}
    return Billed(tuple(code for code in services if code not in added),
                  price_minor - sum(price for _code, price in approved), tuple(approved))
