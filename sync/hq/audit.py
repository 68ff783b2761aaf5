"""Stations' audit trails at HQ: each `audit.recorded` event kept under (station, seq), once,
and the chain checked again here; and the staff accounts HQ sends each station.

A station's trail verifies at HQ with the same hash as at the station (edge.domain.audit),
so an entry altered on its way, or at either end afterwards, is found by whoever checks.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlmodel import Session

from edge.domain.audit import HASHED_FIELDS, ChainBreak, verify_chain
from edge.domain.permissions import Role
from sync.errors import SyncError
from sync.hq.audit_tables import HqAuditEntry, HqStaff
from sync.hq.db import insert_ignore
from sync.hq.downlink import enqueue_downlink

A, S = HqAuditEntry.__table__, HqStaff.__table__
EVENT = "audit.recorded"
STAFF_STREAM, STAFF_SNAPSHOT = "cmd", "staff.snapshot"
CHAIN = "*"  # the station id of an account every station of the chain gets


class AuditEventInvalid(SyncError):
    """An audit event without the fields of an entry: refused like any malformed event."""


def on_station_event(session: Session, station_id: str, event: dict[str, Any], now: datetime) -> None:
    """Keep an audit entry a station sent (in the ingest's transaction); anything else is not ours."""
    if event["type"] != EVENT:
        return
    entry = (event.get("body") or {}).get("entry")
    try:
        row = {name: entry[name] for name in (*HASHED_FIELDS, "prev_hash", "hash")}
        row["seq"] = int(row["seq"])
    except (KeyError, TypeError, ValueError) as err:
        raise AuditEventInvalid(f"{EVENT} needs a whole entry: {err}") from err
    insert_ignore(session, A, [{**row, "station_id": station_id, "received_at": now}])


def station_trail(session: Session, station_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
    """The station's entries HQ holds, in seq order (the first `limit`)."""
    query = select(*(A.c[name] for name in (*HASHED_FIELDS, "prev_hash", "hash"))).where(
        A.c.station_id == station_id).order_by(A.c.seq)
    return [dict(row._mapping) for row in session.execute(query.limit(limit) if limit else query)]


def verify_station(session: Session, station_id: str) -> tuple[int, ChainBreak | None]:
    """How many of the station's entries HQ holds and the first that breaks its chain (None: all fit)."""
    entries = station_trail(session, station_id)
    return len(entries), verify_chain(entries)


def set_staff(session: Session, station_id: str, accounts: Iterable[dict[str, Any]], now: datetime) -> None:
    """Make `accounts` the staff HQ keeps for `station_id` (or `*`, the whole chain): the list replaces theirs."""
    rows = []
    for a in accounts:
        try:
            rows.append({"station_id": station_id, "staff_id": str(a["id"]), "name": str(a["name"]),
                         "role": str(Role(a["role"])), "card_id": a.get("card_id") or None,
                         "pin_hash": str(a["pin_hash"]), "active": bool(a.get("active", True)), "updated_at": now})
        except (KeyError, ValueError) as err:
            raise SyncError(f"a staff account needs id, name, a role (attendant, technician, manager) and pin_hash:"
                            f" {err}") from err
    session.execute(delete(S).where(S.c.station_id == station_id))
    insert_ignore(session, S, rows)


def push_staff(session: Session, station_id: str, now: datetime) -> int:
    """Queue the station's accounts (its own and the chain's; its own win on the same id) on its
    downlink; the message's seq."""
    found: dict[str, dict[str, Any]] = {}
    rows = session.execute(select(S).where(or_(S.c.station_id == station_id, S.c.station_id == CHAIN))).all()
    for row in sorted(rows, key=lambda r: r.station_id != CHAIN):  # the chain's first, the station's over them
        found[row.staff_id] = {"id": row.staff_id, "name": row.name, "role": row.role, "card_id": row.card_id,
                               "pin_hash": row.pin_hash, "active": row.active}
    body = {"accounts": sorted(found.values(), key=lambda a: a["id"])}
    return enqueue_downlink(session, station_id, STAFF_STREAM, STAFF_SNAPSHOT, "staff", body, now)
