"""Slot escrow at the station: tentative bookings put to their owner, and what HQ sends down.

Each (bay, cell) has one owner (edge.services.cell_ownership). A booking the station makes on
a cell HQ owns is `tentative` and holds its cells while HQ decides (`ask_owner`). HQ's downlink
(`apply_downlink`, called by sync inside its write transaction, one message at a time) brings:

- `app_booking.confirmed`: HQ sold its own cells in the app. The booking is written confirmed;
  a station tentative booking on those cells loses (rejected, with a conflict row).
- `app_booking.requested`: an app customer wants cells the station owns; the station decides
  against its own claims and answers with `escrow.answered`.
  Either may bring `legs` (a bay and its cells each, for work over several bays): the station
  checks them against its catalogue and leg rules (edge.services.app_legs) and writes one
  booking with those legs, or refuses the whole.
- `escrow.decided`: HQ's decision on one of the station's tentative bookings.
- `lease.grant` / `lease.revoke`: cells handed to the station, or asked back. Each cell takes
  the lease only with a newer fencing token; a revoke never takes a cell the station has
  booked. The station answers with `escrow.lease_acked`, naming what it applied and refused.

If both sides confirmed one cell anyway, the valid fencing token wins (never the later
writer): the loser becomes `rejected` and a conflict row waits for a person.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.catalog import WorkPlan
from edge.domain.escrow import HQ, LeaseKind, Verdict, clash_winner, judge_lease, new_owner
from edge.domain.plates import normalize_plate, validate_plate
from edge.errors import EdgeError, InvalidInput, NotFound, RuleViolation, SlotTaken
from edge.services import deposits
from edge.services.app_legs import AppLeg, check_app_legs, place_app_legs
from edge.services.booking_store import (
    BookingRecord,
    get_booking,
    insert_booking,
    new_booking,
    query_bookings,
    release_cells,
    update_booking,
)
from edge.services.cell_ownership import ownerships, split_rule
from edge.services.conflicts import record_conflict
from edge.services.placement import PlacedLeg, claim_placement
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

log = logging.getLogger(__name__)


class EscrowMessageError(EdgeError):
    """A downlink escrow message that cannot be applied as sent (a key missing or malformed)."""


def ask_owner(conn: Connection, station: Station, booking: BookingRecord, hq_legs: Sequence[PlacedLeg],
              *, now: datetime) -> None:
    """Put a tentative booking to the owner (HQ) of its legs' cells, in the booking's own transaction.

    One question for all the legs on HQ's cells: HQ confirms them all or none. The legs on the
    station's own cells are settled already, so HQ's answer settles the whole booking."""
    legs = [{"bay_id": leg.bay.id, "cells": [to_db_time(s) for s in leg.starts]} for leg in hq_legs]
    append_event(
        conn, event_type="escrow.requested", entity_id=booking.id,
        idem_key=f"escrow:requested:{booking.id}",
        body={"booking_id": booking.id, "code": booking.code, "bay_id": legs[0]["bay_id"], "cells": legs[0]["cells"],
              "legs": legs, "services": list(booking.services),
              "plate": booking.plate, "rule": split_rule(station).fingerprint(),
              "station": station.settings.station.id},
        now=now,
    )


def apply_downlink(station: Station, conn: Connection, message_type: str, body: dict[str, Any],
                   now: datetime) -> None:
    """Apply one escrow message from HQ's `booking` or `lease` stream on the caller's `conn`."""
    handler = _HANDLERS.get(message_type)
    if handler is None:
        raise EscrowMessageError(f"unknown escrow message type {message_type!r} (one of {', '.join(_HANDLERS)})")
    if not isinstance(body, dict):
        raise EscrowMessageError(f"{message_type}: the body is not an object")
    handler(station, conn, message_type, body, now)


# -- app bookings -----------------------------------------------------------------------------


def _app_confirmed(station: Station, conn: Connection, message_type: str, body: dict[str, Any], now: datetime) -> None:
    booking_id, legs = _text(body, "booking_id"), _legs(body)
    if _decided_before(conn, booking_id):
        return
    token = _whole(body, "token")
    bays = station.catalog().bays
    unknown = next((bay_id for bay_id, _ in legs if bay_id not in bays), None)
    if unknown is not None:
        _answer(conn, station, booking_id, "rejected", f"no bay {unknown} at this station", now)
        _conflict(conn, station, "escrow_unknown_bay", booking_id, {"bay_id": unknown, "body": body}, now)
        return
    try:
        plan, app_legs = _app_plan(station, body, legs)
    except (RuleViolation, NotFound) as err:
        # HQ told its customer yes: a person must call them
        _answer(conn, station, booking_id, "rejected", str(err), now)
        _conflict(conn, station, "escrow_app_legs_refused", booking_id, {"reason": str(err), "body": body}, now)
        return
    for bay_id, starts in legs:
        for holder in _holders(conn, bay_id, starts):
            if holder.state == BookingState.TENTATIVE:
                _lose(conn, station, holder, "HQ sold the cell in the app; it was HQ's to sell", now,
                      kind="escrow_tentative_lost", detail={"app_booking": booking_id})
                continue
            views = ownerships(conn, station, bay_id, [s for s in starts if _claims(conn, bay_id, s, holder.id)])
            if all(clash_winner(view, token) == HQ for view in views):
                _lose(conn, station, holder, "double booking: HQ's app booking holds the valid lease", now,
                      kind="escrow_double_confirm", detail={"winner": booking_id, "hq_token": token})
            else:
                _conflict(conn, station, "escrow_double_confirm", booking_id,
                          {"winner": holder.id, "hq_token": token, "bay_id": bay_id,
                           "cells": [to_db_time(s) for s in starts]}, now)
                _answer(conn, station, booking_id, "rejected", f"the station holds the cells by a valid lease "
                        f"(booking {holder.code})", now)
                return
    _write_app_booking(conn, station, body, plan, app_legs, now)


def _app_requested(station: Station, conn: Connection, message_type: str, body: dict[str, Any], now: datetime) -> None:
    booking_id, legs = _text(body, "booking_id"), _legs(body)
    if _decided_before(conn, booking_id):
        return
    bays = station.catalog().bays
    reason = next((f"no bay {bay_id} at this station" for bay_id, _ in legs if bay_id not in bays), "")
    if not reason:
        reason = next((f"bay {bay_id} is already booked at {station.local(starts[0]):%Y-%m-%d %H:%M}"
                       for bay_id, starts in legs if _holders(conn, bay_id, starts)), "")
    if reason:
        _answer(conn, station, booking_id, "rejected", reason, now)
        return
    try:
        plan, app_legs = _app_plan(station, body, legs)
        _write_app_booking(conn, station, body, plan, app_legs, now, need_technician=True)
    except (RuleViolation, SlotTaken, NotFound, EscrowMessageError) as err:
        _answer(conn, station, booking_id, "rejected", str(err), now)
        return
    _answer(conn, station, booking_id, "confirmed", "", now)


def _app_plan(station: Station, body: dict[str, Any], legs: list[tuple[str, list[datetime]]]
              ) -> tuple[WorkPlan, list[AppLeg]]:
    """The work the app booking asks for and its legs; a booking HQ sent with `legs` is checked
    against the station's catalogue and leg rules (RuleViolation), one without names one bay."""
    services = body.get("services")
    if not isinstance(services, list) or not services or not all(isinstance(s, str) for s in services):
        raise EscrowMessageError("services must be a non-empty list of service codes")
    plan = station.catalog().plan(services)
    bays = station.catalog().bays
    app_legs = [AppLeg(bays[bay_id], tuple(starts)) for bay_id, starts in legs]
    if "legs" in body:
        check_app_legs(station, plan, app_legs)
    elif len(plan.legs) > 1:
        raise EscrowMessageError(f"{'+'.join(plan.service_codes)} spans {len(plan.legs)} bays: the app booking "
                                 "names one bay")
    return plan, app_legs


