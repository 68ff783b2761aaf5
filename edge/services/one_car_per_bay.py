"""One car per bay: at most one booking is in a bay at a time, by the store's index, refused by name.

The partial unique index `ux_booking_one_car_in_bay` on booking(bay_id), over bookings checked
in or in service whose progress is in bay, in service, waiting for parts or quality check,
makes a second car in a bay impossible whoever writes; `move_booking` turns its refusal into
a RuleViolation naming the bay and the booking already in it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from sqlite3 import Connection, IntegrityError

from edge.domain.booking_state import BookingState, Progress
from edge.errors import RuleViolation
from edge.services.booking_store import BookingRecord, query_bookings, update_booking
from edge.services.station import Station

ON_SITE = frozenset({BookingState.CHECKED_IN, BookingState.IN_SERVICE})
# the stages set once the car is physically in the bay (by the attendant, the bay's reader or its sensor)
IN_BAY_STAGES = frozenset({Progress.IN_BAY, Progress.IN_SERVICE, Progress.WAITING_PARTS, Progress.QUALITY_CHECK})


# the index's own condition (edge/store/models.py), word for word: SQLite then reads the few
# bookings in a bay through the index instead of scanning every booking
IN_BAY_WHERE = ("state IN ('checked_in', 'in_service')"
                " AND progress IN ('in_bay', 'in_service', 'waiting_parts', 'quality_check')")


def is_in_bay(booking: BookingRecord) -> bool:
    return booking.state in ON_SITE and booking.progress in IN_BAY_STAGES


def move_booking(conn: Connection, station: Station, booking: BookingRecord, *, now: datetime, state: BookingState,
                 progress: Progress, **leg: Any) -> BookingRecord:
    """Write the booking's new progress (and, moving on to its next leg, that leg's `leg`, `bay_id`
    and `technician_id`); a second car in its bay is refused by the store's index, as a
    RuleViolation naming the bay and the booking already in it."""
    try:
        return update_booking(conn, station, booking, "booking.progress", now=now, state=state, progress=str(progress),
                              **leg)
    except IntegrityError as err:
        if "booking.bay_id" not in str(err):
            raise
        bay_id = leg.get("bay_id", booking.bay_id)
        there = car_in_bay(conn, bay_id)
        who = f"booking {there.code} ({there.plate})" if there else "another booking"
        raise RuleViolation(f"bay {bay_id} already has {who} in it: booking {booking.code} goes in "
                            "once that car is done") from None


def car_in_bay(conn: Connection, bay_id: str) -> BookingRecord | None:
    """The booking in the bay now, if any (at most one, by the store's index)."""
    found = query_bookings(conn, f"bay_id = ? AND {IN_BAY_WHERE}", (bay_id,))
    return found[0] if found else None
