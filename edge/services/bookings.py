"""Booking services: book, hold, confirm, reschedule, cancel, check in, progress, no-show, expiry."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta

from edge.domain.booking_state import (
    RESCHEDULABLE_STATES,
    BookingState,
    Progress,
    advance_progress,
    check_transition,
)
from edge.domain.delivery import ServiceReportInput
from edge.domain.plates import normalize_plate, validate_plate
from edge.domain.catalog import Catalog
from edge.domain.slots import cells_needed, day_bounds, local_day, resolve_wall_time
from edge.domain.tokens import issue_token
from edge.errors import EdgeError, InvalidInput, InvalidTransition, NotFound, RuleViolation
from edge.services import booking_pipeline, delivery, deposits, enterprise_bookings, inventory, waitlist
from edge.services.booking_store import (
    BookingRecord,
    LegRecord,
    firm_up_claims,
    get_booking,
    legs_of,
    query_bookings,
    release_cells,
    update_booking,
)
from edge.services.members import (
    adjust_credit,
    customer_of,
    find_member,
    get_member,
    register_member,
    store_vehicle_size,
)
from edge.services.one_car_per_bay import car_in_bay, move_booking
from edge.services.placement import Wishes, claim_placement, expire_lapsed_holds
from edge.services.station import Station
from edge.services.vehicle_sizes import car_size, plan_for_car
from edge.domain.ids import uuid7
from edge.store.outbox import append_event
from edge.store.types import to_db_time

CHANNELS = ("terminal", "phone", "walk_in", "app", "hq")


def book(
    station: Station,
    *,
    services: list[str],
    start: datetime,
    plate: str,
    bay_id: str | None = None,
    technician: str | None = None,
    phone: str | None = None,
    member_id: str | None = None,
    channel: str = "terminal",
    hold: bool = False,
    notes: str = "",
    deposit_minor: int = 0,
    deposit_method: str = "wechat_pay",
    now: datetime | None = None,
    sub_account_id: str | None = None,
    foreign_plate: bool = False,
    allow_overlap: bool = False,
    size_class: str | None = None,
) -> BookingRecord:
    """Book (or hold) `services` for `plate` from `start`; one transaction, one booking event.

    `start` without an offset is the station's wall time (edge.domain.slots.resolve_wall_time).
    The plate must have a mainland format unless `foreign_plate`. A car has one live booking
    at a time: one overlapping another of the same plate is refused naming that booking, unless
    a fleet booking (`sub_account_id`) says `allow_overlap`, which the booking then records.

    Services no one bay can do together become legs on several bays, one after the other
    (edge.domain.legs). `bay_id` names the bay of the leg that can use it, `technician` (id or
    name) the technician for the legs they have the skills for; otherwise the first free bay and the
    least-loaded rostered technician are taken. A phone number that is not yet a member
    registers one at the guest tier. A member whose credit score asks for a deposit books only
    with `deposit_minor`, paid by `deposit_method` and held in the money ledger until checkout
    applies it, a no-show or late cancellation forfeits it, or a timely cancellation returns it
    (edge.services.deposits). With `sub_account_id` it is a fleet
    booking on an enterprise's account: the enterprise's permissions, limits and approval rules
    apply (edge.services.enterprise_bookings), and a booking that needs approval is written
    `pending_approval` instead of held or confirmed. The steps are edge.services.booking_pipeline's.
    Durations and prices are those of the car's size class: `size_class` (then stored on the
    car) or the class stored for the car (edge.services.vehicle_sizes).
    """
    now = now or station.clock()
    if channel not in CHANNELS:
        raise InvalidInput("channel", f"unknown channel {channel!r} (one of {', '.join(CHANNELS)})")
    if allow_overlap and sub_account_id is None:
        raise InvalidInput("allow_overlap", "only a fleet booking (a company's sub-account) may overlap another "
                                            "booking of the same car")
    plate = validate_plate(plate, foreign=foreign_plate)
    start = resolve_wall_time(start, station.tz)
    with station.store.write() as conn:
        size = car_size(conn, station, plate, size_class)
        # a sub-account may name its enterprise's own package: its services at the agreed price
        plan = (enterprise_bookings.plan_for(station, sub_account_id, services, size) if sub_account_id
                else station.catalog().plan(services, size))
        # a regular's car finds its member, so their tier rules and points apply; a new phone enrols one
        member = get_member(conn, member_id) if member_id is not None else customer_of(conn, phone=phone, plate=plate)
        if member is None and phone:
            member = register_member(conn, station, phone=phone, now=now)
        ask = booking_pipeline.Ask(
            plan=plan, start=start, plate=plate, member=member, channel=channel, hold=hold,
            deposit_minor=deposit_minor, deposit_method=deposit_method, sub_account_id=sub_account_id, codes=tuple(services),
            allow_overlap=allow_overlap, wishes=_wishes(station, bay_id, technician),
        )
        booking = booking_pipeline.run(conn, station, ask, booking_id=uuid7(), notes=notes, now=now)
        if size_class is not None:
            store_vehicle_size(conn, station, plate=plate, size_class=size_class, now=now)
        return booking


def _wishes(station: Station, bay_id: str | None, technician: str | None) -> Wishes:
    """The bay and technician asked for (a technician by id or name)."""
    return Wishes(bay_id=bay_id, technician_id=station.catalog().technician(technician).id if technician else None)


def confirm(station: Station, ref: str, *, now: datetime | None = None) -> BookingRecord:
    """A held booking becomes firm: its cells no longer lapse."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        if booking.state == BookingState.HELD and booking.hold_until and booking.hold_until <= now:
            raise InvalidTransition(f"booking {booking.code} hold lapsed at {station.local(booking.hold_until):%H:%M}")
        if booking.state in (BookingState.PENDING_APPROVAL, BookingState.TENTATIVE):
            # only the approvers (or the cell's owner) decide these: see `approve` / sync
            raise InvalidTransition(f"booking {booking.code} is {booking.state}; it is confirmed by its decision, "
                                    "not at the counter")
        check_transition(booking.code, booking.state, BookingState.CONFIRMED)
        firm_up_claims(conn, booking)
        return update_booking(conn, station, booking, "booking.confirmed", now=now,
                              state=BookingState.CONFIRMED, hold_until=None)


