"""Placing a work plan at a start: pick a bay and a technician, claim their cells, write the booking."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.capacity import on_shift, pick_technician, window_at
from edge.domain.catalog import Bay, WorkPlan
from edge.domain.slots import Cell
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
from edge.services.cell_ownership import owned_first
from edge.services.live_capacity import absent_technicians
from edge.services.station import Station
from edge.store.types import to_db_time


def expire_lapsed_holds(conn: Connection, station: Station, now: datetime) -> list[BookingRecord]:
    """Turn every hold whose time is up into `expired` and give its cells back."""
    # the literal 'held' lets SQLite use the partial index of holds
    lapsed = query_bookings(conn, "state = 'held' AND hold_until < ?", (to_db_time(now),))
    expired = []
    for booking in lapsed:
        release_cells(conn, booking)
        expired.append(
            update_booking(conn, station, booking, "booking.expired", now=now,
                           state=BookingState.EXPIRED, reason="hold lapsed")
        )
    return expired


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a plan goes: a bay whose cells from the start are free, and a technician if it needs skills."""

    bay: Bay
    technician_id: str | None
    starts: tuple[datetime, ...]


def choose_placement(
    conn: Connection,
    station: Station,
    *,
    plan: WorkPlan,
    start: datetime,
    bays: Sequence[Bay],
    now: datetime,
) -> Placement:
    """The first bay of `bays` with every cell from `start` unclaimed, and a rostered, free
    technician if the plan needs skills; raises SlotTaken or RuleViolation.

    It only reads: the caller holds the write lock (BEGIN IMMEDIATE), so nothing can take
    the cells between this choice and `claim_placement`. The caller writes the booking row
    first and claims after it: claims written before their booking would leave deferred
    foreign-key checks open, and SQLite then scans the claim tables when the booking row
    arrives, which grows with the station's whole history. Lapsed holds are swept only
    when something is in the way, so the common booking pays nothing for them.
    """
    day = local_day(start, station.tz)
    window = window_at(station.grid(day), start, cells_needed(plan.occupied_minutes, station.slot_minutes))
    try:
        return _choose(conn, station, plan=plan, day=day, window=window, bays=bays, now=now)
    except (SlotTaken, RuleViolation):
        if not expire_lapsed_holds(conn, station, now):
            raise
    return _choose(conn, station, plan=plan, day=day, window=window, bays=bays, now=now)


def claim_placement(conn: Connection, *, booking_id: str, placement: Placement, hold_until: datetime | None) -> None:
    """Claim the chosen cells for a booking whose row is already written in this transaction."""
    starts = list(placement.starts)
    # chosen from this transaction's own reads under the write lock: the claims cannot fail
    if not claim_bay(conn, booking_id=booking_id, bay_id=placement.bay.id, starts=starts, hold_until=hold_until):
        raise RuntimeError(f"bay {placement.bay.id} was chosen free but is claimed")
    if placement.technician_id is not None and not claim_technician(
        conn, booking_id=booking_id, technician_id=placement.technician_id, starts=starts
    ):
        raise RuntimeError(f"technician {placement.technician_id} was chosen free but is claimed")


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
    """Choose and claim cells for an existing booking (a reschedule); returns (bay, technician id)."""
    placement = choose_placement(conn, station, plan=plan, start=start, bays=bays, now=now)
    claim_placement(conn, booking_id=booking_id, placement=placement, hold_until=hold_until)
    return placement.bay, placement.technician_id


def _choose(
    conn: Connection,
    station: Station,
    *,
    plan: WorkPlan,
    day: date,
    window: Sequence[Cell],
    bays: Sequence[Bay],
    now: datetime,
) -> Placement:
    starts = tuple(cell.start for cell in window)
    busy = _busy_bays(conn, bays, starts)
    # bays whose cells the station owns first: a booking on HQ's cells is only tentative
    free = owned_first(conn, station, [bay for bay in bays if bay.id not in busy], starts)
    if not free:
        where = bays[0].id if len(bays) == 1 else "every bay that can do " + "+".join(plan.service_codes)
        raise SlotTaken(
            f"{where} is already booked at {station.local(starts[0]):%Y-%m-%d %H:%M}",
            bay_id=bays[0].id if len(bays) == 1 else "*",
            slot_start=to_db_time(starts[0]),
        )
    # the bay first: when everything is full, "slot taken" is the answer the customer needs
    return Placement(free[0], _choose_technician(conn, station, plan, day, window, now), starts)


def _busy_bays(conn: Connection, bays: Sequence[Bay], starts: Sequence[datetime]) -> set[str]:
    """Bays with any of the cells claimed (a lapsed hold's claim too, until it is swept)."""
    cells = [to_db_time(s) for s in starts]
    return {
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT bay_id FROM slot_claim WHERE bay_id IN ({', '.join('?' * len(bays))})"
            f" AND slot_start IN ({', '.join('?' * len(cells))})",
            (*[b.id for b in bays], *cells),
        )
    }


def _choose_technician(
    conn: Connection, station: Station, plan: WorkPlan, day: date, window: Sequence[Cell], now: datetime
) -> str | None:
    if not plan.skills:
        return None
    candidates = station.catalog().technicians_for(plan)
    skills = "+".join(sorted(plan.skills))
    if not candidates:
        raise RuleViolation(f"no technician at this station has the skills {skills}")
    start, end = window[0].start, window[-1].end
    # live capacity: who clocked out (or never came) today gets no more of today's work
    absent = absent_technicians(conn, station, day=day, now=now)
    rostered = [t for t in candidates if t.id not in absent and on_shift(station.shifts(t, day), start, end)]
    ids = [t.id for t in rostered]
    load: dict[str, int] = {}
    busy: set[str] = set()
    if ids:
        # one pass over today's claims of the rostered: each one's load, and whether the window's
        # cells (consecutive grid starts, first to last) hold a claim of theirs
        first, last = day_bounds(day, station.tz)
        rows = conn.execute(
            f"SELECT technician_id, count(*), max(slot_start BETWEEN ? AND ?) FROM technician_claim"
            f" WHERE technician_id IN ({', '.join('?' * len(ids))}) AND slot_start >= ? AND slot_start < ?"
            " GROUP BY technician_id",
            (to_db_time(window[0].start), to_db_time(window[-1].start), *ids, to_db_time(first), to_db_time(last)),
        )
        for technician_id, claimed_today, clashes in rows:
            load[technician_id] = claimed_today
            if clashes:
                busy.add(technician_id)
    chosen = pick_technician(rostered, available=set(ids) - busy, load=load)
    if chosen is None:
        raise RuleViolation(
            f"no technician with {skills} is rostered and free from {station.local(start):%Y-%m-%d %H:%M}"
        )
    return chosen.id
