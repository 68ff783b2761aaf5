"""Material and stock-movement rows: reading them, writing a movement with its events, syncing from config.

Every movement bumps its material's version and writes one `inventory.moved` event keyed
`material:{sku}:{version}`; a fall to or below the reorder level adds `inventory.low_stock`
(keyed `material:{sku}:{version}:low`), all inside the caller's write transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from edge.domain import inventory as rules
from edge.domain.ids import uuid7
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

if TYPE_CHECKING:
    from edge.config import MaterialSettings

log = logging.getLogger(__name__)

_MATERIAL_COLUMNS = "sku, name_zh, name_en, unit, reorder_level, on_hand, low_since, active, version"
_MOVEMENT_COLUMNS = "id, sku, kind, quantity, on_hand_after, reason, booking_id, created_at"


@dataclass(frozen=True, slots=True)
class MaterialRecord:
    sku: str
    name_zh: str
    name_en: str
    unit: str
    reorder_level: int
    on_hand: int
    low_since: datetime | None
    active: bool
    version: int

    @classmethod
    def from_row(cls, row: Any) -> MaterialRecord:
        data = dict(row)
        data["low_since"] = from_db_time(data["low_since"]) if data["low_since"] else None
        data["active"] = bool(data["active"])
        return cls(**data)

    @property
    def is_low(self) -> bool:
        return rules.is_low(self.on_hand, self.reorder_level)

    def level(self) -> rules.StockLevel:
        return rules.StockLevel(self.sku, self.unit, self.on_hand, self.reorder_level, self.low_since is not None)

    def to_json(self) -> dict[str, Any]:
        return {
            "sku": self.sku, "name_zh": self.name_zh, "name_en": self.name_en, "unit": self.unit,
            "on_hand": self.on_hand, "reorder_level": self.reorder_level, "low": self.is_low,
            "low_since": to_db_time(self.low_since) if self.low_since else None, "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class MovementRecord:
    id: str
    sku: str
    kind: str
    quantity: int
    on_hand_after: int
    reason: str
    booking_id: str | None
    created_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> MovementRecord:
        data = dict(row)
        data["created_at"] = from_db_time(data["created_at"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "sku": self.sku, "kind": self.kind, "quantity": self.quantity,
            "on_hand_after": self.on_hand_after, "reason": self.reason, "booking_id": self.booking_id,
            "created_at": to_db_time(self.created_at),
        }


@dataclass(frozen=True, slots=True)
class StockChange:
    """One movement and the material as it stands after it."""

    material: MaterialRecord
    movement: MovementRecord

    def to_json(self) -> dict[str, Any]:
        return {"material": self.material.to_json(), "movement": self.movement.to_json()}


def find_material(conn: sqlite3.Connection, sku: str, *, active_only: bool = True) -> MaterialRecord | None:
    row = conn.execute(
        f"SELECT {_MATERIAL_COLUMNS} FROM material WHERE sku = ?" + (" AND active = 1" if active_only else ""),
        (sku,),
    ).fetchone()
    return None if row is None else MaterialRecord.from_row(row)


def list_materials(conn: sqlite3.Connection, *, active_only: bool = True) -> list[MaterialRecord]:
    where = " WHERE active = 1" if active_only else ""
    rows = conn.execute(f"SELECT {_MATERIAL_COLUMNS} FROM material{where} ORDER BY sku")
    return [MaterialRecord.from_row(row) for row in rows]


def query_movements(conn: sqlite3.Connection, *, sku: str | None, limit: int) -> list[MovementRecord]:
    """Newest first, in the order they were applied: each one's balance follows from the one before,
    whatever the clocks said (and UUIDv7s of one millisecond do not sort)."""
    where, params = ("WHERE sku = ? ", (sku,)) if sku is not None else ("", ())
    rows = conn.execute(
        f"SELECT {_MOVEMENT_COLUMNS} FROM stock_movement {where}ORDER BY rowid DESC LIMIT ?",
        (*params, limit),
    )
    return [MovementRecord.from_row(row) for row in rows]


def record_movement(
    conn: sqlite3.Connection, material: MaterialRecord, movement: rules.Movement, *, now: datetime
) -> StockChange:
    """Apply `movement` to `material` (read in this transaction): the movement row, the new
    balance and version, the moved event, and the low-stock alert when stock just fell low."""
    if movement.on_hand_before != material.on_hand:  # planned on a stale read: a programming error
        raise ValueError(f"{material.sku}: movement planned on {movement.on_hand_before}, stock is {material.on_hand}")
    row = MovementRecord(
        id=uuid7(), sku=material.sku, kind=str(movement.kind), quantity=movement.quantity,
        on_hand_after=movement.on_hand_after, reason=movement.reason, booking_id=movement.booking_id, created_at=now,
    )
    conn.execute(
        f"INSERT INTO stock_movement ({_MOVEMENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (row.id, row.sku, row.kind, row.quantity, row.on_hand_after, row.reason, row.booking_id, to_db_time(now)),
    )
    updated = _store_balance(conn, material, on_hand=movement.on_hand_after, now=now)
    station_id = _station_id(conn)
    append_event(
        conn, event_type="inventory.moved", entity_id=material.sku,
        idem_key=f"material:{material.sku}:{updated.version}",
        body={"station": station_id, "movement": row.to_json(), "material": updated.to_json()}, now=now,
    )
    if movement.went_negative:
        log.warning("stock negative sku=%s on_hand=%s reason=%r", material.sku, row.on_hand_after, row.reason)
    _alert_if_newly_low(conn, material, updated, now=now)
    return StockChange(updated, row)


def _store_balance(
    conn: sqlite3.Connection, material: MaterialRecord, *, on_hand: int, now: datetime
) -> MaterialRecord:
    """The new balance as the material's next version, opening or closing its low-stock episode."""
    change = rules.low_stock_change(on_hand, material.reorder_level, alerted=material.low_since is not None)
    low_since = material.low_since
    if change is rules.LowStockChange.ALERT:
        low_since = now
    elif change is rules.LowStockChange.CLEARED:
        low_since = None
    conn.execute(
        "UPDATE material SET on_hand = ?, low_since = ?, version = version + 1, updated_at = ? WHERE sku = ?",
        (on_hand, to_db_time(low_since) if low_since else None, to_db_time(now), material.sku),
    )
    return replace(material, on_hand=on_hand, low_since=low_since, version=material.version + 1)


