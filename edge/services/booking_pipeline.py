"""The booking pipeline: admission -> placement -> ownership -> side effects.

Every way a booking comes to be or moves runs these steps in one write transaction: a booking
at the counter or on the phone, a hold, a reschedule, a waitlist offer, a fleet booking.
Each step is small and tested on its own:

- `admit`: may this customer book this start at all? Their tier (horizon, hot slots, notice),
  their credit score (holds, deposits, same day only) and, for a fleet, the enterprise's rules.
- `place`: bays and technicians for every leg (off the walk-in reserve for the phone and the app),
  and the car itself free over the whole booking.
- `own`: who owns the cells placed on: a leg on HQ's cells makes the booking tentative.
- `write`: the booking row, its legs and claims, HQ's question about its cells, the fleet's
  records, the deposit; each with its outbox event.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.catalog import WorkPlan
from edge.domain.tiers import TierRule, check_booking_rights, check_credit_rights, credit_rights, hold_deadline
from edge.errors import RuleViolation
from edge.services import deposits, enterprise_bookings, escrow
from edge.services.booking_store import BookingRecord, insert_booking, new_booking, require_car_free
from edge.services.cell_ownership import station_owns
from edge.services.members import MemberRecord, register_vehicle
from edge.services.placement import Placement, PlacedLeg, Wishes, check_wishes, choose_placement, claim_placement
from edge.services.station import Station


@dataclass(frozen=True, slots=True)
class Ask:
    """What is asked: the work, from when, for which car and customer, through which channel."""

    plan: WorkPlan
    start: datetime
    plate: str
    member: MemberRecord | None
    channel: str
    hold: bool = False
    deposit_minor: int = 0
    deposit_method: str = "wechat_pay"
    sub_account_id: str | None = None
    codes: tuple[str, ...] = ()  # as the customer named them (a fleet's own package code)
    allow_overlap: bool = False
    wishes: Wishes = Wishes()
    booking_id: str | None = None  # the booking being moved, when it is a reschedule


@dataclass(frozen=True, slots=True)
class Admission:
    """The customer may book the start: their tier, and the fleet's verdict for a fleet booking."""

    tier: TierRule
    fleet: enterprise_bookings.FleetAdmission | None
    hold_until: datetime | None  # when a hold asked for lapses (the tier may hold at all)

    @property
    def pending_approval(self) -> bool:
        # a booking awaiting approval keeps its cells until the approval deadline, not a hold's
        return self.fleet is not None and self.fleet.needs_approval


def admit(conn: Connection, station: Station, ask: Ask, *, now: datetime, credit: bool = True) -> Admission:
    """Check the customer's rights to book `ask.start` (RuleViolation names the rule broken).

    `credit` is off for a booking that moves: its deposit and hold were settled when it was made.
    The bay and technician asked for are checked first: a typo is named before any rule.
    """
    check_wishes(station, ask.plan, ask.wishes)
    tier = station.tier(ask.member.tier if ask.member else None)
    check_booking_rights(
        tier=tier, local_start=station.local(ask.start), local_now=station.local(now),
        hot_slots=station.hot_slots, min_notice_minutes=station.settings.booking.min_notice_minutes,
    )
    if credit and ask.member is not None:
        check_credit_rights(
            credit_rights(ask.member.credit_score, station.credit_rule), score=ask.member.credit_score,
            hold=ask.hold, local_start=station.local(ask.start), local_now=station.local(now),
            deposit_minor=ask.deposit_minor, money=station.money,
        )
    fleet = None
    if ask.sub_account_id is not None:
        fleet = enterprise_bookings.admit(conn, station, sub_account_id=ask.sub_account_id, codes=list(ask.codes),
                                          plan=ask.plan, plate=ask.plate, start=ask.start)
    hold_until = hold_deadline(tier, now) if ask.hold and not (fleet and fleet.needs_approval) else None
    return Admission(tier, fleet, hold_until)


def place(conn: Connection, station: Station, ask: Ask, *, now: datetime) -> Placement:
    """Bays and technicians for every leg from `ask.start`; the car must be free from the first
    leg's start to the last one's end (one live booking per car, unless a fleet allows overlap)."""
    placement = choose_placement(conn, station, plan=ask.plan, start=ask.start, now=now, wishes=ask.wishes,
                                 channel=ask.channel)
    if not ask.allow_overlap:
        records = placement.records()
        require_car_free(conn, station, plate=ask.plate, start=records[0].start_at, end=records[-1].end_at,
                         now=now, booking_id=ask.booking_id)
    return placement


@dataclass(frozen=True, slots=True)
class Ownership:
    """Which of the placed legs lie on cells HQ owns (HQ sells them in the app)."""

    hq_legs: tuple[PlacedLeg, ...]

    @property
    def tentative(self) -> bool:
        """A booking with a leg on HQ's cells holds them, tentative, until HQ answers for all of them;
        its legs on the station's own cells are settled already."""
        return bool(self.hq_legs)


def own(conn: Connection, station: Station, placement: Placement) -> Ownership:
    return Ownership(tuple(leg for leg in placement.legs
                           if not station_owns(conn, station, leg.bay.id, leg.starts)))


def state_of(ask: Ask, admission: Admission, ownership: Ownership) -> BookingState:
    """A new booking's first state: tentative on HQ's cells, then awaiting a fleet's approval, held or confirmed."""
    if ownership.tentative:
        if admission.pending_approval:
            raise RuleViolation("a fleet booking awaiting approval needs cells the station owns; these are HQ's")
        return BookingState.TENTATIVE
    if admission.pending_approval:
        return BookingState.PENDING_APPROVAL
    return BookingState.HELD if ask.hold else BookingState.CONFIRMED


def write(
    conn: Connection, station: Station, ask: Ask, admission: Admission, placement: Placement, ownership: Ownership,
    *, booking_id: str, notes: str, now: datetime,
) -> BookingRecord:
    """Write the new booking with its legs and claims, and everything that goes with it."""
    state = state_of(ask, admission, ownership)
    hold_until = admission.hold_until if state == BookingState.HELD else None
    register_vehicle(conn, plate=ask.plate, member_id=ask.member.id if ask.member else None, now=now)
    legs = placement.records()
    booking = new_booking(
        station, booking_id=booking_id, plan=ask.plan, legs=legs, plate=ask.plate,
        member_id=ask.member.id if ask.member else None, channel=ask.channel, state=state,
        hold_until=hold_until, notes=notes, now=now,
    )
    booking = insert_booking(conn, station, replace(booking, overlap_allowed=ask.allow_overlap), f"booking.{state}",
                             legs)
    claim_placement(conn, booking_id=booking_id, placement=placement, hold_until=hold_until)
    if ownership.tentative:
        escrow.ask_owner(conn, station, booking, ownership.hq_legs, now=now)
    if admission.fleet is not None:
        enterprise_bookings.record(conn, station, admission.fleet, booking, now=now)
    if ask.deposit_minor > 0:
        deposits.take(conn, station, booking, amount_minor=ask.deposit_minor, method=ask.deposit_method, now=now)
    return booking


def run(conn: Connection, station: Station, ask: Ask, *, booking_id: str, notes: str, now: datetime) -> BookingRecord:
    """The whole pipeline for a new booking, on the caller's write transaction."""
    admission = admit(conn, station, ask, now=now)
    placement = place(conn, station, ask, now=now)
    return write(conn, station, ask, admission, placement, own(conn, station, placement),
                 booking_id=booking_id, notes=notes, now=now)
