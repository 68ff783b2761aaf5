"""When the station cannot serve confirmed bookings: bays out of service, offers to those affected, their choices.

The offers and their order are edge.domain.delivery's rules. Events: `bay.service_changed`
(keyed bay:<id>:outage:<outage>:out|back), `disruption.offered` and `disruption.resolved`
(disruption:<id>:<version>); a move also writes `booking.rescheduled`, a cancellation
`booking.cancelled`, a coupon `coupon.issued`, each in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from sqlite3 import Connection
from typing import Any

from edge.domain import delivery as rules
from edge.domain.booking_state import BookingState, check_transition
from edge.domain.delivery import DisruptionCause, Neighbour, Offer, OfferKind, Placement
from edge.domain.ids import uuid7
from edge.domain.slots import local_day
from edge.errors import InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services import deposits, waitlist
from edge.services.availability import options_on
from edge.services.booking_store import (
    BookingRecord,
    CLAIM_RANGE,
    get_booking,
    query_bookings,
    release_cells,
    update_booking,
)
from edge.services.cell_ownership import station_owns
from edge.services.loyalty import issue_coupon
from edge.services.placement import Wishes, choose_placement, claim_placement, expire_lapsed_holds
from edge.services.station import Station
from edge.services.vehicle_sizes import plan_for_car
from edge.store.outbox import append_event
from edge.store.types import dumps, from_db_time, to_db_time

_COLUMNS = "id, booking_id, cause, cause_ref, offers, state, choice, coupon_code, version, created_at, updated_at"


@dataclass(frozen=True, slots=True)
class BayState:
    bay_id: str
    name: str
    kind: str
    in_service: bool
    reason: str  # why it is out of service ('' while in service)
    since: datetime | None  # when the current outage began

    def to_json(self) -> dict[str, Any]:
        return {"bay_id": self.bay_id, "name": self.name, "kind": self.kind, "in_service": self.in_service,
                "reason": self.reason, "since": to_db_time(self.since) if self.since else None}


@dataclass(frozen=True, slots=True)
class DisruptionRecord:
    id: str
    booking: BookingRecord
    cause: DisruptionCause
    cause_ref: str  # the bay or technician id
    offers: tuple[Offer, ...]
    state: str  # offered, resolved, withdrawn (the cause went away before the customer chose)
    choice: str | None
    coupon_code: str | None
    version: int
    created_at: datetime
    updated_at: datetime

    def to_json(self) -> dict[str, Any]:
        b = self.booking
        return {
            "id": self.id, "booking_id": b.id, "booking_code": b.code, "plate": b.plate, "member_id": b.member_id,
            "booking_state": str(b.state), "bay_id": b.bay_id, "technician_id": b.technician_id,
            "start_at": to_db_time(b.start_at), "cause": str(self.cause), "cause_ref": self.cause_ref,
            "offers": [offer.to_json() for offer in self.offers], "state": self.state, "choice": self.choice,
            "coupon_code": self.coupon_code, "version": self.version,
            "created_at": to_db_time(self.created_at), "updated_at": to_db_time(self.updated_at),
        }


# -- bays -------------------------------------------------------------------------


def bay_states(station: Station) -> list[BayState]:
    """Every bay of the station with its service state and, if out of service, why and since when."""
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT b.id, b.name, b.kind, b.in_service, o.reason, o.started_at FROM bay b"
            " LEFT JOIN bay_outage o ON o.bay_id = b.id AND o.ended_at IS NULL"
            " WHERE b.active = 1 ORDER BY b.position, b.id"
        ).fetchall()
    return [_bay_state(row) for row in rows]


def set_bay_in_service(
    station: Station, bay_id: str, in_service: bool, reason: str = "", *, now: datetime | None = None
) -> BayState:
    """Take a bay out of service (with the reason) or put it back; bookable capacity follows at once.

    Back in service, offers still awaiting an answer because of this bay are withdrawn. Setting
    the state a bay already has changes nothing.
    """
    now = now or station.clock()
    reason = reason.strip()
    if not in_service and not reason:
        raise RuleViolation(f"give the reason bay {bay_id} is out of service")
    with station.store.write() as conn:
        row = conn.execute("SELECT id, in_service FROM bay WHERE id = ? AND active = 1", (bay_id,)).fetchone()
        if row is None:
            known = ", ".join(r[0] for r in conn.execute("SELECT id FROM bay WHERE active = 1 ORDER BY position, id"))
            raise NotFound(f"no bay {bay_id!r} (bays: {known})")
        if bool(row["in_service"]) != in_service:
            _change_bay(conn, station, bay_id, in_service, reason, now)
        state = _bay_state(conn.execute(
            "SELECT b.id, b.name, b.kind, b.in_service, o.reason, o.started_at FROM bay b"
            " LEFT JOIN bay_outage o ON o.bay_id = b.id AND o.ended_at IS NULL WHERE b.id = ?", (bay_id,),
        ).fetchone())
    station.reload_catalog()
    return state


def _change_bay(conn: Connection, station: Station, bay_id: str, in_service: bool, reason: str, now: datetime) -> None:
    conn.execute("UPDATE bay SET in_service = ? WHERE id = ?", (in_service, bay_id))
    outage = conn.execute(
        "SELECT id, reason FROM bay_outage WHERE bay_id = ? AND ended_at IS NULL", (bay_id,)
    ).fetchone()
    if in_service:
        outage_id, reason = (outage["id"], outage["reason"]) if outage else (uuid7(), reason)
        conn.execute("UPDATE bay_outage SET ended_at = ? WHERE id = ?", (to_db_time(now), outage_id))
        for disruption in _load(conn, "cause = ? AND cause_ref = ? AND state = 'offered'",
                                (DisruptionCause.BAY_OUT_OF_SERVICE, bay_id)):
            _save(conn, station, replace(disruption, state="withdrawn", version=disruption.version + 1, updated_at=now),
                  "disruption.resolved", now)
    else:
        outage_id = uuid7()
        conn.execute("INSERT INTO bay_outage (id, bay_id, reason, started_at) VALUES (?, ?, ?, ?)",
                     (outage_id, bay_id, reason, to_db_time(now)))
    body = {"bay_id": bay_id, "in_service": in_service, "reason": reason, "outage_id": outage_id,
            "station": station.settings.station.id}
    append_event(conn, event_type="bay.service_changed", entity_id=bay_id,
                 idem_key=f"bay:{bay_id}:outage:{outage_id}:{'back' if in_service else 'out'}", body=body, now=now)


def _bay_state(row: Any) -> BayState:
    since = from_db_time(row[5]) if row[5] else None
    return BayState(row[0], row[1], row[2], bool(row[3]), row[4] or "", since)


# -- disruptions ------------------------------------------------------------------


def disruptions_for(
    station: Station, *, bay_id: str | None = None, technician_id: str | None = None, now: datetime | None = None
) -> list[DisruptionRecord]:
    """The confirmed bookings on `bay_id` (or with `technician_id`) not over yet, each with its offers.

    New or changed offers are recorded with a `disruption.offered` event (the neighbours in it
    are the request to HQ); unchanged ones and answers already given are returned as they are.
    """
    now = now or station.clock()
    catalog = station.catalog()
    if (bay_id is None) == (technician_id is None):
        raise RuleViolation("name either the bay or the technician whose bookings cannot be served")
    if bay_id is not None:
        if bay_id not in catalog.bays:
            raise NotFound(f"no bay {bay_id!r} (bays: {', '.join(catalog.bays)})")
        cause, ref, column = DisruptionCause.BAY_OUT_OF_SERVICE, bay_id, "bay_id"
    else:
        if technician_id not in catalog.technicians:
            raise NotFound(f"no technician {technician_id!r} (technicians: {', '.join(catalog.technicians)})")
        cause, ref, column = DisruptionCause.TECHNICIAN_ABSENT, technician_id, "technician_id"
    with station.store.write() as conn:
        # a booking in legs is affected when any of its legs is on the bay (or with the technician);
        # a booking ending after now began at most a day ago, which the index of starts finds
        affected = query_bookings(
            conn, f"start_at >= ? AND state = ? AND end_at > ? AND EXISTS (SELECT 1 FROM booking_leg l"
            f" WHERE l.booking_id = booking.id AND l.{column} = ?) ORDER BY start_at, id",
            (to_db_time(now - CLAIM_RANGE), BookingState.CONFIRMED, to_db_time(now), ref))
        since = _outage_start(conn, bay_id) if bay_id else None
        found = []
        for booking in affected:
            latest = _latest(conn, booking, cause, ref, since)
            if latest is not None and latest.state == "resolved":
                found.append(latest)
                continue
            offers = _offers(conn, station, booking, cause, ref, now)
            if latest is not None and latest.offers == offers:
                found.append(latest)
                continue
            record = (
                replace(latest, booking=booking, offers=offers, version=latest.version + 1, updated_at=now)
                if latest is not None
                else DisruptionRecord(uuid7(), booking, cause, ref, offers, "offered", None, None, 1, now, now)
            )
            found.append(_save(conn, station, record, "disruption.offered", now))
        return found


def open_disruptions(station: Station) -> list[DisruptionRecord]:
    """Offers still waiting for the customer's answer, oldest first."""
    with station.store.read() as conn:
        return _load(conn, "state = 'offered' ORDER BY created_at, id", ())


