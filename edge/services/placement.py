"""Placing a work plan at a start: pick a bay and a technician, claim their cells, write the booking."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection

from edge.domain.booking_state import BookingState
from edge.domain.capacity import pick_technician, rostered_cells, window_at
from edge.domain.catalog import Bay, WorkPlan
from edge.domain.slots import cells_needed, day_bounds, local_day
from edge.errors import RuleViolation, SlotTaken
from edge.services.booking_store import (
    BookingRecord,
    claim_bay,
    claim_technician,
    query_bookings,
    release_cells,
    update_booking,
)
from edge.services.station import Station
from edge.store.types import to_db_time


def expire_lapsed_holds(conn: Connection, station: Station, now: datetime) -> list[BookingRecord]:
    """Turn every hold whose time is up into `expired` and give its cells back."""
    lapsed = query_bookings(conn, "state = ? AND hold_until < ?", (BookingState.HELD, to_db_time(now)))
    expired = []
    for booking in lapsed:
        release_cells(conn, booking.id)
        expired.append(
            update_booking(conn, station, booking, "booking.expired", now=now,
                           state=BookingState.EXPIRED, reason="hold lapsed")
        )
    return expired


def claim_first_free(
    conn: Connection,
    station: Station,
    *,
    booking_id: str,
    plan: WorkPlan,
    start: datetime,
    bays: Sequence[Bay],
    hold_until: datetime | None,
    now: datetime,
) -> tuple[Bay, str | None]:
    """Claim the cells from `start` on the first free bay of `bays`, and a rostered, free
    technician if the plan needs skills; returns (bay, technician id) or raises SlotTaken.

    The booking row itself is written afterwards by the caller in the same transaction
    (foreign keys are checked at commit).
    """
    expire_lapsed_holds(conn, station, now)
    day = local_day(start, station.tz)
    grid = station.grid(day)
    window = window_at(grid, start, cells_needed(plan.occupied_minutes, station.slot_minutes))
    starts = [cell.start for cell in window]
    # the bay first: when everything is full, "slot taken" is the answer the customer needs
    for bay in bays:
        if claim_bay(conn, booking_id=booking_id, bay_id=bay.id, starts=starts, hold_until=hold_until):
            technician_id = _choose_technician(conn, station, plan, day, grid, starts)
            # chosen from this transaction's own reads under the write lock: the claim cannot fail
            if technician_id is not None and not claim_technician(
                conn, booking_id=booking_id, technician_id=technician_id, starts=starts
            ):
                raise RuntimeError(f"technician {technician_id} was chosen free but is claimed")
            return bay, technician_id
    where = bays[0].id if len(bays) == 1 else "every bay that can do " + "+".join(plan.service_codes)
    raise SlotTaken(
        f"{where} is already booked at {station.local(start):%Y-%m-%d %H:%M}",
        bay_id=bays[0].id if len(bays) == 1 else "*",
        slot_start=to_db_time(start),
    )


def _choose_technician(
    conn: Connection, station: Station, plan: WorkPlan, day, grid, starts: list[datetime]
) -> str | None:
    if not plan.skills:
        return None
    candidates = station.catalog().technicians_for(plan)
    skills = "+".join(sorted(plan.skills))
    if not candidates:
        raise RuleViolation(f"no technician at this station has the skills {skills}")
    first, last = day_bounds(day, station.tz)
    ids = [t.id for t in candidates]
    marks = ", ".join("?" * len(ids))
    rows = conn.exec_driver_sql(
        f"SELECT technician_id, slot_start FROM technician_claim WHERE technician_id IN ({marks})"
        " AND slot_start >= ? AND slot_start < ?",
        (*ids, to_db_time(first), to_db_time(last)),
    ).all()
    claimed: dict[str, set[datetime]] = {t: set() for t in ids}
    wanted = {to_db_time(s): s for s in starts}
    for tech, cell in rows:
        claimed[tech].add(wanted.get(cell, cell))
    load = {t: len(cells) for t, cells in claimed.items()}
    rostered = {t.id: rostered_cells(t, day, grid, station.tz) for t in candidates}
    chosen = pick_technician(candidates, rostered, claimed, starts, load)
    if chosen is None:
        raise RuleViolation(
            f"no technician with {skills} is rostered and free from {station.local(starts[0]):%Y-%m-%d %H:%M}"
        )
    return chosen.id
