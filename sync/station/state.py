"""The station's sync bookkeeping in its own database: ack marks, applied downlink seqs, the
link's state, conflict rows, and the HLC receive rule."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from edge.domain.hlc import Hlc
from edge.services.conflicts import record_conflict
from edge.store.types import to_db_time


def acked_upto(conn: sqlite3.Connection, epoch: str, stream: str) -> int:
    row = conn.execute("SELECT acked_upto FROM sync_uplink WHERE epoch = ? AND stream = ?", (epoch, stream)).fetchone()
    return row[0] if row else 0


def record_ack(conn: sqlite3.Connection, epoch: str, stream: str, upto: int, now: datetime) -> int:
    """HQ has every event of (epoch, stream) up to `upto`: mark them done. The previous mark."""
    before = acked_upto(conn, epoch, stream)
    if upto <= before:
        return before
    conn.execute(
        "INSERT INTO sync_uplink (epoch, stream, acked_upto, acked_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (epoch, stream) DO UPDATE SET acked_upto = excluded.acked_upto, acked_at = excluded.acked_at",
        (epoch, stream, upto, to_db_time(now)),
    )
    conn.execute("UPDATE outbox SET acked_at = ? WHERE epoch = ? AND stream = ? AND seq > ? AND seq <= ?",
                 (to_db_time(now), epoch, stream, before, upto))
    conn.execute("UPDATE sync_link SET last_ack_at = ? WHERE id = 1", (to_db_time(now),))
    return before


def applied_upto(conn: sqlite3.Connection, stream: str) -> int:
    row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = ?", (stream,)).fetchone()
    return row[0] if row else 0


def record_applied(conn: sqlite3.Connection, stream: str, upto: int, now: datetime) -> None:
    conn.execute(
        "INSERT INTO sync_downlink (stream, applied_upto, applied_at) VALUES (?, ?, ?)"
        " ON CONFLICT (stream) DO UPDATE SET applied_upto = excluded.applied_upto, applied_at = excluded.applied_at",
        (stream, upto, to_db_time(now)),
    )


def set_link(conn: sqlite3.Connection, state: str, now: datetime, error: str = "", *,
             heard_at: datetime | None = None, stalled_since: datetime | None = None) -> None:
    """The link's state; `changed_at` moves only when the state does, `seen_at` always; HQ last
    heard at `heard_at` (kept when None), work waiting without progress since `stalled_since`."""
    stamp = to_db_time(now)
    heard = to_db_time(heard_at) if heard_at else None
    stalled = to_db_time(stalled_since) if stalled_since else None
    conn.execute(
        "INSERT INTO sync_link (id, state, changed_at, seen_at, last_ack_at, last_error, heard_at, stalled_since)"
        " VALUES (1, ?, ?, ?, NULL, ?, ?, ?)"
        " ON CONFLICT (id) DO UPDATE SET changed_at = CASE WHEN state = excluded.state THEN changed_at"
        " ELSE excluded.changed_at END, state = excluded.state, seen_at = excluded.seen_at,"
        " last_error = excluded.last_error, heard_at = coalesce(excluded.heard_at, heard_at),"
        " stalled_since = excluded.stalled_since",
        (state, stamp, stamp, error, heard, stalled),
    )


def add_conflict(conn: sqlite3.Connection, conflict_id: str, kind: str, entity_id: str, detail: dict[str, Any],
                 now: datetime) -> None:
    """A conflict row for a person to resolve; the id makes a repeated report one row."""
    record_conflict(conn, kind, entity_id, detail, now, conflict_id=conflict_id)


def merge_remote_clock(conn: sqlite3.Connection, remote: Hlc) -> None:
    """The HLC receive rule: later local events stamp after what HQ stamped."""
    conn.execute(
        "UPDATE node SET hlc_logical = CASE WHEN ? > hlc_wall_ms THEN ? + 1"
        " WHEN ? = hlc_wall_ms THEN max(hlc_logical, ?) + 1 ELSE hlc_logical END,"
        " hlc_wall_ms = max(hlc_wall_ms, ?) WHERE id = 1",
        (remote.wall_ms, remote.logical, remote.wall_ms, remote.logical, remote.wall_ms),
    )


def current_epoch(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT epoch FROM node WHERE id = 1").fetchone()[0]
