"""HQ's durable downlink log per station: enqueue in the caller's transaction, hand out what a
station has not applied (a snapshot first if it is behind the compacted part), compact.

At most `window` messages, and about a message's worth of bytes, beyond what the station
applied are out at a time; an ack lets the next ones go (never the same ones again:
`sent_upto`), a resync or a quiet `resend_after` sends again from what the station applied.
Every message fits the broker's packet limit: an item is at most ITEM_MAX_BYTES, and a station
far behind gets the compacted log as a series of bounded snapshot chunks, each acked before
the next, so it resumes where it stopped whatever the backlog.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, exists, or_, select, update
from sqlmodel import Session

from edge.domain.hlc import Hlc
from sync.envelope import DOWN_LOG_STREAMS, encode, new_message
from sync.errors import SyncError
from sync.hq.db import insert_ignore
from sync.hq.tables import HqDownCursor, HqDownlink

D = HqDownlink.__table__
C = HqDownCursor.__table__
ITEM_MAX_BYTES = 256 << 10  # one downlink item (e.g. a catalogue version), as JSON
COMPACT_MOST = 5_000  # seqs one compaction step covers: later steps go on from there


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
    hlc = Hlc(int(now.timestamp() * 1000), 0).encode()
    size = item_bytes({"seq": 0, "type": type, "entity_id": entity_id, "hlc": hlc, "body": body})
    if size > ITEM_MAX_BYTES:  # every message must fit the broker's packet limit
        raise SyncError(f"a {type} message for {entity_id} is {size} bytes; a downlink message may carry at "
                        f"most {ITEM_MAX_BYTES}")
    cursor = lock_down_cursor(session, station_id, stream)
    seq = cursor.last_seq + 1
    session.execute(update(C).where(_cursor_key(station_id, stream)).values(last_seq=seq))
    session.execute(D.insert().values(station_id=station_id, stream=stream, seq=seq, type=type,
                                      entity_id=entity_id, hlc=hlc, body=body, created_at=now))
    return seq


def already_queued(session: Session, station_id: str, stream: str, entity_id: str) -> bool:
    """Whether the station's log already holds a message about `entity_id`."""
    return session.execute(select(D.c.seq).where(D.c.station_id == station_id, D.c.stream == stream,
                                                 D.c.entity_id == entity_id).limit(1)).first() is not None


class AckBeyondLog(SyncError):
    """A station claims to have applied downlink messages HQ never wrote."""


def record_applied(session: Session, station_id: str, stream: str, applied_upto: int, *, rewind: bool,
                   now: datetime | None = None) -> None:
    """The station says it applied up to `applied_upto`: an ack only moves forward, a resync
    (`rewind`) may move back (the station lost what it had, e.g. restored from a backup).
    An ack that moves the mark at `now` restarts the resend wait too: what is out is arriving (on
    a slow link, sending it again would queue a second copy behind the first).
    AckBeyondLog if that is more than HQ has written for the station."""
    cursor = lock_down_cursor(session, station_id, stream)
    if applied_upto > cursor.last_seq:  # it hides messages skipped, or it is forged: never believed
        raise AckBeyondLog(f"{station_id} says {stream} is applied up to {applied_upto}; HQ has written "
                           f"only up to {cursor.last_seq}")
    statement = update(C).where(_cursor_key(station_id, stream))
    if rewind:
        session.execute(statement.values(applied_upto=applied_upto, sent_upto=applied_upto, sent_at=None))
    else:
        moved = {"sent_at": now} if now is not None else {}
        session.execute(statement.where(C.c.applied_upto < applied_upto).values(
            applied_upto=applied_upto, sent_upto=case((C.c.sent_upto < applied_upto, applied_upto),
                                                      else_=C.c.sent_upto), **moved))


