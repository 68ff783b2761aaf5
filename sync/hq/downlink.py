"""HQ's durable downlink log per station: enqueue in the caller's transaction, hand out what a
station has not applied (a snapshot first if it is behind the compacted part), compact.

At most `window` messages beyond what the station applied are out at a time; an ack lets the
next ones go (never the same ones again: `sent_upto`), a resync or a quiet `resend_after`
sends again from what the station applied.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, select, update
from sqlmodel import Session

from edge.domain.hlc import Hlc
from sync.envelope import DOWN_LOG_STREAMS, new_message
from sync.errors import SyncError
from sync.hq.db import insert_ignore
from sync.hq.tables import HqDownCursor, HqDownlink

D = HqDownlink.__table__
C = HqDownCursor.__table__


def _cursor_key(station_id: str, stream: str) -> Any:
    return and_(C.c.station_id == station_id, C.c.stream == stream)


def lock_down_cursor(session: Session, station_id: str, stream: str) -> Any:
    """The stream's cursor row, created if new and locked for this transaction."""
    insert_ignore(session, C, [{"station_id": station_id, "stream": stream, "last_seq": 0, "applied_upto": 0,
                                "sent_upto": 0, "compacted_upto": 0, "sent_at": None}])
    return session.execute(select(C).where(_cursor_key(station_id, stream)).with_for_update()).one()


def enqueue_downlink(session: Session, station_id: str, stream: str, type: str, entity_id: str,
                     body: dict[str, Any], now: datetime) -> int:
    """Append a message to the station's downlink log (in the caller's transaction); its seq."""
    if stream not in DOWN_LOG_STREAMS:
        raise SyncError(f"unknown downlink stream {stream!r}; one of {', '.join(DOWN_LOG_STREAMS)}")
    cursor = lock_down_cursor(session, station_id, stream)
    seq = cursor.last_seq + 1
    session.execute(update(C).where(_cursor_key(station_id, stream)).values(last_seq=seq))
    hlc = Hlc(int(now.timestamp() * 1000), 0).encode()
    session.execute(D.insert().values(station_id=station_id, stream=stream, seq=seq, type=type,
                                      entity_id=entity_id, hlc=hlc, body=body, created_at=now))
    return seq


def already_queued(session: Session, station_id: str, stream: str, entity_id: str) -> bool:
    """Whether the station's log already holds a message about `entity_id`."""
    return session.execute(select(D.c.seq).where(D.c.station_id == station_id, D.c.stream == stream,
                                                 D.c.entity_id == entity_id).limit(1)).first() is not None


def record_applied(session: Session, station_id: str, stream: str, applied_upto: int, *, rewind: bool) -> None:
    """The station says it applied up to `applied_upto`: an ack only moves forward, a resync
    (`rewind`) may move back (the station lost what it had, e.g. restored from a backup)."""
    lock_down_cursor(session, station_id, stream)
    statement = update(C).where(_cursor_key(station_id, stream))
    if rewind:
        session.execute(statement.values(applied_upto=applied_upto, sent_upto=applied_upto, sent_at=None))
    else:
        session.execute(statement.where(C.c.applied_upto < applied_upto).values(
            applied_upto=applied_upto, sent_upto=case((C.c.sent_upto < applied_upto, applied_upto),
                                                      else_=C.c.sent_upto)))


def messages_to_send(session: Session, station_id: str, stream: str, *, window: int, now: datetime,
                     resend: bool = False) -> list[dict[str, Any]]:
    """The messages to send now: those after `sent_upto` (after `applied_upto` when `resend`),
    keeping at most `window` beyond what the station applied; a snapshot of the compacted part
    first if the station is behind it."""
    cursor = session.execute(select(C).where(_cursor_key(station_id, stream))).one_or_none()
    if cursor is None or cursor.applied_upto >= cursor.last_seq:
        return []
    start = cursor.applied_upto if resend else max(cursor.sent_upto, cursor.applied_upto)
    room = cursor.applied_upto + window - start
    messages: list[dict[str, Any]] = []
    if start < cursor.compacted_upto:
        items = session.execute(
            select(D).where(D.c.station_id == station_id, D.c.stream == stream, D.c.seq > start,
                            D.c.seq <= cursor.compacted_upto).order_by(D.c.seq)).all()
        messages.append(new_message("snapshot", station=station_id, stream=stream, upto=cursor.compacted_upto,
                                    items=[_item(r) for r in items]))
        start = cursor.compacted_upto
    if room > 0:
        rows = session.execute(
            select(D).where(D.c.station_id == station_id, D.c.stream == stream, D.c.seq > start)
            .order_by(D.c.seq).limit(room)).all()
        messages.extend(new_message("log", station=station_id, stream=stream, **_item(r)) for r in rows)
        start = rows[-1].seq if rows else start
    if messages:
        session.execute(update(C).where(_cursor_key(station_id, stream)).values(sent_upto=start, sent_at=now))
    return messages


def _item(row: Any) -> dict[str, Any]:
    return {"seq": row.seq, "type": row.type, "entity_id": row.entity_id, "hlc": row.hlc, "body": row.body}


def due_streams(session: Session, *, now: datetime, resend_after: timedelta) -> list[tuple[str, str, bool]]:
    """(station, stream, resend) for every stream with something to send: new messages not sent
    yet, or (resend) messages sent but not applied for `resend_after`."""
    rows = session.execute(
        select(C.c.station_id, C.c.stream, C.c.sent_upto, C.c.last_seq, C.c.sent_at).where(
            C.c.applied_upto < C.c.last_seq)).all()
    cutoff = now - resend_after
    due = []
    for r in rows:
        stale = r.sent_at is None or _aware(r.sent_at) < cutoff
        if stale or r.sent_upto < r.last_seq:
            due.append((r.station_id, r.stream, stale))
    return due


def _aware(instant: datetime) -> datetime:
    # SQLite hands back naive datetimes for timezone-aware columns: they were stored in UTC
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def compact(session: Session, station_id: str, stream: str, *, keep: int) -> int:
    """Drop log messages older than the last `keep` that a later message of the same entity
    supersedes; a station behind the cut gets the survivors as one snapshot. Rows deleted."""
    cursor = lock_down_cursor(session, station_id, stream)
    cut = cursor.last_seq - keep
    if cut <= cursor.compacted_upto:
        return 0
    later = D.alias("later")
    superseded = exists().where(later.c.station_id == D.c.station_id, later.c.stream == D.c.stream,
                                later.c.entity_id == D.c.entity_id, later.c.seq > D.c.seq)
    deleted = session.execute(delete(D).where(D.c.station_id == station_id, D.c.stream == stream,
                                              D.c.seq <= cut, superseded)).rowcount
    session.execute(update(C).where(_cursor_key(station_id, stream)).values(compacted_upto=cut))
    return deleted


def all_cursors(session: Session) -> list[Any]:
    return session.execute(select(C).order_by(C.c.station_id, C.c.stream)).all()
