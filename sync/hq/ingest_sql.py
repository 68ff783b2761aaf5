"""The statements of HQ's events path as driver SQL (see `sync.hq.db.Driver`): the same SQL
for SQLite and PostgreSQL where they agree; PostgreSQL takes many rows as arrays (one
statement text, parsed once, bound in binary), SQLite as multi-row VALUES."""

from __future__ import annotations

from typing import Any

from sync.hq.db import Driver

ROWS_PER_INSERT = 500  # rows of one multi-row INSERT (well within SQLite's parameter limit)


class IngestSql:
    """The statements of the events path, as driver SQL (see `Driver`)."""

    def __init__(self, driver: Driver) -> None:
        q = driver.sql
        stream = "station_id = ? AND epoch = ? AND stream = ?"
        self.seen = q("INSERT INTO hq_station (station_id, presence, last_seen_at) VALUES (?, 'unknown', ?)"
                      " ON CONFLICT (station_id) DO UPDATE SET last_seen_at = excluded.last_seen_at")
        # a no-op update of the stream's cursor, if its epoch was announced (no row if not): the
        # cursor exists afterwards and is locked until the commit (workers of one stream take turns)
        self.cursor_lock = q("INSERT INTO hq_cursor (station_id, epoch, stream, acked_upto, head, updated_at)"
                             " SELECT ?, ?, ?, 0, 0, ? WHERE EXISTS (SELECT 1 FROM hq_station_epoch"
                             " WHERE station_id = ? AND epoch = ?) ON CONFLICT (station_id, epoch, stream)"
                             " DO UPDATE SET station_id = excluded.station_id RETURNING acked_upto")
        self.cursor_advance = q("UPDATE hq_cursor SET acked_upto = ?, head = CASE WHEN head < ? THEN ? ELSE head END,"
                                f" updated_at = ? WHERE {stream}")
        inbox = ("INSERT INTO hq_inbox (station_id, epoch, stream, seq, idem_key, event, digest, status, reason,"
                 " received_at)")
        self._inbox_values = inbox + " VALUES {rows} ON CONFLICT DO NOTHING RETURNING seq"
        # PostgreSQL only: arrays bound in binary (%b), their texts need no escaping
        self._inbox_arrays = (inbox + " SELECT %s, %s, %s, r.seq, r.idem_key, r.event, r.digest, r.status, '', %s"
                              " FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::text[])"
                              " AS r(seq, idem_key, event, digest, status) ON CONFLICT DO NOTHING RETURNING seq")
        self.inbox_digests = f"SELECT seq, digest FROM hq_inbox WHERE {stream} AND seq IN ({{seqs}})"
        self.inbox_after = q(f"SELECT seq, idem_key, event FROM hq_inbox WHERE {stream} AND seq > ?"
                             " ORDER BY seq LIMIT 1000")
        self.inbox_mark_range = q(f"UPDATE hq_inbox SET status = 'applied' WHERE {stream} AND seq >= ? AND seq <= ?")
        self.inbox_mark_duplicates = f"UPDATE hq_inbox SET status = 'duplicate' WHERE {stream} AND seq IN ({{seqs}})"
        self.inbox_mark_one = q(f"UPDATE hq_inbox SET status = ?, reason = ? WHERE {stream} AND seq = ?")
        self.inbox_rejected = q(f"SELECT seq, idem_key, reason FROM hq_inbox WHERE {stream} AND status = 'rejected'"
                                " AND seq > ? AND seq <= ? ORDER BY seq")
        event = "INSERT INTO hq_event (idem_key, station_id, epoch, stream, seq, type, entity_id, hlc, applied_at)"
        self._event_values = event + " VALUES {rows} ON CONFLICT DO NOTHING RETURNING idem_key"
        self._event_arrays = (event + " SELECT r.idem_key, %s, %s, %s, r.seq, r.type, r.entity_id, r.hlc, %s"
                              " FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::text[], %b::text[])"
                              " AS r(idem_key, seq, type, entity_id, hlc) ON CONFLICT DO NOTHING RETURNING idem_key")
        booking = ("INSERT INTO hq_booking (station_id, booking_id, state, hlc, events, updated_at) {rows}"
                   " ON CONFLICT (station_id, booking_id) DO UPDATE SET events = hq_booking.events + excluded.events,"
                   " updated_at = excluded.updated_at,"
                   " state = CASE WHEN excluded.hlc > hq_booking.hlc THEN excluded.state ELSE hq_booking.state END,"
                   " hlc = CASE WHEN excluded.hlc > hq_booking.hlc THEN excluded.hlc ELSE hq_booking.hlc END")
        self._booking_rows = q(booking.format(rows="VALUES (?, ?, ?, ?, ?, ?)"))
        self._booking_arrays = booking.format(
            rows="SELECT %s, r.booking_id, r.state, r.hlc, r.events, %s FROM unnest(%b::text[], %b::text[], %b::text[],"
                 " %b::bigint[]) AS r(booking_id, state, hlc, events)")
        self._q = q
        self._postgres = driver.postgres

    def insert_inbox(self, cursor: Any, where: tuple[str, str, str], at: Any,
                     rows: list[tuple[int, str, str, str, str]]) -> set[int]:
        """Insert (seq, idem_key, event, digest, status) rows of one stream unless present; the
        seqs inserted."""
        if self._postgres:
            return _returned(cursor, self._inbox_arrays, (*where, at, *_columns(rows)))
        return _insert_values(cursor, self._inbox_values, "(?, ?, ?, ?, ?, ?, ?, ?, '', ?)",
                              [(*where, *r, at) for r in rows])

    def insert_events(self, cursor: Any, where: tuple[str, str, str], at: Any,
                      rows: list[tuple[str, int, str, str, str]]) -> set[str]:
        """Insert (idem_key, seq, type, entity_id, hlc) rows into hq_event unless their idem_key
        is there; the idem_keys inserted (seen first now)."""
        station, epoch, stream = where
        if self._postgres:
            return _returned(cursor, self._event_arrays, (*where, at, *_columns(rows)))
        return _insert_values(cursor, self._event_values, "(?, ?, ?, ?, ?, ?, ?, ?, ?)",
                              [(key, station, epoch, stream, seq, kind, entity, hlc, at)
                               for key, seq, kind, entity, hlc in rows])

    def upsert_bookings(self, cursor: Any, station_id: str, at: Any, events: list[tuple[str, str, str]]) -> None:
        """HQ's booking view from (booking_id, state, hlc) events: one row per booking, its state
        from the latest event by HLC (the first of equal ones), `events` counting them all. One
        row per booking per statement (a statement may not update a row twice)."""
        latest: dict[str, list[Any]] = {}
        for booking_id, state, hlc in events:
            row = latest.setdefault(booking_id, [state, hlc, 0])
            row[2] += 1
            if hlc > row[1]:
                row[0], row[1] = state, hlc
        if self._postgres:
            columns = _columns([(booking_id, *row) for booking_id, row in latest.items()])
            cursor.execute(self._booking_arrays, (station_id, at, *columns))
        else:
            cursor.executemany(self._booking_rows, [(station_id, b, state, hlc, count, at)
                                                    for b, (state, hlc, count) in latest.items()])

    def listing(self, template: str, count: int) -> str:
        """`template` with an IN list of `count` values."""
        return self._q(template.format(seqs=", ".join(["?"] * count)))


def _columns(rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    """Rows turned into one list per column (PostgreSQL arrays)."""
    return [list(column) for column in zip(*rows, strict=True)]


def _returned(cursor: Any, sql: str, params: tuple[Any, ...]) -> set[Any]:
    cursor.execute(sql, params)
    return {key for (key,) in cursor.fetchall()}


def _insert_values(cursor: Any, template: str, row: str, rows: list[tuple[Any, ...]]) -> set[Any]:
    """`template` (an INSERT ... VALUES {rows} ... RETURNING one column) run over `rows`, a few
    hundred at a time; the values returned."""
    inserted: set[Any] = set()
    for start in range(0, len(rows), ROWS_PER_INSERT):
        part = rows[start:start + ROWS_PER_INSERT]
        inserted |= _returned(cursor, template.format(rows=", ".join([row] * len(part))),
                              tuple(v for r in part for v in r))
    return inserted