def resolve_disruption(
    station: Station, booking_ref: str, choice: str, *, now: datetime | None = None
) -> DisruptionRecord:
    """Record the customer's choice and apply it in one transaction.

    `other_bay` moves the booking to the offered bay at the same start (another free one if that
    was taken meanwhile); `neighbour:<id>` cancels it here (HQ rebooks it there); `coupon`
    cancels it and issues the compensation coupon; `wait` keeps it as it is.
    """
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, booking_ref)
        pending = _load(conn, "booking_id = ? AND state = 'offered' ORDER BY created_at DESC LIMIT 1", (booking.id,))
        if not pending:
            raise NotFound(f"booking {booking.code} has no offer waiting for an answer")
        disruption = pending[0]
        if booking.state != BookingState.CONFIRMED:
            raise InvalidTransition(
                f"booking {booking.code} is {booking.state}; its disruption can no longer be resolved"
            )
        offer = rules.chosen_offer(booking.code, choice, disruption.offers)
        coupon_code = None
        if offer is None:
            pass  # wait: the booking stays as it is
        elif offer.kind == OfferKind.OTHER_BAY:
            booking = _move(conn, station, booking, disruption, offer, now)
        elif offer.kind == OfferKind.NEIGHBOUR:
            booking = _cancel(conn, station, booking, f"moved to neighbour {offer.neighbour_id}", now)
        else:
            coupon_code = issue_coupon(conn, station, template_id=offer.coupon_template, member_id=booking.member_id,
                                       source="compensation", now=now)
            reason = f"station could not serve; compensation coupon {coupon_code}"
            booking = _cancel(conn, station, booking, reason, now)
        resolved = replace(disruption, booking=booking, state="resolved", choice=offer.choice if offer else rules.WAIT,
                           coupon_code=coupon_code, version=disruption.version + 1, updated_at=now)
        return _save(conn, station, resolved, "disruption.resolved", now)