def _write_app_booking(conn: Connection, station: Station, body: dict[str, Any], plan: WorkPlan,
                       legs: list[AppLeg], now: datetime, *, need_technician: bool = False) -> BookingRecord:
    """The app booking on exactly HQ's cells of every leg, confirmed, with technicians where free."""
    placement = place_app_legs(conn, station, plan, legs, now=now, need_technician=need_technician)
    records = placement.records()
    booking = new_booking(
        station, booking_id=_text(body, "booking_id"), plan=plan, legs=records,
        plate=_hq_plate(_text(body, "booking_id"), _text(body, "plate")), member_id=None,
        channel="app",
        state=BookingState.CONFIRMED, hold_until=None, notes=str(body.get("notes", "")), now=now,
    )
    booking = insert_booking(conn, station, booking, "booking.confirmed", records)
    claim_placement(conn, booking_id=booking.id, placement=placement, hold_until=None)
    return booking


# -- HQ's decisions on the station's tentative bookings -----------------------------------------


def _decided(station: Station, conn: Connection, message_type: str, body: dict[str, Any], now: datetime) -> None:
    decision = _text(body, "decision")
    if decision not in ("confirmed", "rejected"):
        raise EscrowMessageError(f"{message_type}: decision must be confirmed or rejected, not {decision!r}")
    try:
        booking = get_booking(conn, _text(body, "booking_id"))
    except NotFound:
        return  # not this database's booking (restored from an older backup): nothing waits for it
    if booking.state != BookingState.TENTATIVE:
        return  # cancelled meanwhile, or lost to an app booking: HQ learns of it from that event
    if decision == "confirmed":
        update_booking(conn, station, booking, "booking.confirmed", now=now, state=BookingState.CONFIRMED)
    else:
        release_cells(conn, booking)
        update_booking(conn, station, booking, "booking.rejected", now=now, state=BookingState.REJECTED,
                       reason=f"HQ owns the cell: {body.get('reason') or 'refused'}")
        deposits.release(conn, station, booking, reason=f"booking {booking.code} rejected", now=now)