def _alert_if_newly_low(
    conn: sqlite3.Connection, before: MaterialRecord, after: MaterialRecord, *, now: datetime
) -> None:
    if before.low_since is not None or after.low_since is None:
        return
    station_id = _station_id(conn)
    append_event(
        conn, event_type="inventory.low_stock", entity_id=after.sku,
        idem_key=f"material:{after.sku}:{after.version}:low",
        body={"station": station_id, "material": after.to_json()}, now=now,
    )
    log.info("stock low sku=%s on_hand=%s reorder_level=%s", after.sku, after.on_hand, after.reorder_level)


def _station_id(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT station_id FROM node WHERE id = 1").fetchone()[0]


def save_materials(conn: sqlite3.Connection, materials: Iterable[MaterialSettings], *, now: datetime) -> None:
    """Make the stocked materials match the config, inside the caller's transaction.

    A new SKU starts with its initial stock (an "in" movement); an existing one keeps its
    balance and takes the config's names, unit and reorder level. SKUs no longer configured
    are deactivated, not deleted: their movements stay.
    """
    conn.execute("UPDATE material SET active = 0")
    for m in materials:
        if find_material(conn, m.sku, active_only=False) is None:
            _create(conn, m, now=now)
            continue
        conn.execute(
            "UPDATE material SET name_zh = ?, name_en = ?, unit = ?, reorder_level = ?, active = 1 WHERE sku = ?",
            (m.name_zh, m.name_en, m.unit, m.reorder_level, m.sku),
        )
        _refresh_low_state(conn, _get(conn, m.sku), now=now)


def _create(conn: sqlite3.Connection, m: MaterialSettings, *, now: datetime) -> None:
    # created empty at version 0, then filled by an ordinary movement: one path for balances and events
    conn.execute(
        f"INSERT INTO material ({_MATERIAL_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, 0, NULL, 1, 0, ?)",
        (m.sku, m.name_zh, m.name_en, m.unit, m.reorder_level, to_db_time(now)),
    )
    material = _get(conn, m.sku)
    if m.initial_stock > 0:
        movement = rules.Movement(m.sku, rules.MovementKind.IN, m.initial_stock, 0, rules.INITIAL_STOCK_REASON)
        record_movement(conn, material, movement, now=now)
    else:
        _refresh_low_state(conn, material, now=now)
    log.info("material created sku=%s on_hand=%s", m.sku, m.initial_stock)


def _refresh_low_state(conn: sqlite3.Connection, material: MaterialRecord, *, now: datetime) -> None:
    """Open or close the low-stock episode for a balance that did not move but whose reorder
    level is new (or whose material is): being low from the start needs buying just the same."""
    change = rules.low_stock_change(material.on_hand, material.reorder_level, alerted=material.low_since is not None)
    if change is rules.LowStockChange.CLEARED:
        conn.execute("UPDATE material SET low_since = NULL WHERE sku = ?", (material.sku,))
    elif change is rules.LowStockChange.ALERT:
        # the alert takes the material's next version, so its idempotency key is new
        updated = _store_balance(conn, material, on_hand=material.on_hand, now=now)
        _alert_if_newly_low(conn, material, updated, now=now)


def _get(conn: sqlite3.Connection, sku: str) -> MaterialRecord:
    material = find_material(conn, sku, active_only=False)
    if material is None:
        raise LookupError(f"material {sku!r} vanished inside its own transaction")
    return material