def cancel(station: Station, ref: str, *, reason: str = "", now: datetime | None = None) -> BookingRecord:
    """Cancel and give the cells back (offered to the waitlist in the same transaction)."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        check_transition(booking.code, booking.state, BookingState.CANCELLED)
        release_cells(conn, booking)
        cancelled = update_booking(conn, station, booking, "booking.cancelled", now=now,
                                   state=BookingState.CANCELLED, reason=reason, hold_until=None)
        late = _is_late_cancel(station, booking, now)
        if booking.member_id and late:
            member = get_member(conn, booking.member_id)
            adjust_credit(conn, station, member, -station.settings.credit.late_cancel_penalty, now=now)
        if late:
            deposits.forfeit(conn, station, booking, reason=f"late cancellation of booking {booking.code}", now=now)
        else:
            deposits.give_back(conn, station, booking, reason=f"booking {booking.code} cancelled in time", now=now)
        waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
        return cancelled


def _is_late_cancel(station: Station, booking: BookingRecord, now: datetime) -> bool:
    hours = station.settings.credit.late_cancel_hours
    return booking.state != BookingState.HELD and (booking.start_at - now).total_seconds() < hours * 3600


def reschedule(
    station: Station, ref: str, *, start: datetime, bay_id: str | None = None, technician: str | None = None,
    now: datetime | None = None,
) -> BookingRecord:
    """Move a booking, all its legs, to a new start (and bay) atomically: if the new cells are
    taken, the transaction rolls back and the booking keeps its old cells."""
    now = now or station.clock()
    start = resolve_wall_time(start, station.tz)
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        if booking.state not in RESCHEDULABLE_STATES:
            raise InvalidTransition(f"booking {booking.code} is {booking.state}; only bookings not yet arrived move")
        if booking.state == BookingState.TENTATIVE:
            raise InvalidTransition(f"booking {booking.code} is tentative: HQ decides on its cells (cancel and book "
                                    "again to move it)")
        old_legs = legs_of(conn, booking.id)
        # the booking's own service list (a package already expanded, extras kept): the same
        # work needs the same cells; the agreed price stays as it was. Its own bays are tried first.
        ask = booking_pipeline.Ask(
            plan=plan_for_car(conn, station, booking.services, booking.plate), start=start, plate=booking.plate,
            member=get_member(conn, booking.member_id) if booking.member_id else None, channel=booking.channel,
            allow_overlap=booking.overlap_allowed, booking_id=booking.id,
            wishes=replace(_wishes(station, bay_id, technician), prefer_bays=frozenset(leg.bay_id for leg in old_legs)),
        )
        booking_pipeline.admit(conn, station, ask, now=now, credit=False)
        release_cells(conn, booking, legs=old_legs)
        placement = booking_pipeline.place(conn, station, ask, now=now)
        hq_legs = booking_pipeline.own(conn, station, placement).hq_legs
        if hq_legs:
            leg = hq_legs[0]
            raise RuleViolation(f"bay {leg.bay.id} at {station.local(leg.starts[0]):%Y-%m-%d %H:%M} is HQ's to sell "
                                "(slot escrow); choose another time or bay")
        claim_placement(conn, booking_id=booking.id, placement=placement, hold_until=booking.hold_until)
        legs = placement.records()
        moved = update_booking(
            conn, station, booking, "booking.rescheduled", now=now, legs=legs, bay_id=legs[0].bay_id,
            technician_id=legs[0].technician_id, start_at=legs[0].start_at, end_at=legs[-1].end_at, leg=0,
        )
        _reissue_token(conn, station, moved, now)
        waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
        return moved


def check_in(station: Station, ref: str, *, now: datetime | None = None) -> BookingRecord:
    """The car of booking `ref` has arrived: checked in by the arrival rule; a refusal raises
    (NotFound, InvalidTransition for the booking's state, RuleViolation for the time or token)."""
    from edge.services import arrivals  # imported here: arrivals reaches this module through live_state

    outcome = arrivals.arrive(station, ref, by=arrivals.By.BOOKING, now=now)
    if isinstance(outcome, arrivals.Refused):
        raise outcome.error()
    return outcome.booking


def set_progress(station: Station, ref: str, stage: str, *, now: datetime | None = None) -> BookingRecord:
    """Move the service progress the customer sees; `done` completes the booking.

    A car goes into its bay only while no other booking is in it (RuleViolation naming that one).
    """
    now = now or station.clock()
    try:
        target = Progress(stage)
    except ValueError:
        raise InvalidInput("stage", f"unknown progress stage {stage!r} (one of {', '.join(Progress)})") from None
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        current = Progress(booking.progress) if booking.progress else None
        state = advance_progress(booking.code, booking.state, current, target)
        if state == BookingState.COMPLETED:
            legs = legs_of(conn, booking.id)
            if booking.leg < len(legs) - 1:
                return _next_leg(conn, station, booking, legs, now)
            return _complete(conn, station, booking, now)
        return move_booking(conn, station, booking, now=now, state=state, progress=target)


def _next_leg(conn, station: Station, booking: BookingRecord, legs, now: datetime) -> BookingRecord:
    """The car's leg is done: it moves on to the next leg's bay, straight in if that bay is empty,
    else it waits checked in; the finished leg's cells not yet begun go back to the grid."""
    done, following = legs[booking.leg], legs[booking.leg + 1]
    released = release_cells(conn, booking, from_start=now, legs=(done,))
    progress = Progress.RECEIVED if car_in_bay(conn, following.bay_id) is not None else Progress.IN_BAY
    moved = move_booking(conn, station, booking, now=now, state=BookingState.CHECKED_IN, progress=progress,
                         leg=following.seq, bay_id=following.bay_id, technician_id=following.technician_id)
    if released:
        waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
    return moved


def complete(
    station: Station, ref: str, *, report: ServiceReportInput | None = None, mileage_km: int | None = None,
    now: datetime | None = None,
) -> BookingRecord:
    """Service done: the car leaves with its service report; cells not yet begun go back to the grid.

    Only a checked-in (or in-service) booking completes: the arrival rule lets a car check in
    only around its booked time, so another day's booking cannot be completed ahead of it."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        if booking.state in (BookingState.HELD, BookingState.CONFIRMED):
            raise InvalidTransition(f"booking {booking.code} was never checked in ({booking.state}): "
                                    "check the car in first")
        check_transition(booking.code, booking.state, BookingState.COMPLETED)
        return _complete(conn, station, booking, now, report=report, mileage_km=mileage_km)


def _complete(
    conn, station: Station, booking: BookingRecord, now: datetime, *,
    report: ServiceReportInput | None = None, mileage_km: int | None = None,
) -> BookingRecord:
    # the report and the feedback request go out ahead of the completion event, so HQ and the
    # app never show a completed booking without its report
    delivery.record_service_report(conn, station, booking, report=report, mileage_km=mileage_km, now=now)
    delivery.request_feedback(conn, station, booking, now=now)
    released = release_cells(conn, booking, from_start=now)
    done = update_booking(conn, station, booking, "booking.completed", now=now,
                          state=BookingState.COMPLETED, progress=str(Progress.DONE))
    inventory.consume_for_booking(conn, station, done, now)
    if booking.member_id:
        adjust_credit(conn, station, get_member(conn, booking.member_id),
                      station.settings.credit.completed_bonus, now=now)
    if released:
        waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
    return done


def mark_no_show(station: Station, ref: str, *, now: datetime | None = None) -> BookingRecord:
    """The customer did not come: release the cells, lower the member's credit score."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        check_transition(booking.code, booking.state, BookingState.NO_SHOW)
        if now < booking.start_at:
            raise InvalidTransition(f"booking {booking.code} starts at {station.local(booking.start_at):%H:%M}; not a no-show yet")
        release_cells(conn, booking)
        missed = update_booking(conn, station, booking, "booking.no_show", now=now, state=BookingState.NO_SHOW)
        deposits.forfeit(conn, station, booking, reason=f"no-show on booking {booking.code}", now=now)
        if booking.member_id:
            adjust_credit(conn, station, get_member(conn, booking.member_id),
                          -station.settings.credit.no_show_penalty, now=now)
        waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
        return missed


def expire_holds(station: Station, *, now: datetime | None = None) -> list[BookingRecord]:
    """Expire every lapsed hold and offer the freed cells to the waitlist."""
    now = now or station.clock()
    with station.store.write() as conn:
        expired = expire_lapsed_holds(conn, station, now)
        for day in sorted({local_day(b.start_at, station.tz) for b in expired}):
            waitlist.offer_freed(conn, station, day=day, now=now)
        return expired


def bookings_on(station: Station, day: date) -> list[BookingRecord]:
    """Every booking starting on the local `day`, in start order."""
    first, last = day_bounds(day, station.tz)
    with station.store.read() as conn:
        return query_bookings(
            conn, "start_at >= ? AND start_at < ? ORDER BY start_at, bay_id", (to_db_time(first), to_db_time(last))
        )


def booking(station: Station, ref: str) -> BookingRecord:
    with station.store.read() as conn:
        return get_booking(conn, ref)


def legs(station: Station, ref: str) -> tuple[LegRecord, ...]:
    """The booking's legs in order: one for work one bay does, one per bay it moves through otherwise."""
    with station.store.read() as conn:
        return legs_of(conn, get_booking(conn, ref).id)


def leg_occupied_until(station: Station, catalog: Catalog, leg: LegRecord) -> datetime:
    """The end of the leg's last claimed cell: its work as booked (its car's size class's) and its
    bay's turnover, rounded up to the grid."""
    try:
        turnover = max(part.buffer_minutes for part in catalog.plan(list(leg.services)).legs)
    except EdgeError:  # a service since dropped from the catalogue: its booked work alone
        turnover = 0
    minutes = int((leg.end_at - leg.start_at).total_seconds() // 60) + turnover
    slot = station.slot_minutes
    return leg.start_at + timedelta(minutes=cells_needed(minutes, slot) * slot)


def legs_on(station: Station, day: date) -> dict[str, tuple[LegRecord, ...]]:
    """The legs of every booking starting on the local `day`, by booking id."""
    first, last = day_bounds(day, station.tz)
    found: dict[str, list[LegRecord]] = {}
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT l.booking_id, l.seq, l.bay_id, l.technician_id, l.start_at, l.end_at, l.services"
            " FROM booking b JOIN booking_leg l ON l.booking_id = b.id WHERE b.start_at >= ? AND b.start_at < ?"
            " ORDER BY l.booking_id, l.seq", (to_db_time(first), to_db_time(last)),
        )
        for booking_id, *leg in rows:
            found.setdefault(booking_id, []).append(LegRecord.from_row(leg))
    return {booking_id: tuple(each) for booking_id, each in found.items()}


NOTES_MAX_CHARS = 500


def set_notes(station: Station, ref: str, notes: str, *, now: datetime | None = None) -> BookingRecord:
    """Replace the booking's notes (what the customer asked for, what the attendant saw)."""
    notes = notes.strip()
    if len(notes) > NOTES_MAX_CHARS:
        raise RuleViolation(f"notes are at most {NOTES_MAX_CHARS} characters, not {len(notes)}")
    now = now or station.clock()
    with station.store.write() as conn:
        current = get_booking(conn, ref)
        if current.notes == notes:
            return current
        return update_booking(conn, station, current, "booking.notes", now=now, notes=notes)


def booking_token(station: Station, ref: str) -> str:
    """The signed token the booking's QR carries: of its current generation, valid on its local day."""
    key = _token_key(station)
    with station.store.read() as conn:
        record = get_booking(conn, ref)
        return _token(station, record, token_generation(conn, record.id), key)


def token_generation(conn, booking_id: str) -> int:
    """The booking's current token generation: 0 until it is first rescheduled."""
    row = conn.execute("SELECT generation FROM booking_token WHERE booking_id = ?", (booking_id,)).fetchone()
    return row[0] if row else 0


def _token_key(station: Station) -> str:
    key = station.settings.security.token_key
    if key is None:
        raise RuleViolation("no [security] token_key in the config: tokens cannot be signed")
    return key


def _token(station: Station, record: BookingRecord, generation: int, key: str) -> str:
    # valid over the booking's local day(s): when on that day the car may come is the arrival rule's to say
    valid_from = day_bounds(local_day(record.start_at, station.tz), station.tz)[0]
    valid_until = day_bounds(local_day(record.end_at, station.tz), station.tz)[1]
    return issue_token(record.id, station.settings.station.id, valid_from, valid_until, key.encode(),
                       generation=generation)


def _reissue_token(conn, station: Station, booking: BookingRecord, now: datetime) -> None:
    """A moved booking's earlier QR tokens go stale; HQ is sent the new one for the customer."""
    generation = conn.execute(
        "INSERT INTO booking_token (booking_id, generation) VALUES (?, 1) ON CONFLICT (booking_id)"
        " DO UPDATE SET generation = generation + 1 RETURNING generation", (booking.id,),
    ).fetchone()[0]
    key = station.settings.security.token_key
    if key is None:
        return  # this station issues no tokens: nothing to send
    append_event(
        conn, event_type="token.issued", entity_id=booking.id, idem_key=f"token:{booking.id}:{generation}",
        body={"booking_id": booking.id, "code": booking.code, "generation": generation,
              "token": _token(station, booking, generation, key), "station": station.settings.station.id},
        now=now,
    )


def member_for_phone(station: Station, phone: str):
    with station.store.read() as conn:
        return find_member(conn, phone=phone)