# -- leases -----------------------------------------------------------------------------------------


def _lease(station: Station, conn: Connection, message_type: str, body: dict[str, Any], now: datetime) -> None:
    kind = LeaseKind(message_type.split(".", 1)[1])
    lease_id, bay_id, starts, token = _text(body, "lease_id"), _text(body, "bay_id"), _cells(body), _whole(body, "token")
    if conn.execute("SELECT 1 FROM escrow_lease WHERE id = ?", (lease_id,)).fetchone():
        return
    booked = {start for start in starts if _holders(conn, bay_id, [start])}
    applied: list[str] = []
    refused: dict[str, str] = {}
    stamp = to_db_time(now)
    for start, view in zip(starts, ownerships(conn, station, bay_id, starts)):
        verdict = judge_lease(kind, token, view, booked=start in booked)
        if verdict != Verdict.APPLIED:
            refused[to_db_time(start)] = str(verdict)
            continue
        applied.append(to_db_time(start))
        conn.execute(
            "INSERT INTO escrow_cell (bay_id, slot_start, owner, token, lease_id, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (bay_id, slot_start) DO UPDATE SET owner = excluded.owner, token = excluded.token,"
            " lease_id = excluded.lease_id, updated_at = excluded.updated_at",
            (bay_id, to_db_time(start), new_owner(kind), token, lease_id, stamp),
        )
    conn.execute(
        "INSERT INTO escrow_lease (id, kind, bay_id, token, applied, refused, received_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (lease_id, str(kind), bay_id, token, json.dumps(applied), json.dumps(refused), stamp),
    )
    append_event(conn, event_type="escrow.lease_acked", entity_id=lease_id,
                 idem_key=f"escrow:lease:{lease_id}",
                 body={"lease_id": lease_id, "kind": str(kind), "bay_id": bay_id, "token": token,
                       "applied": applied, "refused": refused, "station": station.settings.station.id},
                 now=now)


_HANDLERS: dict[str, Callable[[Station, Connection, str, dict[str, Any], datetime], None]] = {
    "app_booking.confirmed": _app_confirmed,
    "app_booking.requested": _app_requested,
    "escrow.decided": _decided,
    "lease.grant": _lease,
    "lease.revoke": _lease,
}


# -- helpers ------------------------------------------------------------------------------------------


def _answer(conn: Connection, station: Station, booking_id: str, decision: str, reason: str, now: datetime) -> None:
    append_event(conn, event_type="escrow.answered", entity_id=booking_id,
                 idem_key=f"escrow:answered:{booking_id}",
                 body={"booking_id": booking_id, "decision": decision, "reason": reason,
                       "station": station.settings.station.id},
                 now=now)