def _offers(conn: Connection, station: Station, booking: BookingRecord, cause: DisruptionCause, ref: str,
            now: datetime) -> tuple[Offer, ...]:
    # the booking's own cells are released to see what else could take it, then put back
    conn.execute("SAVEPOINT disruption_probe")
    try:
        placements = _placements(conn, station, booking, cause, ref, now)
    finally:
        conn.execute("ROLLBACK TO disruption_probe")
        conn.execute("RELEASE disruption_probe")
    neighbours = [Neighbour(n.id, n.name, n.distance_km) for n in station.settings.neighbours]
    return rules.disruption_offers(placements=placements, neighbours=neighbours,
                                   coupon_template=station.settings.booking.compensation_coupon)


def _placements(conn: Connection, station: Station, booking: BookingRecord, cause: DisruptionCause, ref: str,
                now: datetime, prefer: Offer | None = None) -> list[Placement]:
    """Where the booking could go at its own start, once its cells are released on `conn`."""
    release_cells(conn, booking)
    plan = plan_for_car(conn, station, booking.services, booking.plate)
    options = [o for o in options_on(conn, station, plan=plan, day=local_day(booking.start_at, station.tz), now=now)
               if station_owns(conn, station, o.bay_id, o.cells)]  # a cell HQ owns is HQ's to sell (slot escrow)
    if cause == DisruptionCause.BAY_OUT_OF_SERVICE:
        # the same technician follows the car to the other bay when free
        return rules.same_time_placements(
            options, start=booking.start_at, avoid_bay=ref, prefer_bay=prefer.bay_id if prefer else None,
            prefer_technician=prefer.technician_id if prefer else booking.technician_id,
        )
    return rules.same_time_placements(
        options, start=booking.start_at, avoid_technician=ref, prefer_bay=prefer.bay_id if prefer else booking.bay_id,
        prefer_technician=prefer.technician_id if prefer else None,
    )


