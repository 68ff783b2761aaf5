"""The transactional outbox: an event row per change, written inside the change's transaction.

Sequence numbers are gap-free per (epoch, stream): a new event's seq is the stream's highest
+ 1, read through the (epoch, stream, seq) unique index inside the change's write transaction
(BEGIN IMMEDIATE: one writer at a time), and outbox rows are never deleted. A rolled-back
change gives its number back.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.domain.events import STREAM_PRIORITY, stream_of
from edge.domain.hlc import Hlc
from edge.domain.ids import uuid7
from edge.errors import StoreError
from edge.store.types import dumps, to_db_time

# the hybrid-logical-clock tick of edge.domain.hlc.tick, done in one statement: the clock
# state lives in the database because the daemon, the UI and the CLI all write events. It
# also returns the epoch, read in the event's own transaction: another process may have
# started a new epoch since this one cached the node row
EVENT_MAX_BYTES = 256 << 10  # an event's body: a batch of one must fit the broker's packet limit with room
_TICK_HLC = (
    "UPDATE node SET hlc_logical = CASE WHEN ? > hlc_wall_ms THEN 0 ELSE hlc_logical + 1 END,"
    " hlc_wall_ms = max(hlc_wall_ms, ?) WHERE id = 1 RETURNING hlc_wall_ms, hlc_logical, epoch"
)
_STREAMS = " UNION ALL ".join(f"SELECT '{s}' AS stream" for s in STREAM_PRIORITY)
_PRIORITY_ORDER = "CASE stream " + " ".join(f"WHEN '{s}' THEN {i}" for i, s in enumerate(STREAM_PRIORITY)) + " END"


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
    conn: sqlite3.Connection,
    *,
    event_type: str,
    entity_id: str,
    idem_key: str,
    body: dict[str, Any],
    now: datetime,
) -> OutboxEvent:
    """Write one outbox row for a change made on `conn` (the caller's open write transaction)."""
    stream = str(stream_of(event_type))
    now_ms = time.time_ns() // 1_000_000
    wall_ms, logical, epoch = conn.execute(_TICK_HLC, (now_ms, now_ms)).fetchone()
    stamp = Hlc(wall_ms, logical).encode()
    text = dumps(body)
    if len(text) > EVENT_MAX_BYTES:  # len() counts characters: a CJK character is 3 bytes, still well in bounds
        raise StoreError(f"a {event_type} event of {len(text)} characters is over the limit of {EVENT_MAX_BYTES} "
                         "characters that one sync message can carry to HQ")
    event_id = uuid7()
    # a read and a plain INSERT: cheaper than one INSERT ... SELECT max(seq) ... RETURNING
    seq = last_seq(conn, epoch, stream) + 1
    conn.execute(
        "INSERT INTO outbox (id, epoch, stream, seq, type, entity_id, idem_key, hlc, body, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (event_id, epoch, stream, seq, event_type, entity_id, idem_key, stamp, text, to_db_time(now)),
    )
    return OutboxEvent(event_id, stream, seq, event_type, entity_id, idem_key, stamp)


def pending_events(conn: sqlite3.Connection, *, limit: int = 100) -> list[dict[str, Any]]:
    """Events HQ has not acknowledged yet, in drain order: stream priority, then seq."""
    rows = conn.execute(
        "SELECT id, epoch, stream, seq, type, entity_id, idem_key, hlc, body, created_at"
        f" FROM outbox WHERE acked_at IS NULL ORDER BY {_PRIORITY_ORDER}, seq LIMIT ?",
        (limit,),
    )
    return [dict(row) for row in rows]


def last_seq(conn: sqlite3.Connection, epoch: str, stream: str) -> int:
    """The highest seq written in (epoch, stream); 0 before its first event."""
    return conn.execute("SELECT coalesce(max(seq), 0) FROM outbox WHERE epoch = ? AND stream = ?",
                        (epoch, stream)).fetchone()[0]


def pending_count(conn: sqlite3.Connection) -> int:
    """Events HQ has not acknowledged: per stream of the current epoch, the rows above HQ's
    contiguous ack mark, counted through the (epoch, stream, seq) index. The board asks every
    half second, and a scan of the whole outbox would grow with the station's history. Older
    epochs hold nothing unacknowledged: a new epoch adopts their waiting events."""
    return conn.execute(
        "SELECT coalesce(sum((SELECT count(*) FROM outbox o WHERE o.epoch = n.epoch AND o.stream = s.stream"
        " AND o.seq > coalesce((SELECT acked_upto FROM sync_uplink u WHERE u.epoch = n.epoch"
        " AND u.stream = s.stream), 0))), 0)"
        f" FROM node n, ({_STREAMS}) s WHERE n.id = 1"
    ).fetchone()[0]
