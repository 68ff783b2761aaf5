"""The audit trail: one hash-chained entry per thing a person or the system did that matters.

`record` runs inside the caller's write transaction (BEGIN IMMEDIATE: one writer at a
time), so reading the last entry's hash and inserting the next cannot interleave with
another process. Each entry also goes to HQ as an `audit.recorded` event on its own
stream. Entries are never changed; `verify` walks the chain and names the first entry
that no longer fits.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.domain.audit import GENESIS_HASH, ChainBreak, canonical, entry_hash, verify_chain
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import to_db_time

_COLUMNS = ("seq, at, actor_id, actor_name, actor_kind, terminal, action, entity, entity_id, before, after,"
            " authorised_by, prev_hash, hash")


@dataclass(frozen=True, slots=True)
class AuditRecord:
    seq: int
    at: str
    actor_id: str
    actor_name: str
    actor_kind: str
    terminal: str
    action: str
    entity: str
    entity_id: str
    before: Any
    after: Any
    authorised_by: str | None
    prev_hash: str
    hash: str

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> AuditRecord:
        data = dict(row)
        for name in ("before", "after"):
            data[name] = None if data[name] is None else json.loads(data[name])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


def _plain(value: dict[str, Any] | None) -> Any:
    """`value` as JSON reads it back (dates as text, tuples as lists): what is hashed is what is stored."""
    return None if value is None else json.loads(json.dumps(value, default=str))


def record(
    conn: sqlite3.Connection,
    station: Station,
    *,
    action: str,
    entity: str,
    entity_id: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    authorised_by: str | None = None,
    now: datetime,
) -> None:
    """Append one entry, done by `station.actor` at `station.terminal`, in the caller's write transaction."""
    last = conn.execute("SELECT seq, hash FROM audit_entry ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    actor = station.actor
    entry: dict[str, Any] = {
        "seq": seq, "at": to_db_time(now), "actor_id": actor.id, "actor_name": actor.name,
        "actor_kind": str(actor.kind), "terminal": station.terminal, "action": action, "entity": entity,
        "entity_id": str(entity_id), "before": _plain(before), "after": _plain(after), "authorised_by": authorised_by,
    }
    entry["prev_hash"] = prev_hash
    entry["hash"] = entry_hash(entry, prev_hash)
    conn.execute(
        f"INSERT INTO audit_entry ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, entry["at"], actor.id, actor.name, entry["actor_kind"], station.terminal, action, entity,
         entry["entity_id"], None if before is None else canonical(entry["before"]),
         None if after is None else canonical(entry["after"]), authorised_by, prev_hash, entry["hash"]),
    )
    append_event(conn, event_type="audit.recorded", entity_id=str(seq), idem_key=f"audit:{seq}:{entry['hash']}",
                 body={"station": station.settings.station.id, "entry": entry}, now=now)


def _rows(conn: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    for row in conn.execute(f"SELECT {_COLUMNS} FROM audit_entry ORDER BY seq"):
        yield AuditRecord.from_row(row).to_json()


def verify(station: Station) -> tuple[int, ChainBreak | None]:
    """How many entries the trail holds and the first one that breaks the chain (None: all fit)."""
    with station.store.read() as conn:
        count = conn.execute("SELECT count(*) FROM audit_entry").fetchone()[0]
        return count, verify_chain(_rows(conn))


def entries(
    station: Station,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    actor: str | None = None,
    action: str | None = None,
    entity: str | None = None,
    limit: int = 100,
) -> list[AuditRecord]:
    """The newest entries first that match every filter given: `actor` is an id or a name,
    `action` an exact action or its prefix before a dot (`staff` matches `staff.sign_in`),
    `entity` an entity kind or `kind:id`."""
    where, params = ["1 = 1"], []
    if since is not None:
        where.append("at >= ?")
        params.append(to_db_time(since))
    if until is not None:
        where.append("at < ?")
        params.append(to_db_time(until))
    if actor:
        where.append("(actor_id = ? OR actor_name = ? OR authorised_by = ?)")
        params += [actor, actor, actor]
    if action:
        where.append("(action = ? OR action LIKE ? ESCAPE '\\')")
        params += [action, action.replace("_", "\\_").replace("%", "\\%") + ".%"]
    if entity:
        kind, _, entity_id = entity.partition(":")
        where.append("entity = ?" + (" AND entity_id = ?" if entity_id else ""))
        params += [kind, entity_id] if entity_id else [kind]
    with station.store.read() as conn:
        rows = conn.execute(f"SELECT {_COLUMNS} FROM audit_entry WHERE {' AND '.join(where)}"
                            " ORDER BY seq DESC LIMIT ?", (*params, limit)).fetchall()
    return [AuditRecord.from_row(r) for r in rows]
