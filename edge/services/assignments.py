"""Who does the work: a technician asked for by name, and the desk handing a leg to another technician."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from edge.domain.booking_state import BookingState
from edge.domain.capacity import on_shift
from edge.domain.slots import local_day
from edge.errors import InvalidInput, InvalidTransition, RuleViolation
from edge.services.booking_store import (
    CLAIM_RANGE,
    BookingRecord,
    claim_technician,
    get_booking,
    legs_of,
    update_booking,
)
from edge.services.live_capacity import absent_technicians
from edge.services.station import Station
from edge.store.types import from_db_time, to_db_time

# a leg's technician changes until the car leaves: not once the booking is over
_OPEN = frozenset({BookingState.HELD, BookingState.CONFIRMED, BookingState.CHECKED_IN, BookingState.IN_SERVICE,
                   BookingState.PENDING_APPROVAL, BookingState.TENTATIVE})


def reassign(station: Station, ref: str, technician_ref: str, *, leg: int | None = None,
             now: datetime | None = None) -> BookingRecord:
    """Give leg number `leg` (1 = the first) of the booking, its current leg by default, to another technician.

    The technician must have the leg's skills, be rostered over its cells and not be absent
    today; the leg's cells must be free in their schedule (the claims' primary key decides,
    and the refusal names the booking in the way). One transaction, one `booking.reassigned` event.
    """
    now = now or station.clock()
    catalog = station.catalog()
    technician = catalog.technician(technician_ref)
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        if booking.state not in _OPEN:
            raise InvalidTransition(f"booking {booking.code} is {booking.state}: its work is not to be assigned")
        legs = legs_of(conn, booking.id)
        seq = booking.leg if leg is None else leg - 1
        if not 0 <= seq < len(legs):
            raise InvalidInput("leg", f"booking {booking.code} has legs 1 to {len(legs)}, not {leg}")
        if seq < booking.leg:
            raise InvalidTransition(f"leg {seq + 1} of booking {booking.code} is done")
        target = legs[seq]
        skills = catalog.plan(list(target.services)).skills
        if not skills:
            raise RuleViolation(f"{'+'.join(target.services)} needs no technician")
        if not skills <= technician.skills:
            raise RuleViolation(f"{technician.name} has not the skills {'+'.join(sorted(skills - technician.skills))} "
                                f"that {'+'.join(target.services)} needs")
        if technician.id == target.technician_id:
            return booking
        starts = [from_db_time(row[0]) for row in conn.execute(
            "SELECT slot_start FROM slot_claim WHERE bay_id = ? AND slot_start >= ? AND slot_start < ?"
            " AND booking_id = ? ORDER BY slot_start",
            (target.bay_id, to_db_time(target.start_at), to_db_time(target.start_at + CLAIM_RANGE), booking.id),
        )]
        # a leg under way keeps its past cells with whoever did them: only the cells ahead change hands
        ahead = [s for s in starts if s + timedelta(minutes=station.slot_minutes) > now]
        if not ahead:
            raise InvalidTransition(f"leg {seq + 1} of booking {booking.code} has no cells left to hand over")
        day = local_day(target.start_at, station.tz)
        end = ahead[-1] + timedelta(minutes=station.slot_minutes)
        if not on_shift(station.shifts(technician, day), ahead[0], end):
            raise RuleViolation(f"{technician.name} is not rostered from {station.local(ahead[0]):%H:%M} "
                                f"to {station.local(end):%H:%M}")
        if technician.id in absent_technicians(conn, station, day=day, now=now):
            raise RuleViolation(f"{technician.name} is not at work today (clocked out or not clocked in)")
        if target.technician_id is not None:
            conn.execute(
                f"DELETE FROM technician_claim WHERE technician_id = ? AND booking_id = ?"
                f" AND slot_start IN ({', '.join('?' * len(ahead))})",
                (target.technician_id, booking.id, *[to_db_time(s) for s in ahead]),
            )
        if not claim_technician(conn, booking_id=booking.id, technician_id=technician.id, starts=ahead):
            raise RuleViolation(f"{technician.name} is busy then: {_clash(conn, technician.id, ahead)}")
        new_legs = tuple(replace(each, technician_id=technician.id) if each.seq == seq else each for each in legs)
        changes = {"technician_id": technician.id} if seq == booking.leg else {}
        return update_booking(conn, station, booking, "booking.reassigned", now=now, legs=new_legs, **changes)


def _clash(conn, technician_id: str, starts: list[datetime]) -> str:
    row = conn.execute(
        f"SELECT b.code, b.plate, min(c.slot_start) FROM technician_claim c JOIN booking b ON b.id = c.booking_id"
        f" WHERE c.technician_id = ? AND c.slot_start IN ({', '.join('?' * len(starts))})",
        (technician_id, *[to_db_time(s) for s in starts]),
    ).fetchone()
    return f"booking {row[0]} ({row[1]})" if row and row[0] else "another booking"