def _lose(conn: Connection, station: Station, booking: BookingRecord, reason: str, now: datetime, *,
          kind: str, detail: dict[str, Any]) -> None:
    """The booking lost its cells to the owner's: rejected (even if confirmed), and a conflict row."""
    release_cells(conn, booking)
    update_booking(conn, station, booking, "booking.rejected", now=now, state=BookingState.REJECTED, reason=reason)
    deposits.release(conn, station, booking, reason=f"booking {booking.code} rejected", now=now)
    _conflict(conn, station, kind, booking.id, {**detail, "booking": booking.code, "was": str(booking.state),
                                                 "bay_id": booking.bay_id, "plate": booking.plate}, now)


def _conflict(conn: Connection, station: Station, kind: str, entity_id: str, detail: dict[str, Any],
              now: datetime) -> None:
    conflict_id = record_conflict(conn, kind, entity_id, detail, now)
    append_event(conn, event_type="escrow.conflict", entity_id=entity_id,
                 idem_key=f"conflict:{conflict_id}", body={"kind": kind, "detail": detail, "needs_human": True},
                 now=now)


def _holders(conn: Connection, bay_id: str, starts: Sequence[datetime]) -> list[BookingRecord]:
    """The bookings holding any of the bay's cells `starts`."""
    cells = [to_db_time(s) for s in starts]
    ids = [row[0] for row in conn.execute(
        f"SELECT DISTINCT booking_id FROM slot_claim WHERE bay_id = ? AND slot_start IN ({', '.join('?' * len(cells))})",
        (bay_id, *cells),
    )]
    if not ids:
        return []
    return query_bookings(conn, f"id IN ({', '.join('?' * len(ids))})", tuple(ids))


def _claims(conn: Connection, bay_id: str, start: datetime, booking_id: str) -> bool:
    return conn.execute("SELECT 1 FROM slot_claim WHERE bay_id = ? AND slot_start = ? AND booking_id = ?",
                        (bay_id, to_db_time(start), booking_id)).fetchone() is not None


def _decided_before(conn: Connection, booking_id: str) -> bool:
    """The app booking was written, or answered, already (HQ's log may bring a message twice)."""
    return (conn.execute("SELECT 1 FROM booking WHERE id = ?", (booking_id,)).fetchone() is not None
            or conn.execute("SELECT 1 FROM outbox WHERE idem_key = ?", (f"escrow:answered:{booking_id}",))
            .fetchone() is not None)


def _hq_plate(booking_id: str, text: str) -> str:
    """HQ's plate, normalised when it can be; a plate the station would refuse at the counter is kept
    (HQ sold the booking) and logged."""
    try:
        return validate_plate(text)
    except InvalidInput as err:
        log.warning("app booking %s from HQ keeps its plate %r: %s", booking_id, text, err)
    try:
        return normalize_plate(text)
    except InvalidInput:
        return text


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise EscrowMessageError(f"{key} must be a non-empty string, got {value!r}")
    return value


def _whole(body: dict[str, Any], key: str) -> int:
    value = body.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise EscrowMessageError(f"{key} must be a whole number, got {value!r}")
    return value


def _legs(body: dict[str, Any]) -> list[tuple[str, list[datetime]]]:
    """An app booking's legs, (bay id, cell starts) each: its `legs`, or its one `bay_id` and `cells`."""
    legs = body.get("legs")
    if legs is None:
        return [(_text(body, "bay_id"), _cells(body))]
    if not isinstance(legs, list) or not legs or not all(isinstance(leg, dict) for leg in legs):
        raise EscrowMessageError(f"legs must be a non-empty list of {{bay_id, cells}}, got {legs!r}")
    found = [(_text(leg, "bay_id"), _cells(leg)) for leg in legs]
    for (_, before), (bay_id, after) in zip(found, found[1:]):
        if after[0] <= before[-1]:
            raise EscrowMessageError(f"legs must follow one another: the leg on {bay_id} starts before the one "
                                     "before it ends")
    return found


def _cells(body: dict[str, Any]) -> list[datetime]:
    cells = body.get("cells")
    if not isinstance(cells, list) or not cells:
        raise EscrowMessageError(f"cells must be a non-empty list of UTC instants, got {cells!r}")
    try:
        starts = [from_db_time(cell) for cell in cells]
    except (TypeError, ValueError):
        raise EscrowMessageError(f"cells must be UTC instants like 2026-11-23T02:00:00Z, got {cells!r}") from None
    if starts != sorted(set(starts)):
        raise EscrowMessageError("cells must be distinct and in time order")
    return starts