def _move(conn: Connection, station: Station, booking: BookingRecord, disruption: DisruptionRecord, offer: Offer,
          now: datetime) -> BookingRecord:
    expire_lapsed_holds(conn, station, now)  # a lapsed hold still holds its claims until swept
    placements = _placements(conn, station, booking, disruption.cause, disruption.cause_ref, now, prefer=offer)
    taken = SlotTaken(
        f"no other bay can take booking {booking.code} at {station.local(booking.start_at):%Y-%m-%d %H:%M} any more;"
        " list its offers again for the other choices",
        bay_id=offer.bay_id or "*", slot_start=to_db_time(booking.start_at),
    )
    if not placements:
        raise taken
    best = placements[0]
    # every leg placed again at the booking's own start, on the offered bay and technician first
    wishes = Wishes(bay_id=best.bay_id, technician_id=best.technician_id,
                    avoid_bay=disruption.cause_ref if disruption.cause == DisruptionCause.BAY_OUT_OF_SERVICE else None,
                    avoid_technician=disruption.cause_ref if disruption.cause == DisruptionCause.TECHNICIAN_ABSENT
                    else None)
    try:
        placement = choose_placement(conn, station, plan=plan_for_car(conn, station, booking.services, booking.plate),
                                     start=booking.start_at, now=now, wishes=wishes)
    except (SlotTaken, RuleViolation):
        raise taken from None
    if any(not station_owns(conn, station, leg.bay.id, leg.starts) for leg in placement.legs):
        raise taken
    claim_placement(conn, booking_id=booking.id, placement=placement, hold_until=None)
    legs = placement.records()
    return update_booking(conn, station, booking, "booking.rescheduled", now=now, legs=legs, bay_id=legs[0].bay_id,
                          technician_id=legs[0].technician_id)


def _cancel(conn: Connection, station: Station, booking: BookingRecord, reason: str, now: datetime) -> BookingRecord:
    # unlike bookings.cancel, no late-cancel penalty: the station, not the customer, broke the booking
    check_transition(booking.code, booking.state, BookingState.CANCELLED)
    release_cells(conn, booking)
    cancelled = update_booking(conn, station, booking, "booking.cancelled", now=now, state=BookingState.CANCELLED,
                               reason=reason, hold_until=None)
    deposits.release(conn, station, booking, reason=f"booking {booking.code} cancelled by the station", now=now)
    waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)
    return cancelled


def _outage_start(conn: Connection, bay_id: str) -> datetime | None:
    row = conn.execute("SELECT started_at FROM bay_outage WHERE bay_id = ? AND ended_at IS NULL", (bay_id,)).fetchone()
    return from_db_time(row[0]) if row else None


def _latest(conn: Connection, booking: BookingRecord, cause: DisruptionCause, ref: str,
            since: datetime | None) -> DisruptionRecord | None:
    # an answer given in an earlier outage of the bay does not answer this one
    found = _load(conn, "booking_id = ? AND cause = ? AND cause_ref = ? AND state != 'withdrawn' AND created_at >= ?"
                  " ORDER BY created_at DESC, id DESC LIMIT 1",
                  (booking.id, cause, ref, to_db_time(since) if since else ""))
    return found[0] if found else None


def _load(conn: Connection, where: str, params: tuple) -> list[DisruptionRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM disruption WHERE {where}", params).fetchall()
    return [
        DisruptionRecord(
            id=row["id"], booking=get_booking(conn, row["booking_id"]), cause=DisruptionCause(row["cause"]),
            cause_ref=row["cause_ref"], offers=tuple(Offer.from_json(o) for o in json.loads(row["offers"])),
            state=row["state"], choice=row["choice"], coupon_code=row["coupon_code"], version=row["version"],
            created_at=from_db_time(row["created_at"]), updated_at=from_db_time(row["updated_at"]),
        )
        for row in rows
    ]


def _save(
    conn: Connection, station: Station, record: DisruptionRecord, event_type: str, now: datetime
) -> DisruptionRecord:
    data = record.to_json()
    conn.execute(
        f"INSERT INTO disruption ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
        " offers = excluded.offers, state = excluded.state, choice = excluded.choice,"
        " coupon_code = excluded.coupon_code, version = excluded.version, updated_at = excluded.updated_at",
        (record.id, record.booking.id, str(record.cause), record.cause_ref, dumps(data["offers"]), record.state,
         record.choice, record.coupon_code, record.version, data["created_at"], data["updated_at"]),
    )
    # the neighbours offered are the request to HQ, which answers whether they have room
    neighbour_ids = [o.neighbour_id for o in record.offers if o.kind == OfferKind.NEIGHBOUR]
    body = {**data, "neighbour_ids": neighbour_ids, "booking": record.booking.to_json(),
            "station": station.settings.station.id}
    append_event(conn, event_type=event_type, entity_id=record.booking.id,
                 idem_key=f"disruption:{record.id}:{record.version}", body=body, now=now)
    return record
