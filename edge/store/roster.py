"""Reading and writing roster exception rows on the caller's connection (the service owns the transaction)."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime

from edge.domain.roster import ExceptionKind, RosterException
from edge.store.types import to_db_time

_COLUMNS = "technician_id, day, kind, start_minute, end_minute, note"


def _record(row: sqlite3.Row) -> RosterException:
    return RosterException(row["technician_id"], date.fromisoformat(row["day"]), ExceptionKind(row["kind"]),
                           row["start_minute"], row["end_minute"], row["note"])


def exception_on(conn: sqlite3.Connection, technician_id: str, day: date) -> RosterException | None:
    """The technician's exception on the local `day`, if any (a primary-key lookup)."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM roster_exception WHERE technician_id = ? AND day = ?",
                       (technician_id, day.isoformat())).fetchone()
    return None if row is None else _record(row)


def query_exceptions(
    conn: sqlite3.Connection, *, day: date | None = None, technician_id: str | None = None,
    since: date | None = None,
) -> list[RosterException]:
    """Exceptions by date, then technician; narrowed to one `day`, one technician, or from `since` on."""
    where, params = [], []
    if day is not None:
        where.append("day = ?")
        params.append(day.isoformat())
    if since is not None:
        where.append("day >= ?")
        params.append(since.isoformat())
    if technician_id is not None:
        where.append("technician_id = ?")
        params.append(technician_id)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM roster_exception{clause} ORDER BY day, technician_id", params)
    return [_record(row) for row in rows]


def save_exception(conn: sqlite3.Connection, exception: RosterException, *, now: datetime) -> None:
    """Write the exception, replacing the technician's earlier one on that date."""
    conn.execute(
        f"INSERT INTO roster_exception ({_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (technician_id, day) DO UPDATE SET kind = excluded.kind, start_minute = excluded.start_minute,"
        " end_minute = excluded.end_minute, note = excluded.note, updated_at = excluded.updated_at",
        (exception.technician_id, exception.day.isoformat(), str(exception.kind), exception.start_minute,
         exception.end_minute, exception.note, to_db_time(now)),
    )


def delete_exception(conn: sqlite3.Connection, technician_id: str, day: date) -> None:
    conn.execute("DELETE FROM roster_exception WHERE technician_id = ? AND day = ?", (technician_id, day.isoformat()))
