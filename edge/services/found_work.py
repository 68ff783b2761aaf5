"""Work found during service: add a service to a booking whose car is in, have it approved or
refused, lapse what waited too long. Each call is one transaction with its outbox events.

Where the work goes (edge.domain.found_work): the current leg goes on in its bay when its
following cells (and its technician's) are free; else a new leg later that day, at the first
start where it fits after the booking's last leg; else a follow-up booking for the same car on
another day. Work the customer has not yet approved holds its cells until a deadline; the app
asks them (the `found_work.added` event), and their answer comes back from HQ
(`found_work.decided` on the booking downlink stream) or is given at the terminal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from sqlite3 import Connection
from typing import Any

from edge.domain import found_work as rules
from edge.domain.booking_state import LIVE_STATES, BookingState
from edge.domain.capacity import on_shift
from edge.domain.catalog import WorkPlan
from edge.domain.found_work import Where, WorkState
from edge.domain.ids import uuid7
from edge.domain.legs import LegPlan, NoFit
from edge.domain.slots import local_day
from edge.errors import EdgeError, InvalidInput, NotFound, RuleViolation
from edge.services import booking_pipeline
from edge.services.booking_store import (
    BookingRecord,
    LegRecord,
    car_booking_at,
    claim_bay,
    claim_technician,
    firm_up_cells,
    firm_up_claims,
    get_booking,
    legs_of,
    release_cells,
    release_claims,
    update_booking,
)
from edge.services.cell_ownership import station_owns
from edge.services.members import get_member
from edge.services.placement import Placement, claim_placement, fit_at
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

FOLLOW_UP_DAYS = 14  # how far ahead a follow-up booking is looked for
DECIDERS = ("desk", "technician", "customer", "hq")

_COLUMNS = ("id, booking_id, service_code, state, placement, bay_id, technician_id, cells, follow_up_booking_id,"
            " price_minor, added_by, added_at, hold_until, decided_by, decided_at")


@dataclass(frozen=True, slots=True)
class FoundWork:
    """A service added to a booking in progress: where its cells are, its price, who decided."""

    id: str
    booking_id: str
    service_code: str
    state: WorkState
    placement: Where
    bay_id: str | None
    technician_id: str | None
    cells: tuple[datetime, ...]
    follow_up_booking_id: str | None
    price_minor: int
    added_by: str
    added_at: datetime
    hold_until: datetime | None
    decided_by: str | None
    decided_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> "FoundWork":
        data = dict(row)
        for key in ("added_at", "hold_until", "decided_at"):
            if data[key] is not None:
                data[key] = from_db_time(data[key])
        data["cells"] = tuple(from_db_time(cell) for cell in json.loads(data["cells"]))
        data["state"], data["placement"] = WorkState(data["state"]), Where(data["placement"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        for key in ("added_at", "hold_until", "decided_at"):
            if data[key] is not None:
                data[key] = to_db_time(data[key])
        data["cells"] = [to_db_time(cell) for cell in self.cells]
        data["state"], data["placement"] = str(self.state), str(self.placement)
        return data


def add_work(
    station: Station, ref: str, services: list[str], *, customer_present: bool = False, by: str = "desk",
    now: datetime | None = None,
) -> list[FoundWork]:
    """Add `services` to booking `ref` while its car is in; each goes where it fits first (the
    current leg, a new leg that day, a follow-up booking). Approved at once when the customer is
    present, else pending with its cells held until the approval deadline."""
    now = now or station.clock()
    _check_by(by)
    codes = [code.strip() for code in services if code.strip()]
    if not codes:
        raise InvalidInput("services", "name at least one service code")
    catalog = station.catalog()
    for code in codes:
        if code in catalog.packages:
            raise RuleViolation(f"{code} is a package: add its services one by one")
        if code not in catalog.services:
            raise NotFound(f"unknown service code {code!r}")
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        pending = [w.service_code for w in _work_of(conn, booking.id) if w.state == WorkState.PENDING]
        rules.check_can_add(booking.code, booking.state, [*booking.services, *pending, *codes])
        hold_until = None if customer_present else rules.approval_deadline(now)
        added = []
        for code in codes:
            booking, work = _place(conn, station, booking, code, hold_until=hold_until, by=by, now=now)
            added.append(work)
            if customer_present:
                booking, work = _decide(conn, station, booking, work, WorkState.APPROVED, by="customer", now=now)
                added[-1] = work
        return added


def approve(station: Station, ref: str, services: list[str] | None = None, *, by: str = "desk",
            now: datetime | None = None) -> list[FoundWork]:
    """The customer agrees to the pending work on booking `ref` (all of it, or `services`)."""
    return _decide_many(station, ref, services, WorkState.APPROVED, by=by, now=now)


def refuse(station: Station, ref: str, services: list[str] | None = None, *, by: str = "desk",
           now: datetime | None = None) -> list[FoundWork]:
    """The customer declines the pending work: its cells go back, it is never billed."""
    return _decide_many(station, ref, services, WorkState.REFUSED, by=by, now=now)


def work_on(station: Station, ref: str) -> list[FoundWork]:
    """The work added to booking `ref`, oldest first, whatever its state."""
    with station.store.read() as conn:
        return _work_of(conn, get_booking(conn, ref).id)


def lapse_overdue(station: Station, *, now: datetime | None = None) -> list[FoundWork]:
    """Pending work whose approval deadline has passed lapses: its cells go back."""
    now = now or station.clock()
    with station.store.write() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM found_work WHERE state = 'pending' AND hold_until < ?"
                            " ORDER BY added_at", (to_db_time(now),)).fetchall()
        lapsed = []
        for row in rows:
            work = FoundWork.from_row(row)
            booking = get_booking(conn, work.booking_id)
            lapsed.append(_decide(conn, station, booking, work, WorkState.LAPSED, by="deadline", now=now)[1])
        return lapsed


def billed(conn: Connection, booking: BookingRecord) -> rules.Billed:
    """The booking's bill split into the work booked and the approved added services (pending,
    refused or lapsed work is never in it)."""
    approved = conn.execute(
        "SELECT service_code, price_minor FROM found_work WHERE booking_id = ? AND state = 'approved'"
        " AND placement != 'follow_up' ORDER BY added_at", (booking.id,)).fetchall()
    return rules.split_bill(booking.services, booking.price_minor, [(code, price) for code, price in approved])


def apply_hq_decision(station: Station, conn: Connection, message_type: str, body: dict[str, Any],
                      now: datetime) -> None:
    """`found_work.decided` from HQ: the customer answered in the app. Work decided already
    (at the terminal, or lapsed) keeps that answer."""
    if message_type != "found_work.decided":
        raise RuleViolation(f"unknown found-work message {message_type!r}")
    decision = body.get("decision")
    if decision not in (WorkState.APPROVED, WorkState.REFUSED):
        raise RuleViolation("decision missing from HQ's message (approved or refused)")
    booking = get_booking(conn, str(body.get("booking_id", "")))
    code = str(body.get("service", ""))
    pending = [w for w in _work_of(conn, booking.id) if w.service_code == code and w.state == WorkState.PENDING]
    for work in pending:
        booking = _decide(conn, station, booking, work, WorkState(decision), by="hq", now=now)[0]


# -- placing the work ------------------------------------------------------------------------


def _place(conn: Connection, station: Station, booking: BookingRecord, code: str, *, hold_until: datetime | None,
           by: str, now: datetime) -> tuple[BookingRecord, FoundWork]:
    legs = legs_of(conn, booking.id)
    item = station.catalog().services[code]
    work = FoundWork(uuid7(), booking.id, code, WorkState.PENDING, Where.EXTENDED, None, None, (), None,
                     item.price_minor, by, now, hold_until, None, None)
    extended = _extend(conn, station, booking, legs, code, hold_until)
    if extended is not None:
        leg, cells = extended
        work = replace(work, bay_id=leg.bay_id, technician_id=leg.technician_id if cells else None, cells=cells)
        new_legs = tuple(leg if each.seq == leg.seq else each for each in legs)
    else:
        placement = _later_today(conn, station, legs, code, now)
        if placement is not None:
            claim_placement(conn, booking_id=booking.id, placement=placement, hold_until=hold_until)
            added = tuple(replace(record, seq=len(legs) + i) for i, record in enumerate(placement.records()))
            new_legs = legs + added
            work = replace(work, placement=Where.NEW_LEG, bay_id=added[0].bay_id,
                           technician_id=added[0].technician_id, cells=placement.legs[0].starts)
        else:
            follow = _follow_up(conn, station, booking, code, hold_until, now)
            work = replace(work, placement=Where.FOLLOW_UP, follow_up_booking_id=follow.id)
            new_legs = None
    if new_legs is not None:
        booking = update_booking(conn, station, booking, "booking.work_added", now=now, legs=new_legs,
                                 end_at=max(booking.end_at, new_legs[-1].end_at))
    _insert(conn, work)
    # what the app shows the customer it asks: the service by name, its price, when, until when
    append_event(conn, event_type="found_work.added", entity_id=work.id, idem_key=f"found_work:{work.id}:added",
                 body={"work": work.to_json(), "name_zh": item.name_zh, "name_en": item.name_en,
                       "booking_id": booking.id, "code": booking.code, "plate": booking.plate,
                       "member_id": booking.member_id, "station": station.settings.station.id,
                       "ask_customer": hold_until is not None}, now=now)
    return booking, work


def _extend(conn: Connection, station: Station, booking: BookingRecord, legs: tuple[LegRecord, ...], code: str,
            hold_until: datetime | None) -> tuple[LegRecord, tuple[datetime, ...]] | None:
    """The current leg with `code` joined, its extra cells claimed; None when its bay cannot do
    the service, or the cells after it (its technician's too) are not free."""
    catalog = station.catalog()
    leg = legs[booking.leg]
    bay = catalog.bays[leg.bay_id]
    before, after = _one_leg(station, leg.services), _one_leg(station, (*leg.services, code))
    if before is None or after is None or not bay.in_service or bay.id not in after.bay_ids:
        return None
    technician = leg.technician_id
    if after.skills and (technician is None or not after.skills <= catalog.technicians[technician].skills):
        return None
    day = local_day(leg.start_at, station.tz)
    cells = rules.extension_cells(station.grid(day), leg.start_at, before, after, station.slot_minutes)
    if cells is None:
        return None
    if booking.leg + 1 < len(legs):
        following = legs[booking.leg + 1]
        kinds = catalog.kinds()
        if not rules.leaves_room_for_next(station.leg_rules, after, leg.start_at, kinds[leg.bay_id],
                                          kinds[following.bay_id], following.start_at):
            return None
    grown = replace(leg, services=(*leg.services, code),
                    end_at=leg.start_at + timedelta(minutes=after.duration_minutes))
    if not cells:
        return grown, cells
    end = cells[-1] + timedelta(minutes=station.slot_minutes)
    if not station_owns(conn, station, bay.id, cells):
        return None
    if after.skills and not on_shift(station.shifts(catalog.technicians[technician], day), cells[0], end):
        return None
    if not claim_bay(conn, booking_id=booking.id, bay_id=bay.id, starts=list(cells), hold_until=hold_until):
        return None
    if after.skills and not claim_technician(conn, booking_id=booking.id, technician_id=technician,
                                             starts=list(cells)):
        release_claims(conn, booking_id=booking.id, bay_id=bay.id, technician_id=None, starts=list(cells))
        return None
    return grown, cells


def _one_leg(station: Station, services: tuple[str, ...]) -> LegPlan | None:
    """The services as one leg of work, or None when no one bay does them together."""
    try:
        plan = station.catalog().plan(list(services))
    except EdgeError:  # a service since dropped from the catalogue
        return None
    return plan.legs[0] if len(plan.legs) == 1 else None


def _later_today(conn: Connection, station: Station, legs: tuple[LegRecord, ...], code: str,
                 now: datetime) -> Placement | None:
    """The service as new legs at the first start that day, after the booking's last leg, where
    they fit on the station's own cells; None if no start does."""
    catalog = station.catalog()
    plan = _plan_of(station, code)
    last = legs[-1]
    last_plan = _one_leg(station, last.services)
    kinds = catalog.kinds()
    from_kind = kinds[last.bay_id]
    to_kinds = {kinds[bay.id] for bay in catalog.bays_for(plan.legs[0])}
    ready = (rules.ready_after(station.leg_rules, last_plan, last.start_at, from_kind, to_kinds)
             if last_plan is not None else last.end_at)
    day = local_day(last.start_at, station.tz)
    return _first_fit(conn, station, plan, day, max(ready, now), now)


def _plan_of(station: Station, code: str) -> WorkPlan:
    plan = station.catalog().plan([code])
    missing = next((leg for leg in plan.legs if not station.catalog().bays_for(leg)), None)
    if missing is not None:
        raise RuleViolation(f"no bay in service can do {code}")
    return plan


def _first_fit(conn: Connection, station: Station, plan: WorkPlan, day: date, earliest: datetime,
               now: datetime) -> Placement | None:
    for cell in station.grid(day):
        if cell.start < earliest:
            continue
        found = fit_at(conn, station, plan=plan, start=cell.start, now=now)
        if not isinstance(found, NoFit) and all(station_owns(conn, station, leg.bay.id, leg.starts)
                                                 for leg in found.legs):
            return found
    return None


def _follow_up(conn: Connection, station: Station, booking: BookingRecord, code: str, hold_until: datetime | None,
               now: datetime) -> BookingRecord:
    """A separate booking for the same car on the first later day the service fits: held until
    the approval deadline, or confirmed when approved already."""
    plan = _plan_of(station, code)
    today = local_day(now, station.tz)
    member = get_member(conn, booking.member_id) if booking.member_id else None
    for offset in range(1, FOLLOW_UP_DAYS + 1):
        placement = _first_fit(conn, station, plan, today + timedelta(days=offset), now, now)
        if placement is None:
            continue
        records = placement.records()
        if car_booking_at(conn, plate=booking.plate, start=records[0].start_at, end=records[-1].end_at, now=now,
                          booking_id=booking.id) is not None:
            continue  # the car is booked that day already: one live booking at a time
        ask = booking_pipeline.Ask(plan=plan, start=records[0].start_at, plate=booking.plate, member=member,
                                   channel=booking.channel, hold=hold_until is not None, codes=(code,))
        # the station offers this time itself: the customer's booking rights were settled by the booking
        admission = booking_pipeline.Admission(tier=station.tier(member.tier if member else None), fleet=None,
                                               hold_until=hold_until)
        return booking_pipeline.write(conn, station, ask, admission, placement, booking_pipeline.Ownership(()),
                                      booking_id=uuid7(), notes=f"work found during booking {booking.code}", now=now)
    raise RuleViolation(f"{code} fits nowhere today after booking {booking.code}'s work nor in the next "
                        f"{FOLLOW_UP_DAYS} days")


# -- deciding ---------------------------------------------------------------------------------


def _decide_many(station: Station, ref: str, services: list[str] | None, target: WorkState, *, by: str,
                 now: datetime | None) -> list[FoundWork]:
    now = now or station.clock()
    _check_by(by)
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        work = [w for w in _work_of(conn, booking.id) if services is None or w.service_code in services]
        pending = [w for w in work if w.state == WorkState.PENDING]
        named = {w.service_code for w in work}
        unknown = [code for code in services or () if code not in named]
        if unknown:
            raise NotFound(f"no work {', '.join(unknown)} was added to booking {booking.code}")
        if not pending:
            for each in work if services else ():  # named work decided already says so
                rules.check_decision(booking.code, each.service_code, each.state, target)
            raise NotFound(f"booking {booking.code} has no work awaiting the customer's approval")
        decided = []
        for each in pending:
            booking, done = _decide(conn, station, booking, each, target, by=by, now=now)
            decided.append(done)
        return decided


def _decide(conn: Connection, station: Station, booking: BookingRecord, work: FoundWork, target: WorkState, *,
            by: str, now: datetime) -> tuple[BookingRecord, FoundWork]:
    rules.check_decision(booking.code, work.service_code, work.state, target)
    if work.placement == Where.FOLLOW_UP:
        _decide_follow_up(conn, station, work, target, now)
    elif target == WorkState.APPROVED:
        if work.bay_id is not None:
            firm_up_cells(conn, booking_id=booking.id, bay_id=work.bay_id, starts=list(work.cells))
        booking = update_booking(conn, station, booking, "booking.work_added", now=now,
                                 services=(*booking.services, work.service_code),
                                 price_minor=booking.price_minor + work.price_minor)
    else:
        booking = _take_off(conn, station, booking, work, now)
    decided = replace(work, state=target, decided_by=by, decided_at=now, hold_until=None)
    conn.execute("UPDATE found_work SET state = ?, decided_by = ?, decided_at = ?, hold_until = NULL WHERE id = ?",
                 (str(target), by, to_db_time(now), work.id))
    append_event(conn, event_type="found_work.decided", entity_id=work.id,
                 idem_key=f"found_work:{work.id}:decided",
                 body={"work": decided.to_json(), "booking_id": booking.id, "code": booking.code,
                       "station": station.settings.station.id}, now=now)
    return booking, decided


def _decide_follow_up(conn: Connection, station: Station, work: FoundWork, target: WorkState, now: datetime) -> None:
    follow = get_booking(conn, work.follow_up_booking_id)
    if target == WorkState.APPROVED:
        if follow.state == BookingState.HELD:
            firm_up_claims(conn, follow)
            update_booking(conn, station, follow, "booking.confirmed", now=now, state=BookingState.CONFIRMED,
                           hold_until=None)
        elif follow.state != BookingState.CONFIRMED:
            raise RuleViolation(f"the follow-up booking {follow.code} is {follow.state}: book the work again")
    elif follow.state in LIVE_STATES:
        release_cells(conn, follow)
        update_booking(conn, station, follow, "booking.cancelled", now=now, state=BookingState.CANCELLED,
                       reason=f"added work {target}", hold_until=None)


def _take_off(conn: Connection, station: Station, booking: BookingRecord, work: FoundWork,
              now: datetime) -> BookingRecord:
    """Refused or lapsed work leaves its leg and gives its cells back; a leg of its own goes with
    it, unless the car has reached that leg (then only its cells not yet begun go back)."""
    legs = legs_of(conn, booking.id)
    leg = next((each for each in legs if work.service_code in each.services), None)
    reached = leg is not None and leg.services == (work.service_code,) and booking.leg >= leg.seq
    release_claims(conn, booking_id=booking.id, bay_id=work.bay_id or booking.bay_id, technician_id=work.technician_id,
                   starts=[cell for cell in work.cells if not reached or cell >= now])
    if reached:  # the car is in that bay: the cells it is using stay its own
        firm_up_cells(conn, booking_id=booking.id, bay_id=leg.bay_id, starts=[c for c in work.cells if c < now])
    if leg is None or reached:
        return booking
    if leg.services == (work.service_code,):
        kept = tuple(replace(each, seq=i) for i, each in enumerate(e for e in legs if e.seq != leg.seq))
    else:
        services = tuple(code for code in leg.services if code != work.service_code)
        plan = _one_leg(station, services)
        end = leg.start_at + timedelta(minutes=plan.duration_minutes) if plan is not None else leg.end_at
        kept = tuple(replace(each, services=services, end_at=end) if each.seq == leg.seq else each for each in legs)
    return update_booking(conn, station, booking, "booking.work_removed", now=now, legs=kept,
                          end_at=max(each.end_at for each in kept))


# -- store ------------------------------------------------------------------------------------


def _work_of(conn: Connection, booking_id: str) -> list[FoundWork]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM found_work WHERE booking_id = ? ORDER BY added_at, id",
                        (booking_id,))
    return [FoundWork.from_row(row) for row in rows]


def _insert(conn: Connection, work: FoundWork) -> None:
    data = work.to_json()
    names = [name.strip() for name in _COLUMNS.split(",")]
    data["cells"] = json.dumps(data["cells"])
    conn.execute(f"INSERT INTO found_work ({_COLUMNS}) VALUES ({', '.join('?' * len(names))})",
                 [data[name] for name in names])


def _check_by(by: str) -> None:
    if by not in DECIDERS:
        raise InvalidInput("by", f"unknown {by!r} (one of {', '.join(DECIDERS)})")
