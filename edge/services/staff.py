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
from edge.domain.permissions import LOCKED, Actor, ActorKind, Permission, Role, authorise
from edge.domain.pins import verify_pin
from edge.errors import NotFound, PermissionDenied
from edge.services import audit
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


def _checked(station: Station, who: str, pin: str, *, purpose: str) -> StaffMember:
    """The account of `who` when `pin` is its PIN; a refusal is written to the audit trail first."""
    with station.store.read() as conn:
        row = _find(conn, who)
    if row is None or not verify_pin(pin, row["pin_hash"]):
        _refused(station, who.strip(), purpose)
        raise PermissionDenied("unknown staff or wrong PIN")
    return _member(row)


def _refused(station: Station, who: str, purpose: str) -> None:
    now = station.clock()
    with station.store.write() as conn:
        audit.record(conn, station, action="staff.sign_in_failed", entity="staff", entity_id=who,
                     before=None, after={"for": purpose}, now=now)


def _signed_in(station: Station, member: StaffMember, how: str) -> StaffMember:
    """`member` becomes the station's operator; the sign-in is audited under their name."""
    station.actor = member.actor
    now = station.clock()
    with station.store.write() as conn:
        audit.record(conn, station, action="staff.sign_in", entity="staff", entity_id=member.id, before=None,
                     after={"by": how, "role": str(member.role)}, now=now)
    return member


def sign_in(station: Station, who: str, pin: str) -> StaffMember:
    """`who` (id, card id or name) starts working when `pin` is their PIN: the station's actor from now on."""
    return _signed_in(station, _checked(station, who, pin, purpose="sign_in"), "pin")


def try_card(station: Station, text: str) -> StaffMember | None:
    """Sign in the holder when `text` is a card id (what a card reader types at the terminal); None
    when it is not one (a name or staff id typed before the PIN), which is no failed sign-in."""
    try:
        member = by_card(station, text)
    except NotFound:
        return None
    return _signed_in(station, member, "card")


def lock(station: Station) -> None:
    """The operator leaves (or the terminal sat idle): audited, then nobody acts until the next sign-in."""
    if station.actor == LOCKED:
        return
    now = station.clock()
    with station.store.write() as conn:
        audit.record(conn, station, action="terminal.locked", entity="terminal", entity_id=station.terminal,
                     before=None, after=None, now=now)
    station.actor = LOCKED


def by_card(station: Station, card_id: str) -> StaffMember:
    """The account a card read at the clock-in reader belongs to."""
    with station.store.read() as conn:
        row = conn.execute("SELECT * FROM staff WHERE active = 1 AND card_id = ?", (card_id.strip(),)).fetchone()
    if row is None:
        raise NotFound(f"no staff account has card {card_id!r}")
    return _member(row)


def manager_for(station: Station, permission: Permission, who: str, pin: str) -> Actor:
    """A manager's PIN authorising `permission` at the current operator's terminal (audited)."""
    manager = _checked(station, who, pin, purpose=str(permission)).actor
    answering = authorise(station.actor, permission, manager)
    with station.store.write() as conn:
        audit.record(conn, station, action="manager.authorised", entity="permission", entity_id=str(permission),
                     before=None, after={"manager": answering.id}, authorised_by=answering.id, now=station.clock())
    return answering


def manager_by_pin(station: Station, who: str, pin: str) -> Actor:
    """A manager named on the command line for whatever privileged action the command does: their
    PIN is checked here, the action's own audit entry names them as its authoriser."""
    manager = _checked(station, who, pin, purpose="manager").actor
    if not manager.is_manager:
        raise PermissionDenied(f"{manager.name} is not a manager")
    return manager


def apply_hq_snapshot(conn: sqlite3.Connection, station: Station, accounts: Iterable[dict[str, Any]], *,
                      now: datetime) -> int:
    """Replace HQ's accounts by its latest list, in the caller's transaction; an HQ account with
    the id of a config one takes it over. The number of accounts HQ sent."""
    accounts = list(accounts)
    conn.execute("UPDATE staff SET active = 0 WHERE source = 'hq'")
    for a in accounts:
        role = Role(a["role"])
        if a.get("card_id"):  # a card moved to another account at HQ leaves its earlier holder
            conn.execute("UPDATE staff SET card_id = NULL WHERE card_id = ? AND id != ?", (a["card_id"], a["id"]))
        conn.execute(
            "INSERT INTO staff (id, name, role, card_id, pin_hash, active, source, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 'hq', ?)"
            " ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, card_id = excluded.card_id,"
            " pin_hash = excluded.pin_hash, active = excluded.active, source = 'hq', updated_at = excluded.updated_at",
            (a["id"], a["name"], str(role), a.get("card_id") or None, a["pin_hash"], int(a.get("active", True)),
             to_db_time(now)),
        )
    audit.record(conn, station, action="staff.snapshot", entity="staff", entity_id="hq", before=None,
                 after={"accounts": sorted(a["id"] for a in accounts)}, now=now)
    return len(accounts)
