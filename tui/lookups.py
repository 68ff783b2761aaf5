"""The reads behind the screens other than the board and check-in; each runs in a worker thread.

Where `edge` has no read service (bookings by plate, a booking's member) the read uses
edge's own query helpers on a read transaction; nothing here writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from edge.domain.booking_state import PROGRESS_NEXT, RELEASING_STATES, BookingState, Progress
from edge.domain.capacity import StartOption
from edge.domain.escrow import HQ
from edge.domain.plates import normalize_plate
from edge.domain.roster import RosterException
from edge.domain.tiers import check_booking_rights
from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import availability, bookings, members, roster, waitlist, walk_in_reserve
from edge.services.booking_store import BookingRecord, LegRecord, query_bookings
from edge.services.cell_ownership import cell_owners
from edge.services.live_state import technicians_on_shift
from edge.services.members import MemberProfile, MemberRecord, find_member
from edge.services.station import Station
from edge.store.catalog import load_catalog

HISTORY_LIMIT = 100


# -- booking detail --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BookingView:
    booking: BookingRecord
    member: MemberRecord | None
    next_stages: tuple[Progress, ...]
    legs: tuple[LegRecord, ...] = ()  # in order; the car is on legs[booking.leg]


def booking_view(station: Station, ref: str) -> BookingView:
    with station.store.read() as conn:
        booking = bookings.booking(station, ref)
        member = find_member(conn, member_id=booking.member_id) if booking.member_id else None
        legs = bookings.legs(station, booking.id)
    return BookingView(booking, member, next_stages(booking), legs)


def next_stages(booking: BookingRecord) -> tuple[Progress, ...]:
    """The progress stages the booking may move to now, in the order a car goes through them."""
    if booking.state not in (BookingState.CHECKED_IN, BookingState.IN_SERVICE):
        return ()
    current = Progress(booking.progress) if booking.progress else Progress.RECEIVED
    return tuple(stage for stage in Progress if stage in PROGRESS_NEXT[current])


# -- new booking -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slots:
    services: tuple[str, ...]
    day: date
    bay_ids: tuple[str, ...]
    starts: tuple[datetime, ...]  # every cell start of the day, the rows of the picker
    free: dict[tuple[str, datetime], StartOption]  # what this customer may book
    kept: frozenset[tuple[str, datetime]]  # free, but not for this customer's tier
    kept_reason: str  # why (the tier rule's own words), '' if nothing is kept
    hq: frozenset[tuple[str, datetime]] = frozenset()  # HQ's cells (slot escrow): a booking there is tentative
    tentative: frozenset[tuple[str, datetime]] = frozenset()  # cells claimed by bookings HQ has yet to decide
    reserved: frozenset[tuple[str, datetime]] = frozenset()  # free, but the walk-in reserve's for this channel
    size_class: str | None = None  # the car's size class the starts are for


def free_slots(station: Station, *, day: date, services: list[str], tier: str | None,
               channel: str = "walk_in", size_class: str | None = None) -> Slots:
    """The picker's content: free starts for the services (for a car of `size_class`), those the
    tier rules keep back, and those the walk-in reserve keeps from `channel` (a phone booking) for now."""
    plan = station.catalog().plan(services, size_class)
    every = availability.free_starts(station, day=day, services=services, size_class=size_class)
    tier = tier or station.settings.booking.guest_tier
    allowed = availability.free_starts(station, day=day, services=services, tier=tier, size_class=size_class)
    closed = walk_in_reserve.closed_cells(station, day, channel=channel, now=station.clock())
    reserved = frozenset((o.bay_id, o.start) for o in allowed if walk_in_reserve.touches(o, closed))
    free = {(o.bay_id, o.start): o for o in allowed if (o.bay_id, o.start) not in reserved}
    kept = frozenset((o.bay_id, o.start) for o in every) - {(o.bay_id, o.start) for o in allowed}
    reason = ""
    if kept:
        now = station.clock()
        first = min(kept, key=lambda key: key[1])
        try:
            check_booking_rights(
                tier=station.tier(tier), local_start=station.local(first[1]), local_now=station.local(now),
                hot_slots=station.hot_slots, min_notice_minutes=station.settings.booking.min_notice_minutes,
            )
        except RuleViolation as err:
            reason = str(err)
    bays = tuple(bay.id for bay in station.catalog().bays_for(plan.legs[0]))
    owners = cell_owners(station, day)
    hq = frozenset(key for key, owner in owners.items() if owner == HQ and key[0] in bays)
    return Slots(tuple(services), day, bays, tuple(cell.start for cell in station.grid(day)), free, kept, reason,
                 hq=hq, tentative=tentative_cells(station, day), reserved=reserved, size_class=size_class)


def tentative_cells(station: Station, day: date) -> frozenset[tuple[str, datetime]]:
    """(bay, cell start) of every cell a tentative booking of `day` claims."""
    catalog = station.catalog()
    waiting = [b.id for b in bookings.bookings_on(station, day) if b.state == BookingState.TENTATIVE]
    legs = bookings.legs_on(station, day)
    return frozenset((leg.bay_id, cell.start) for booking_id in waiting for leg in legs.get(booking_id, ())
                     for cell in station.grid(day)
                     if leg.start_at <= cell.start < bookings.leg_occupied_until(station, catalog, leg))


def member_for(station: Station, *, phone: str, plate: str) -> MemberProfile | None:
    """The member behind a phone number or a plate; None for a guest."""
    for key in (phone.strip(), plate.strip()):
        if key:
            try:
                return members.lookup(station, key)
            except (NotFound, InvalidInput):  # not (yet) a phone number or a plate
                continue
    return None


# -- members, technicians, waitlist -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberView:
    key: str
    profile: MemberProfile | None
    history: tuple[BookingRecord, ...]  # newest first


def member_view(station: Station, key: str) -> MemberView:
    """A member (by phone or plate) and the bookings of their vehicles, or of the plate alone."""
    key = key.strip()
    try:
        profile: MemberProfile | None = members.lookup(station, key)
    except NotFound:
        profile = None
    plates = list(profile.plates) if profile else [normalize_plate(key)]
    return MemberView(key, profile, tuple(plate_history(station, plates)))


def plate_history(station: Station, plates: list[str]) -> list[BookingRecord]:
    if not plates:
        return []
    with station.store.read() as conn:
        return query_bookings(
            conn, f"plate IN ({', '.join('?' * len(plates))}) ORDER BY start_at DESC LIMIT {HISTORY_LIMIT}",
            tuple(plates),
        )


@dataclass(frozen=True, slots=True)
class TechnicianDay:
    id: str
    name: str
    skills: tuple[str, ...]
    shifts: tuple[tuple[datetime, datetime], ...]
    on_shift: bool
    legs: tuple[tuple[BookingRecord, LegRecord], ...]  # the legs of today's live bookings given to them
    card_id: str | None = None
    clocked_in_at: datetime | None = None  # at the station now
    exception: RosterException | None = None  # today's, already applied to `shifts`


@dataclass(frozen=True, slots=True)
class TechniciansToday:
    now: datetime
    technicians: list[TechnicianDay]
    exceptions: list[RosterException]  # from today on, by date


def technicians_today(station: Station) -> TechniciansToday:
    now = station.clock()
    day = station.local(now).date()
    todays = [b for b in bookings.bookings_on(station, day) if b.state not in RELEASING_STATES]
    legs = bookings.legs_on(station, day)
    with station.store.read() as conn:
        catalog = load_catalog(conn)  # afresh: the roster may have come from HQ since the UI started
        present = {p.technician_id: p.clocked_in_at for p in technicians_on_shift(station)}
        upcoming = roster.exceptions(station, since=day)  # in the same read as the shifts below
        today = {e.technician_id: e for e in upcoming if e.day == day}
        rows = []
        for technician in catalog.technicians.values():
            shifts = station.shifts(technician, day)
            rows.append(TechnicianDay(
                technician.id, technician.name, tuple(sorted(technician.skills)), shifts,
                any(start <= now < end for start, end in shifts),
                tuple((b, leg) for b in todays for leg in legs.get(b.id, ()) if leg.technician_id == technician.id),
                technician.card_id, present.get(technician.id), today.get(technician.id),
            ))
    return TechniciansToday(now, rows, upcoming)


def waitlist_from_today(station: Station) -> list[tuple[waitlist.WaitlistRecord, BookingRecord | None]]:
    """Entries from today on, each with the booking offered to it (if any)."""
    today = station.local(station.clock()).date()
    entries = [e for e in waitlist.entries(station) if e.day >= today.isoformat()]
    offered = [e.offered_booking_id for e in entries if e.offered_booking_id]
    found: dict[str, BookingRecord] = {}
    if offered:
        with station.store.read() as conn:
            found = {b.id: b for b in query_bookings(
                conn, f"id IN ({', '.join('?' * len(offered))})", tuple(offered))}
    return [(e, found.get(e.offered_booking_id or "")) for e in entries]