def messages_to_send(session: Session, station_id: str, stream: str, *, window: int, max_bytes: int,
                     now: datetime, resend: bool = False) -> list[dict[str, Any]]:
    """The messages to send now: those after `sent_upto` (after `applied_upto` when `resend`),
    keeping at most `window` messages and about `max_bytes` of items beyond what the station
    applied. A station behind the compacted part gets it first as snapshot chunks of at most
    `max_bytes` of items, one chunk at a time: the next goes when the station has applied this one."""
    cursor = session.execute(select(C).where(_cursor_key(station_id, stream))).one_or_none()
    if cursor is None or cursor.applied_upto >= cursor.last_seq:
        return []
    start = cursor.applied_upto if resend else max(cursor.sent_upto, cursor.applied_upto)
    messages: list[dict[str, Any]] = []
    if start < cursor.compacted_upto:
        if start > cursor.applied_upto:
            return []  # a chunk is out: the station's ack of it resumes from where it applied
        items, start = _snapshot_chunk(session, station_id, stream, start, cursor.compacted_upto, max_bytes)
        messages.append(new_message("snapshot", station=station_id, stream=stream, after=cursor.applied_upto,
                                    upto=start, items=items))
    else:
        room = cursor.applied_upto + window - start
        rows = session.execute(
            select(D).where(D.c.station_id == station_id, D.c.stream == stream, D.c.seq > start)
            .order_by(D.c.seq).limit(max(room, 0))).all() if room > 0 else []
        size = 0
        for row in rows:
            item = _item(row)
            size += item_bytes(item)
            if messages and size > max_bytes:
                break
            messages.append(new_message("log", station=station_id, stream=stream, **item))
            start = row.seq
    if messages:
        session.execute(update(C).where(_cursor_key(station_id, stream)).values(sent_upto=start, sent_at=now))
    return messages


def _snapshot_chunk(session: Session, station_id: str, stream: str, after: int, compacted_upto: int,
                    max_bytes: int) -> tuple[list[dict[str, Any]], int]:
    """The compacted log's items after `after`, as many as fit in `max_bytes` (one at least), and
    the seq the chunk covers up to: the last item's, or `compacted_upto` with the last chunk."""
    items: list[dict[str, Any]] = []
    size = 0
    rows = session.execute(select(D).where(D.c.station_id == station_id, D.c.stream == stream, D.c.seq > after,
                                           D.c.seq <= compacted_upto).order_by(D.c.seq)
                           .execution_options(yield_per=500))
    for row in rows:
        item = _item(row)
        size += item_bytes(item)
        if items and size > max_bytes:
            rows.close()
            return items, items[-1]["seq"]
        items.append(item)
    return items, compacted_upto


def item_bytes(item: dict[str, Any]) -> int:
    """What a log item adds to a message, in bytes (its JSON as sent)."""
    return len(encode(item)) + 1


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


def compact(session: Session, station_id: str, stream: str, *, keep: int, most: int = COMPACT_MOST) -> int:
    """Drop log messages older than the last `keep` that a later message of the same entity
    supersedes, at most `most` seqs further per call (the cursor stays locked only briefly); a
    station behind the cut gets the survivors as snapshot chunks. Rows deleted."""
    cursor = lock_down_cursor(session, station_id, stream)
    cut = min(cursor.last_seq - keep, cursor.compacted_upto + most)
    if cut <= cursor.compacted_upto:
        return 0
    later, step = D.alias("later"), D.alias("step")
    superseded = exists().where(later.c.station_id == D.c.station_id, later.c.stream == D.c.stream,
                                later.c.entity_id == D.c.entity_id, later.c.seq > D.c.seq)
    # the step's own rows, and older survivors of the entities the step speaks of
    in_step = or_(D.c.seq > cursor.compacted_upto, D.c.entity_id.in_(
        select(step.c.entity_id).where(step.c.station_id == station_id, step.c.stream == stream,
                                       step.c.seq > cursor.compacted_upto, step.c.seq <= cut)))
    deleted = session.execute(delete(D).where(D.c.station_id == station_id, D.c.stream == stream,
                                              D.c.seq <= cut, in_step, superseded)).rowcount
    session.execute(update(C).where(_cursor_key(station_id, stream)).values(compacted_upto=cut))
    return deleted


def analyze_downlink(engine: Any) -> None:
    """Keep the planner's statistics of the downlink log current after many rows went (PostgreSQL's
    autovacuum may lag behind a large compaction, and stale statistics made it scan)."""
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE hq_downlink")
        conn.commit()


def compaction_due(session: Session, *, keep: int) -> list[tuple[str, str]]:
    """(station, stream) of every log longer than `keep` messages past its last compaction."""
    return [(r.station_id, r.stream) for r in session.execute(
        select(C.c.station_id, C.c.stream).where(C.c.last_seq - keep > C.c.compacted_upto)
        .order_by(C.c.station_id, C.c.stream))]
