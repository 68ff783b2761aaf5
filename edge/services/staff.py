"""Staff at the station: who is working (PIN or card), and a manager's PIN for one action.

HQ is the authority for staff accounts; the station keeps the config's and HQ's last copy
in the `staff` table and works from it offline. A wrong PIN and an unknown name get the same
answer, so the terminal does not tell a guesser which names exist.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.config import StaffSettings
from edge.domain.permissions import Actor, ActorKind, Permission, Role, authorise
from edge.domain.pins import verify_pin
from edge.errors import NotFound, PermissionDenied
from edge.services.station import Station
from edge.store.types import to_db_time


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    name: str
    role: Role
    card_id: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.name, ActorKind.STAFF, self.role)

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": str(self.role), "card_id": self.card_id}


def save_config_staff(conn: sqlite3.Connection, staff: Iterable[StaffSettings], *, now: datetime) -> None:
    """Make the config's staff current in the caller's transaction; accounts HQ sent are HQ's to change."""
    configured = list(staff)
    conn.execute("UPDATE staff SET active = 0 WHERE source = 'config'")
    for s in configured:
        conn.execute(
            "INSERT INTO staff (id, name, role, card_id, pin_hash, active, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?, 1, 'config', ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, card_id = excluded.card_id,"
            " pin_hash = excluded.pin_hash, active = 1, updated_at = excluded.updated_at WHERE staff.source = 'config'",
            (s.id, s.name, s.role, s.card_id, s.pin_hash, to_db_time(now)),
        )


def _member(row: sqlite3.Row) -> StaffMember:
    return StaffMember(row["id"], row["name"], Role(row["role"]), row["card_id"])


def list_staff(station: Station) -> list[StaffMember]:
    with station.store.read() as conn:
        return [_member(r) for r in conn.execute("SELECT * FROM staff WHERE active = 1 ORDER BY role, name, id")]


def _find(conn: sqlite3.Connection, who: str) -> sqlite3.Row | None:
    """The active account whose id, card or name is `who` (the id first: names may repeat)."""
    who = who.strip()
    for column in ("id", "card_id", "name"):
        row = conn.execute(f"SELECT * FROM staff WHERE active = 1 AND {column} = ?", (who,)).fetchone()
        if row is not None:
            return row
    return None


def sign_in(station: Station, who: str, pin: str) -> StaffMember:
    """The account of `who` (id, card id or name) when `pin` is its PIN."""
    with station.store.read() as conn:
        row = _find(conn, who)
    if row is None or not verify_pin(pin, row["pin_hash"]):
        raise PermissionDenied("unknown staff or wrong PIN")
    return _member(row)


def by_card(station: Station, card_id: str) -> StaffMember:
    """The account a card read at the clock-in reader belongs to."""
    with station.store.read() as conn:
        row = conn.execute("SELECT * FROM staff WHERE active = 1 AND card_id = ?", (card_id.strip(),)).fetchone()
    if row is None:
        raise NotFound(f"no staff account has card {card_id!r}")
    return _member(row)


def manager_for(station: Station, permission: Permission, who: str, pin: str) -> Actor:
    """A manager's PIN authorising `permission` at the current operator's terminal."""
    manager = sign_in(station, who, pin).actor
    return authorise(station.actor, permission, manager)
