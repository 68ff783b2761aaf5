"""The transactional outbox: an event row per change, written inside the change's transaction.

Sequence numbers are gap-free per (epoch, stream) because they come from a counter row that
is updated in the same transaction: a rolled-back change gives its number back.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from edge.domain.events import stream_of
from edge.domain.hlc import Hlc, tick
from edge.domain.ids import uuid7
from edge.store.types import dumps, to_db_time


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: str
    stream: str
    seq: int
    type: str
    entity_id: str
    idem_key: str
    hlc: str


def append_event(
    conn: Connection,
    *,
    epoch: str,
    event_type: str,
    entity_id: str,
    idem_key: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxEvent:
    """Write one outbox row for a change made on `conn` (the caller's open write transaction)."""
    stream = str(stream_of(event_type))
    seq = conn.exec_driver_sql(
        "UPDATE outbox_seq SET last_seq = last_seq + 1 WHERE epoch = ? AND stream = ? RETURNING last_seq",
        (epoch, stream),
    ).scalar()
    if seq is None:
        seq = 1
        conn.exec_driver_sql(
            "INSERT INTO outbox_seq (epoch, stream, last_seq) VALUES (?, ?, 1)", (epoch, stream)
        )
    stamp = _next_hlc(conn)
    event_id = uuid7()
    conn.exec_driver_sql(
        "INSERT INTO outbox (id, epoch, stream, seq, type, entity_id, idem_key, hlc, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event_id, epoch, stream, seq, event_type, entity_id, idem_key, stamp, dumps(body), to_db_time(now)),
    )
    return OutboxEvent(event_id, stream, seq, event_type, entity_id, idem_key, stamp)


def _next_hlc(conn: Connection) -> str:
    # the clock state lives in the database because the daemon, the UI and the CLI all write
    row = conn.exec_driver_sql("SELECT hlc_wall_ms, hlc_logical FROM node WHERE id = 1").one()
    stamp = tick(Hlc(row.hlc_wall_ms, row.hlc_logical), time.time_ns() // 1_000_000)
    conn.exec_driver_sql(
        "UPDATE node SET hlc_wall_ms = ?, hlc_logical = ? WHERE id = 1", (stamp.wall_ms, stamp.logical)
    )
    return stamp.encode()


def pending_events(conn: Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Events HQ has not acknowledged yet, in drain order within each stream."""
    rows = conn.exec_driver_sql(
        "SELECT id, epoch, stream, seq, type, entity_id, idem_key, hlc, body, created_at"
        " FROM outbox WHERE acked_at IS NULL ORDER BY stream, seq LIMIT ?",
        (limit,),
    ).mappings()
    return [dict(row) for row in rows]


def pending_count(conn: Connection) -> int:
    return conn.exec_driver_sql("SELECT count(*) FROM outbox WHERE acked_at IS NULL").scalar_one()
