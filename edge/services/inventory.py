"""Materials inventory: receive, issue, adjust, consumption by completed bookings, stock and shortages.

Each public write is one transaction; every movement in it writes its `inventory.moved`
event (and `inventory.low_stock` when stock just fell to its reorder level) in that same
transaction (see edge.store.inventory).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from sqlite3 import Connection

from edge.domain import inventory as rules
from edge.domain.permissions import Actor, Permission, authorise
from edge.errors import NotFound
from edge.services import audit
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from edge.store.inventory import (
    MaterialRecord,
    MovementRecord,
    StockChange,
    find_material,
    list_materials,
    query_movements,
    record_movement,
)

log = logging.getLogger(__name__)


def receive(
    station: Station, *, sku: str, quantity: int, reason: str = "", now: datetime | None = None
) -> StockChange:
    """Goods in: `quantity` more of `sku` on hand."""
    now = now or station.clock()
    with station.store.write() as conn:
        material = _material(conn, sku)
        return _move(conn, station, material, rules.receipt(material.level(), quantity, reason), "stock.receive", now)


def issue(station: Station, *, sku: str, quantity: int, reason: str, now: datetime | None = None) -> StockChange:
    """Goods out by hand, with a reason; refused if it would take stock below zero."""
    now = now or station.clock()
    with station.store.write() as conn:
        material = _material(conn, sku)
        return _move(conn, station, material, rules.issue(material.level(), quantity, reason), "stock.issue", now)


def adjust(station: Station, *, sku: str, counted: int, reason: str, now: datetime | None = None,
           manager: Actor | None = None) -> StockChange:
    """A stocktake: on hand becomes `counted`; the movement records the difference. A manager's."""
    answering = authorise(station.actor, Permission.STOCK_ADJUST, manager)
    now = now or station.clock()
    with station.store.write() as conn:
        material = _material(conn, sku)
        return _move(conn, station, material, rules.count_adjustment(material.level(), counted, reason),
                     "stock.adjust", now, authorised_by=answering.id)


def sell(conn: Connection, station: Station, *, sku: str, quantity: int, receipt_number: str,
         now: datetime) -> StockChange:
    """Goods sold over the counter on a receipt, inside the checkout's transaction."""
    material = _material(conn, sku)
    return _move(conn, station, material, rules.issue(material.level(), quantity, f"sold on {receipt_number}"),
                 "stock.sell", now)


def return_sold(conn: Connection, station: Station, *, sku: str, quantity: int, receipt_number: str,
                now: datetime) -> StockChange:
    """Goods of a refunded receipt back on the shelf."""
    material = _material(conn, sku)
    return _move(conn, station, material,
                 rules.receipt(material.level(), quantity, f"returned with refund of {receipt_number}"),
                 "stock.return", now)


def consume_for_booking(
    conn: Connection, station: Station, booking: BookingRecord, now: datetime
) -> list[StockChange]:
    """Take the materials of a completed booking's services out of stock, inside its completion transaction.

    The booking's own service list is used (packages were expanded when it was booked), so a
    package changed since does not change what this car used.
    """
    return consume_for_sale(conn, station, booking.services, booking_id=booking.id,
                            label=f"booking {booking.code}", now=now)


def consume_for_sale(
    conn: Connection, station: Station, service_codes: Iterable[str], *, booking_id: str | None, label: str,
    now: datetime,
) -> list[StockChange]:
    """Take the materials of services done (a booking's, or a walk-in sale's) out of stock, in
    the caller's transaction.

    One "out" movement per material (quantities of services sharing a SKU add up). Stock may
    go negative: the work was done. A service or SKU the station no longer knows is skipped
    with a warning; bookkeeping must never stop a car from leaving.
    """
    catalog = station.catalog()
    items = []
    for code in service_codes:
        if code in catalog.services:
            items.append(catalog.services[code])
        else:
            log.warning("consumption skipped %s service=%s reason=not-in-catalogue", label, code)
    recorded = []
    for sku, quantity in rules.materials_needed(items).items():
        material = find_material(conn, sku, active_only=False)
        if material is None:
            log.warning("consumption skipped %s sku=%s reason=not-stocked", label, sku)
            continue
        users = "+".join(item.code for item in items if any(used == sku for used, _ in item.materials))
        reason = f"used by {label} ({users})"
        movement = rules.consumption(material.level(), quantity, booking_id=booking_id, reason=reason)
        recorded.append(_move(conn, station, material, movement, "stock.consume", now))
    return recorded


def shortages(station: Station, service_codes: Iterable[str]) -> list[rules.Shortage]:
    """Materials with less on hand than the services (or a package) need: a warning, not a refusal."""
    catalog = station.catalog()
    plan = catalog.plan(service_codes)
    needed = rules.materials_needed(catalog.services[code] for code in plan.service_codes)
    if not needed:
        return []
    with station.store.read() as conn:
        levels = {m.sku: m.level() for m in list_materials(conn, active_only=False) if m.sku in needed}
    return rules.find_shortages(needed, levels)


def stock(station: Station) -> list[MaterialRecord]:
    """Every configured material with its balance, by SKU."""
    with station.store.read() as conn:
        return list_materials(conn)


def movements(station: Station, *, sku: str | None = None, limit: int = 50) -> list[MovementRecord]:
    """The latest movements, newest first (of one SKU when given)."""
    with station.store.read() as conn:
        if sku is not None and find_material(conn, sku, active_only=False) is None:
            raise NotFound(_unknown(conn, sku))
        return query_movements(conn, sku=sku, limit=limit)


def _move(conn: Connection, station: Station, material: MaterialRecord, movement: rules.Movement, action: str,
          now: datetime, *, authorised_by: str | None = None) -> StockChange:
    """Record one stock movement and its audit entry (on hand before and after)."""
    change = record_movement(conn, material, movement, now=now)
    audit.record(conn, station, action=action, entity="material", entity_id=material.sku,
                 before={"on_hand": movement.on_hand_before},
                 after={"on_hand": movement.on_hand_after, "quantity": movement.quantity, "reason": movement.reason,
                        "booking_id": movement.booking_id},
                 authorised_by=authorised_by, now=now)
    return change


def _material(conn: Connection, sku: str) -> MaterialRecord:
    material = find_material(conn, sku)
    if material is None:
        raise NotFound(_unknown(conn, sku))
    return material


def _unknown(conn: Connection, sku: str) -> str:
    known = ", ".join(m.sku for m in list_materials(conn)) or "none configured"
    return f"no material {sku!r} (materials: {known})"
