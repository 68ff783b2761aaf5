"""Conflict rows: what the station and HQ disagreed on, kept until a person resolves it
(a booking that lost its cell to the owner's, a double use of a coupon, a refused message)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from sqlite3 import Connection
from typing import Any

from edge.domain.ids import uuid7
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class ConflictRecord:
    id: str
    kind: str
    entity_id: str
    detail: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    resolution: str

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "entity_id": self.entity_id, "detail": self.detail,
                "created_at": to_db_time(self.created_at),
                "resolved_at": None if self.resolved_at is None else to_db_time(self.resolved_at),
                "resolution": self.resolution}


def _record(row: Any) -> ConflictRecord:
    return ConflictRecord(row["id"], row["kind"], row["entity_id"], json.loads(row["detail"]),
                          from_db_time(row["created_at"]),
                          None if row["resolved_at"] is None else from_db_time(row["resolved_at"]), row["resolution"])


def record_conflict(conn: Connection, kind: str, entity_id: str, detail: dict[str, Any], now: datetime, *,
                    conflict_id: str | None = None) -> str:
    """Write an open conflict row on the caller's transaction; its id. A caller that may report
    the same thing twice (sync redelivers) passes its own `conflict_id`: the second is no row."""
    conflict_id = conflict_id or uuid7()
    conn.execute(
        "INSERT INTO conflict (id, kind, entity_id, detail, created_at, resolution) VALUES (?, ?, ?, ?, ?, '')"
        " ON CONFLICT (id) DO NOTHING",
        (conflict_id, kind, entity_id, json.dumps(detail, ensure_ascii=False), to_db_time(now)),
    )
    return conflict_id


def conflicts(station: Station, *, include_resolved: bool = False) -> list[ConflictRecord]:
    """Conflict rows, oldest first; only open ones unless `include_resolved`."""
    where = "" if include_resolved else " WHERE resolved_at IS NULL"
    with station.store.read() as conn:
        rows = conn.execute(f"SELECT id, kind, entity_id, detail, created_at, resolved_at, resolution FROM conflict"
                            f"{where} ORDER BY created_at, id").fetchall()
    return [_record(row) for row in rows]


def resolve(station: Station, conflict_id: str, resolution: str, *, now: datetime | None = None) -> ConflictRecord:
    """Close a conflict with what was done about it (HQ learns of it too)."""
    now = now or station.clock()
    if not resolution.strip():
        raise RuleViolation("say what was done about the conflict (e.g. 'customer called, moved to 15:00')")
    with station.store.write() as conn:
        row = conn.execute("SELECT id, kind, entity_id, detail, created_at, resolved_at, resolution FROM conflict"
                           " WHERE id = ?", (conflict_id,)).fetchone()
        if row is None:
            raise NotFound(f"no conflict {conflict_id!r}")
        if row["resolved_at"] is not None:
            raise InvalidTransition(f"conflict {conflict_id} was resolved already: {row['resolution']}")
        conn.execute("UPDATE conflict SET resolved_at = ?, resolution = ? WHERE id = ?",
                     (to_db_time(now), resolution.strip(), conflict_id))
        append_event(conn, event_type="conflict.resolved", entity_id=conflict_id,
                     idem_key=f"conflict:{conflict_id}:resolved",
                     body={"conflict": conflict_id, "kind": row["kind"], "entity_id": row["entity_id"],
                           "resolution": resolution.strip()}, now=now)
    return _record({**dict(row), "resolved_at": to_db_time(now), "resolution": resolution.strip()})
