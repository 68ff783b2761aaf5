"""Placing a work plan at a start: bays and technicians for every leg, their cells claimed together."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.capacity import on_shift, pick_technician
from edge.domain.catalog import Bay, WorkPlan
from edge.domain.legs import LegDay, LegFit, LegPlan, Miss, NoFit, fit_legs
from edge.domain.slots import day_bounds, local_day
from edge.errors import NotFound, RuleViolation, SlotTaken
from edge.services.booking_store import (
    BookingRecord,
    LegRecord,
    claim_bay,
    claim_technician,
    query_bookings,
    release_cells,
    update_booking,
)
from edge.services import deposits, walk_in_reserve
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
        deposits.release(conn, station, booking, reason=f"hold of booking {booking.code} lapsed", now=now)
    return expired


@dataclass(frozen=True, slots=True)
class PlacedLeg:
    """One leg where it goes: its bay, the starts of its cells, its technician if it needs skills."""

    leg: LegPlan
    bay: Bay
    technician_id: str | None
    starts: tuple[datetime, ...]

    def record(self, seq: int) -> LegRecord:
        start = self.starts[0]
        return LegRecord(seq, self.bay.id, self.technician_id, start,
                         start + timedelta(minutes=self.leg.duration_minutes), self.leg.service_codes)


@dataclass(frozen=True, slots=True)
class Placement:
    """Where a plan goes: each of its legs placed, in order."""

    legs: tuple[PlacedLeg, ...]

    def records(self) -> tuple[LegRecord, ...]:
        return tuple(leg.record(seq) for seq, leg in enumerate(self.legs))


@dataclass(frozen=True, slots=True)
class Wishes:
    """What the customer or the desk asked for: a bay (for the leg that can use it), a technician
    (for the legs they have the skills for), bays to try first (a moved booking's own), and a bay
    or technician the booking must leave (broken, or absent)."""

    bay_id: str | None = None
    technician_id: str | None = None
    prefer_bays: Collection[str] = ()
    avoid_bay: str | None = None
    avoid_technician: str | None = None


def choose_placement(
    conn: Connection,
    station: Station,
    *,
    plan: WorkPlan,
    start: datetime,
    now: datetime,
    wishes: Wishes = Wishes(),
    channel: str = "terminal",
) -> Placement:
    """Bays (and technicians, where legs need skills) for every leg of `plan`, the first leg from
    `start`; raises SlotTaken or RuleViolation naming the leg that does not fit.

    A booking through `channel` stays off the walk-in reserve's cells it may not take yet
    (edge.services.walk_in_reserve): another bay or a later start within the wait is taken when
    one is free, else RuleViolation names the reserved cell and when it opens.

    It only reads: the caller holds the write lock (BEGIN IMMEDIATE), so nothing can take
    the cells between this choice and `claim_placement`. The caller writes the booking row
    first and claims after it: claims written before their booking would leave deferred
    foreign-key checks open, and SQLite then scans the claim tables when the booking row
    arrives, which grows with the station's whole history. Lapsed holds are swept only
    when something is in the way, so the common booking pays nothing for them.
    """
    try:
        return _choose(conn, station, plan=plan, start=start, now=now, wishes=wishes, channel=channel)
    except (SlotTaken, RuleViolation):
        if not expire_lapsed_holds(conn, station, now):
            raise
    return _choose(conn, station, plan=plan, start=start, now=now, wishes=wishes, channel=channel)


def claim_placement(conn: Connection, *, booking_id: str, placement: Placement, hold_until: datetime | None) -> None:
    """Claim every leg's chosen cells for a booking whose row is already written in this transaction."""
    for placed in placement.legs:
        starts = list(placed.starts)
        # chosen from this transaction's own reads under the write lock: the claims cannot fail
        if not claim_bay(conn, booking_id=booking_id, bay_id=placed.bay.id, starts=starts, hold_until=hold_until):
            raise RuntimeError(f"bay {placed.bay.id} was chosen free but is claimed")
        if placed.technician_id is not None and not claim_technician(
            conn, booking_id=booking_id, technician_id=placed.technician_id, starts=starts
        ):
            raise RuntimeError(f"technician {placed.technician_id} was chosen free but is claimed")


def check_wishes(station: Station, plan: WorkPlan, wishes: Wishes) -> None:
    """NotFound for a bay or technician the station does not have; RuleViolation when no leg of
    the plan can use the bay, or the technician has the skills for none of it."""
    catalog = station.catalog()
    work = "+".join(plan.service_codes)
    if wishes.bay_id is not None:
        if wishes.bay_id not in catalog.bays:
            raise NotFound(f"no bay {wishes.bay_id!r} (bays: {', '.join(catalog.bays)})")
        if not any(wishes.bay_id in (b.id for b in catalog.bays_for(leg)) for leg in plan.legs):
            raise RuleViolation(f"bay {wishes.bay_id} cannot do {work} (or is out of service)")
    if wishes.technician_id is not None:
        technician = catalog.technicians.get(wishes.technician_id)
        if technician is None:
            raise NotFound(f"no technician {wishes.technician_id!r}")
        if not any(leg.skills and leg.skills <= technician.skills for leg in plan.legs):
            raise RuleViolation(f"{technician.name} has not the skills any part of {work} needs")


def _choose(conn: Connection, station: Station, *, plan: WorkPlan, start: datetime, now: datetime,
            wishes: Wishes, channel: str) -> Placement:
    catalog = station.catalog()
    missing = next((leg for leg in plan.legs if not catalog.bays_for(leg)), None)
    if missing is not None:
        raise RuleViolation(f"no bay in service can do {'+'.join(missing.service_codes)}")
    found = fit_at(conn, station, plan=plan, start=start, now=now, wishes=wishes, channel=channel)
    if isinstance(found, NoFit):
        closed = walk_in_reserve.closed_cells(station, local_day(start, station.tz), channel=channel, now=now)
        if closed:
            # would it fit on the walk-in reserve? then a reserved cell it cannot do without is the reason to name
            on_reserve = fit_at(conn, station, plan=plan, start=start, now=now, wishes=wishes, channel=channel,
                                reserve_last=True)
            reserved = [] if isinstance(on_reserve, NoFit) else [
                (at, leg.bay.id) for leg in on_reserve.legs for at in leg.starts if (leg.bay.id, at) in closed]
            if reserved:
                at, bay = min(reserved)
                raise walk_in_reserve.refusal(station, (bay, at), channel)
        raise _refusal(station, plan, start, found, wishes)
    return found


def fit_at(conn: Connection, station: Station, *, plan: WorkPlan, start: datetime, now: datetime,
           wishes: Wishes = Wishes(), channel: str = "terminal", reserve_last: bool = False) -> Placement | NoFit:
    """Where every leg of `plan` goes with the first leg at `start`, or why it does not fit there;
    it only reads (nothing is swept, nothing claimed). A booking through `channel` stays off the
    walk-in reserve's cells it may not take yet; with `reserve_last` it may, after every other bay."""
    day = local_day(start, station.tz)
    catalog = station.catalog()
    closed = walk_in_reserve.closed_cells(station, day, channel=channel, now=now)
    probe = _StoreProbe(conn, station, day, now, wishes, closed, reserve_last)
    found = fit_legs(plan.legs, start, LegDay(station.grid(day), station.slot_minutes, station.leg_rules,
                                              catalog.kinds()), probe)
    if isinstance(found, NoFit):
        return found
    return Placement(tuple(
        PlacedLeg(leg, catalog.bays[fit.bay_id], fit.technician_ids[0] if fit.technician_ids else None, fit.starts)
        for leg, fit in zip(plan.legs, found, strict=True)
    ))


def _refusal(station: Station, plan: WorkPlan, start: datetime, miss: NoFit, wishes: Wishes) -> Exception:
    """Why the plan does not fit from `start`, in the desk's words: SlotTaken when bays are full,
    RuleViolation for the clock, the roster or a later leg that finds no room."""
    leg = plan.legs[miss.leg]
    work = "+".join(leg.service_codes)
    when = f"{station.local(miss.at):%Y-%m-%d %H:%M}"
    if miss.leg > 0:
        before = "+".join(plan.legs[miss.leg - 1].service_codes)
        wait = station.leg_rules.max_wait_minutes
        what = {Miss.BAY: f"every bay that can do {work} is booked",
                Miss.TECHNICIAN: f"no technician with {'+'.join(sorted(leg.skills))} is rostered and free",
                Miss.CLOSED: "the station closes first"}[miss.miss]
        message = (f"{'+'.join(plan.service_codes)} from {station.local(start):%Y-%m-%d %H:%M}: after {before}, "
                   f"{what} within {wait} minutes ({work} would start {when})")
        if miss.miss == Miss.BAY:
            return SlotTaken(message, bay_id="*", slot_start=to_db_time(miss.at))
        return RuleViolation(message)
    if miss.miss == Miss.CLOSED:
        if all(cell.start != start for cell in station.grid(local_day(start, station.tz))):
            return RuleViolation(f"{start.isoformat()} is not the start of a bookable slot (closed, or off the slot grid)")
        return RuleViolation(f"the work from {start.isoformat()} runs past closing time")
    if miss.miss == Miss.TECHNICIAN:
        skills = "+".join(sorted(leg.skills))
        if not station.catalog().technicians_for(leg):
            return RuleViolation(f"no technician at this station has the skills {skills}")
        wanted = station.catalog().technicians.get(wishes.technician_id or "")
        if wanted is not None and leg.skills <= wanted.skills:
            return RuleViolation(f"{wanted.name} is not rostered and free from {when}")
        return RuleViolation(f"no technician with {skills} is rostered and free from {when}")
    bays = [b.id for b in station.catalog().bays_for(leg)]
    if wishes.bay_id in bays:
        bays = [wishes.bay_id]
    where = bays[0] if len(bays) == 1 else "every bay that can do " + work
    return SlotTaken(f"{where} is already booked at {when}", bay_id=bays[0] if len(bays) == 1 else "*",
                     slot_start=to_db_time(miss.at))


@dataclass
class _StoreProbe:
    """Free bays and technicians read under the caller's write lock, for one booking's legs."""

    conn: Connection
    station: Station
    day: date
    now: datetime
    wishes: Wishes
    closed: frozenset[tuple[str, datetime]] = frozenset()  # the walk-in reserve's cells this booking may not take
    closed_last: bool = False  # offer bays on those cells too, after the others (to name the reserve as the reason)
    _absent: frozenset[str] | None = field(default=None)

    def free_bays(self, leg: LegPlan, starts: tuple[datetime, ...]) -> Sequence[str]:
        bays = [bay for bay in self.station.catalog().bays_for(leg) if bay.id != self.wishes.avoid_bay]
        if self.wishes.bay_id is not None and any(b.id == self.wishes.bay_id for b in bays):
            bays = [b for b in bays if b.id == self.wishes.bay_id]
        if self.closed:
            reserved = {b.id for b in bays if any((b.id, s) in self.closed for s in starts)}
            bays = (sorted(bays, key=lambda b: b.id in reserved) if self.closed_last
                    else [b for b in bays if b.id not in reserved])
        busy = _busy_bays(self.conn, bays, starts)
        # bays whose cells the station owns first: a booking on HQ's cells is only tentative
        free = owned_first(self.conn, self.station, [bay for bay in bays if bay.id not in busy], starts)
        prefer = self.wishes.prefer_bays
        return [bay.id for bay in sorted(free, key=lambda b: b.id not in prefer)]

    def free_technicians(self, leg: LegPlan, starts: tuple[datetime, ...]) -> tuple[str, ...]:
        chosen = self._technician(leg, starts)
        return () if chosen is None else (chosen,)

    def _technician(self, leg: LegPlan, starts: tuple[datetime, ...]) -> str | None:
        station = self.station
        candidates = [t for t in station.catalog().technicians_for(leg) if t.id != self.wishes.avoid_technician]
        wanted = self.wishes.technician_id
        if wanted is not None and any(t.id == wanted for t in candidates):
            candidates = [t for t in candidates if t.id == wanted]
        if self._absent is None:
            # live capacity: who clocked out (or never came) today gets no more of today's work
            self._absent = absent_technicians(self.conn, station, day=self.day, now=self.now)
        start, end = starts[0], starts[-1] + timedelta(minutes=station.slot_minutes)
        rostered = [t for t in candidates
                    if t.id not in self._absent and on_shift(station.shifts(t, self.day), start, end)]
        ids = [t.id for t in rostered]
        if not ids:
            return None
        load: dict[str, int] = {}
        busy: set[str] = set()
        # one pass over the day's claims of the rostered: each one's load, and whether the window's
        # cells (consecutive grid starts, first to last) hold a claim of theirs
        first, last = day_bounds(self.day, station.tz)
        rows = self.conn.execute(
            f"SELECT technician_id, count(*), max(slot_start BETWEEN ? AND ?) FROM technician_claim"
            f" WHERE technician_id IN ({', '.join('?' * len(ids))}) AND slot_start >= ? AND slot_start < ?"
            " GROUP BY technician_id",
            (to_db_time(starts[0]), to_db_time(starts[-1]), *ids, to_db_time(first), to_db_time(last)),
        )
        for technician_id, claimed_today, clashes in rows:
            load[technician_id] = claimed_today
            if clashes:
                busy.add(technician_id)
        chosen = pick_technician(rostered, available=set(ids) - busy, load=load)
        return None if chosen is None else chosen.id


def _busy_bays(conn: Connection, bays: Sequence[Bay], starts: Sequence[datetime]) -> set[str]:
    """Bays with any of the cells claimed (a lapsed hold's claim too, until it is swept)."""
    if not bays:
        return set()
    cells = [to_db_time(s) for s in starts]
    return {
        row[0]
        for row in conn.execute(
            f"SELECT DISTINCT bay_id FROM slot_claim WHERE bay_id IN ({', '.join('?' * len(bays))})"
            f" AND slot_start IN ({', '.join('?' * len(cells))})",
            (*[b.id for b in bays], *cells),
        )
    }

