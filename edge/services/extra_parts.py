"""Extra parts fitted during service (on the service report beyond the services' standard
materials): billed at checkout as goods lines at their counter price, unless a manager waives them.

The parts left stock when the report was written; billing them does not take them again,
and refunding their line does not put them back on the shelf (they are on the car).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from sqlite3 import Connection
from typing import Any

from edge.domain import checkout as rules
from edge.domain.permissions import Actor, Permission, authorise
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services.booking_store import BookingRecord, get_booking
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import to_db_time

@dataclass(frozen=True, slots=True)
class Waiver:
    booking_id: str
    booking_code: str
    parts: tuple[tuple[str, int], ...]
    reason: str
    authorised_by: str
    waived_at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id, "booking_code": self.booking_code, "reason": self.reason,
                "parts": [{"sku": sku, "quantity": q} for sku, q in self.parts], "authorised_by": self.authorised_by,
                "waived_at": to_db_time(self.waived_at)}


def extra_parts(conn: Connection, booking_id: str) -> list[tuple[str, int]]:
    """(SKU, quantity) of the parts fitted beyond the standard materials, as the report lists them."""
    row = conn.execute("SELECT parts FROM service_report WHERE booking_id = ?", (booking_id,)).fetchone()
    if row is None:
        return []
    return [(p["sku"], p["quantity"]) for p in json.loads(row["parts"]) if p.get("source") == "extra"]


def is_waived(conn: Connection, booking_id: str) -> bool:
    return conn.execute("SELECT 1 FROM parts_waiver WHERE booking_id = ?", (booking_id,)).fetchone() is not None


def billable(conn: Connection, station: Station, booking: BookingRecord) -> list[rules.Item]:
    """The booking's extra parts as goods lines, unless waived; a part with no counter price
    (`price` in [[materials]]) is the station's to absorb and is not billed."""
    if is_waived(conn, booking.id):
        return []
    items = []
    for sku, quantity in extra_parts(conn, booking.id):
        try:
            material = station.settings.material(sku)
        except ValueError:
            continue  # a part no longer configured: nothing to price it by
        if material.price is not None:
            items.append(rules.Item(sku, material.name_en, rules.GOODS_CATEGORY, material.price, quantity,
                                    tier_discount=False, fitted=True))
    return items


def waive(station: Station, ref: str, *, reason: str, manager: Actor | None = None,
          now: datetime | None = None) -> Waiver:
    """A manager lets the customer off the booking's extra parts (before it is paid)."""
    approver = authorise(station.actor, Permission.WAIVE_PARTS, manager)
    if not reason.strip():
        raise RuleViolation("waiving parts needs a reason")
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        parts = extra_parts(conn, booking.id)
        if not parts:
            raise NotFound(f"booking {booking.code} has no extra parts on its service report")
        if conn.execute("SELECT 1 FROM receipt WHERE booking_id = ?", (booking.id,)).fetchone():
            raise InvalidTransition(f"booking {booking.code} is paid already; refund the parts' lines instead")
        if is_waived(conn, booking.id):
            raise InvalidTransition(f"the extra parts of booking {booking.code} are waived already")
        conn.execute("INSERT INTO parts_waiver (booking_id, parts, reason, authorised_by, operator_id, created_at)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     (booking.id, json.dumps([{"sku": s, "quantity": q} for s, q in parts]), reason.strip(),
                      approver.id, station.actor.id, to_db_time(now)))
        waiver = Waiver(booking.id, booking.code, tuple(parts), reason.strip(), approver.id, now)
        append_event(conn, event_type="parts.waived", entity_id=booking.id, idem_key=f"parts-waived:{booking.id}",
                     body=waiver.to_json(), now=now)
        return waiver
