"""HQ's handling of what stations send: verify, store in the inbox, apply in seq order under
idem_key, advance the contiguous mark, and say what to publish once committed.

Every handler returns the messages to publish (unsigned); the caller signs and publishes them
only after the transaction committed, so an ack never runs ahead of HQ's database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlmodel import Session

from edge.domain.hlc import Hlc
from sync.envelope import (DOWN_LOG_STREAMS, UP_STREAMS, MalformedMessage, UpBatch, UpEvent, decode, down_topic,
                           new_message, parse_batch, require, topic_parts, whole)
from sync.errors import SignatureError, SyncError
from sync.hq.db import insert_ignore, transaction, upsert
from sync.hq.downlink import already_queued, enqueue_downlink, messages_to_send, record_applied
from sync.hq.escrow import on_station_event
from sync.hq.tables import HqAlert, HqBooking, HqCursor, HqEvent, HqInbox, HqStation, HqStationEpoch
from sync.signing import Keyring

log = logging.getLogger(__name__)

I, K, E, B = HqInbox.__table__, HqCursor.__table__, HqEvent.__table__, HqBooking.__table__
ST, EP, AL = HqStation.__table__, HqStationEpoch.__table__, HqAlert.__table__
_RETRIES = 5  # a PostgreSQL deadlock or serialization failure is retried whole


@dataclass(frozen=True, slots=True)
class InboxRow:
    """An inbox row as the apply step needs it (read back, or still in memory from the batch)."""

    epoch: str
    stream: str
    seq: int
    idem_key: str
    type: str
    entity_id: str
    hlc: str
    body: dict[str, Any]

    @classmethod
    def of(cls, epoch: str, stream: str, event: UpEvent) -> InboxRow:
        return cls(epoch, stream, event.seq, event.idem_key, event.type, event.entity_id, event.hlc, event.body)

    @classmethod
    def stored(cls, row: Any) -> InboxRow:
        e = json.loads(row.event)
        return cls(row.epoch, row.stream, row.seq, row.idem_key, e["type"], e["entity_id"], e["hlc"], e["body"])


class Refused(SyncError):
    """A message HQ will not take (alerted, never acked): replayed seq, unknown epoch, wrong station."""

    def __init__(self, kind: str, detail: str, *, epoch: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.epoch = epoch


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    message: dict[str, Any]


class Ingest:
    def __init__(self, engine: Engine, keyring: Keyring, *, clock: Callable[[], datetime],
                 max_clock_ahead: timedelta = timedelta(hours=1), downlink_window: int = 200) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self.max_clock_ahead = max_clock_ahead
        self.downlink_window = downlink_window

    # -- entry point ---------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Outgoing]:
        """Everything about one received message; never raises for a bad message (it alerts)."""
        station_id = ""
        try:
            _, station_id, _ = topic_parts(topic)
            message = decode(payload)
            self.keyring.verify(message, station_id=station_id)
            if message.get("station") != station_id:
                raise Refused("wrong_station", f"message for {message.get('station')!r} on {topic}")
            return self._dispatch(station_id, message)
        except SignatureError as err:
            self._alert(station_id, "bad_signature", f"{topic}: {err}")
        except MalformedMessage as err:
            self._alert(station_id, "poison", f"{topic}: {err}; payload={payload[:500]!r}")
        except Refused as err:
            self._alert(station_id, err.kind, f"{topic}: {err}",
                        new_epoch_for=err.epoch if err.kind == "seq_reused" else None)
        return []

    def _dispatch(self, station_id: str, message: dict[str, Any]) -> list[Outgoing]:
        kind = message.get("kind")
        if kind == "events":
            return self._retrying(lambda s: self._events(s, station_id, parse_batch(message)))
        if kind == "hello":
            require(message, "epoch", "applied")
            return self._retrying(lambda s: self._hello(s, station_id, message))
        if kind in ("ack", "resync"):
            require(message, "stream")
            stream = message["stream"]
            if stream not in DOWN_LOG_STREAMS:
                raise MalformedMessage(f"{kind} for unknown downlink stream {stream!r}")
            upto = whole(message, "applied_upto") if kind == "ack" else whole(message, "from_seq") - 1
            return self._retrying(lambda s: self._downlink_mark(s, station_id, stream, upto, kind == "resync"))
        raise MalformedMessage(f"unknown message kind {kind!r}")

    def _retrying(self, work: Callable[[Session], list[Outgoing]]) -> list[Outgoing]:
        for attempt in range(_RETRIES):
            try:
                with transaction(self.engine) as session:
                    return work(session)
            except OperationalError as err:
                if attempt == _RETRIES - 1:
                    raise SyncError(f"HQ database kept failing: {err}") from err
                log.warning("hq transaction retried attempt=%d error=%s", attempt + 1, err)
        return []

    # -- station events --------------------------------------------------------------

    def _events(self, s: Session, station_id: str, batch: UpBatch) -> list[Outgoing]:
        now = self.clock()
        self._seen(s, station_id, now)
        announced = select(EP.c.epoch).where(EP.c.station_id == station_id, EP.c.epoch == batch.epoch)
        if s.execute(announced).first() is None:
            raise Refused("unknown_epoch", f"epoch {batch.epoch} was never announced by {station_id}")
        # the stream's cursor is locked first: concurrent workers of one stream take turns here
        insert_ignore(s, K, [{"station_id": station_id, "epoch": batch.epoch, "stream": batch.stream,
                              "acked_upto": 0, "head": 0, "updated_at": now}])
        cursor_key = and_(K.c.station_id == station_id, K.c.epoch == batch.epoch, K.c.stream == batch.stream)
        acked = s.execute(select(K.c.acked_upto).where(cursor_key).with_for_update()).scalar_one()
        key = and_(I.c.station_id == station_id, I.c.epoch == batch.epoch, I.c.stream == batch.stream)
        canonical = [e.canonical() for e in batch.events]
        rows = [{"station_id": station_id, "epoch": batch.epoch, "stream": batch.stream, "seq": e.seq,
                 "idem_key": e.idem_key, "event": text, "digest": UpEvent.digest_of(text), "status": "pending",
                 "reason": "", "received_at": now} for e, text in zip(batch.events, canonical, strict=True)]
        inserted = {r[0] for r in insert_ignore(s, I, rows, returning=("seq",))}
        repeated = {r["seq"]: r["digest"] for r in rows if r["seq"] not in inserted}
        if repeated:
            stored = dict(s.execute(select(I.c.seq, I.c.digest).where(key, I.c.seq.in_(list(repeated)))).all())
            changed = sorted(seq for seq, digest in repeated.items() if stored.get(seq) != digest)
            if changed:
                raise Refused("seq_reused", f"{station_id}/{batch.epoch}/{batch.stream} seq {changed[:5]} "
                                            "came again with different content (replay, tampering, or a "
                                            "database restored from a backup)", epoch=batch.epoch)
        self._check_clocks(s, station_id, batch.events, now)
        if batch.first <= acked + 1 <= batch.last:  # the usual case: the batch continues the run, from memory
            run = [InboxRow.of(batch.epoch, batch.stream, e) for e in batch.events if e.seq > acked]
            self._apply_run(s, station_id, run, now)
            acked = batch.last
        acked = self._advance(s, station_id, batch.epoch, batch.stream, acked, now)
        s.execute(update(K).where(cursor_key).values(
            acked_upto=acked, head=case((K.c.head < batch.head, batch.head), else_=K.c.head), updated_at=now))
        rejected = [{"seq": r.seq, "idem_key": r.idem_key, "reason": r.reason} for r in s.execute(
            select(I.c.seq, I.c.idem_key, I.c.reason).where(key, I.c.status == "rejected",
                                                            I.c.seq > batch.known_acked, I.c.seq <= acked))]
        ack = new_message("ack", station=station_id, epoch=batch.epoch, stream=batch.stream, acked_upto=acked,
                          rejected=rejected)
        return [Outgoing(down_topic(station_id, "ack"), ack)]

    def _advance(self, s: Session, station_id: str, epoch: str, stream: str, acked: int, now: datetime) -> int:
        """Apply the inbox rows that continue the contiguous run after `acked`; the new mark."""
        key = and_(I.c.station_id == station_id, I.c.epoch == epoch, I.c.stream == stream)
        while True:
            rows = s.execute(select(I).where(key, I.c.seq > acked).order_by(I.c.seq).limit(1000)).all()
            run = []
            for row in rows:
                if row.seq != acked + len(run) + 1:
                    break
                run.append(InboxRow.stored(row))
            if not run:
                return acked
            self._apply_run(s, station_id, run, now)
            acked = run[-1].seq
            if len(run) < len(rows) or len(rows) < 1000:
                return acked

    def _apply_run(self, s: Session, station_id: str, run: list[InboxRow], now: datetime) -> None:
        key = and_(I.c.station_id == station_id, I.c.epoch == run[0].epoch, I.c.stream == run[0].stream)
        try:
            with s.begin_nested():
                fresh = self._apply_effects(s, station_id, run, now)
                s.execute(update(I).where(key, I.c.seq >= run[0].seq, I.c.seq <= run[-1].seq).values(status="applied"))
                repeats = [r.seq for r in run if r.idem_key not in fresh]  # an idem_key HQ had already applied
                if repeats:
                    s.execute(update(I).where(key, I.c.seq.in_(repeats)).values(status="duplicate"))
            return
        except OperationalError:
            raise  # the database itself failed: the whole message is retried
        except Exception:  # one bad event in the run: find it below, one savepoint per event
            log.info("hq run of %d events failed; applying them one by one", len(run))
        for row in run:
            try:
                with s.begin_nested():
                    fresh = self._apply_effects(s, station_id, [row], now)
                status, reason = ("applied" if fresh else "duplicate"), ""
            except OperationalError:
                raise
            except Exception as err:  # a poison event is rejected and the stream keeps moving
                status, reason = "rejected", f"{type(err).__name__}: {err}"[:500]
                log.warning("hq rejected event station=%s idem_key=%s reason=%s", station_id, row.idem_key, reason)
            s.execute(update(I).where(key, I.c.seq == row.seq).values(status=status, reason=reason))

    def _apply_effects(self, s: Session, station_id: str, rows: list[InboxRow], now: datetime) -> set[str]:
        """Record each event under its idem_key; business effects only for keys seen first now."""
        events = [{"idem_key": r.idem_key, "station_id": station_id, "epoch": r.epoch, "stream": r.stream,
                   "seq": r.seq, "type": r.type, "entity_id": r.entity_id, "hlc": r.hlc, "applied_at": now}
                  for r in rows]
        fresh = {k[0] for k in insert_ignore(s, E, events, returning=("idem_key",))}
        applied = [{"type": r.type, "entity_id": r.entity_id, "idem_key": r.idem_key, "hlc": r.hlc, "body": r.body,
                    "seq": r.seq, "stream": r.stream, "epoch": r.epoch} for r in rows if r.idem_key in fresh]
        _project_bookings(s, station_id, [e for e in applied if e["type"].startswith("booking.")], now)
        for event in applied:
            on_station_event(s, station_id, event)
        return fresh

    def _check_clocks(self, s: Session, station_id: str, events: tuple[UpEvent, ...], now: datetime) -> None:
        # station events are facts and are applied regardless; a clock far ahead is flagged
        limit = int((now + self.max_clock_ahead).timestamp() * 1000)
        ahead = [e.idem_key for e in events if _wall_ms(e.hlc) > limit]
        if ahead:
            s.execute(AL.insert().values(station_id=station_id, kind="clock_ahead", created_at=now,
                                         detail=f"{len(ahead)} events stamped beyond HQ's clock, e.g. {ahead[0]}"))

    # -- hello, downlink acks and resyncs -----------------------------------------------

    def _hello(self, s: Session, station_id: str, message: dict[str, Any]) -> list[Outgoing]:
        now = self.clock()
        epoch = message["epoch"]
        if not isinstance(epoch, str) or not epoch or not isinstance(message["applied"], dict):
            raise MalformedMessage("hello needs an epoch and an applied map")
        self._seen(s, station_id, now)
        insert_ignore(s, EP, [{"station_id": station_id, "epoch": epoch, "announced_at": now}])
        heads = message.get("heads") or {}
        if not isinstance(heads, dict):
            raise MalformedMessage("hello.heads is not a map")
        for stream, head in heads.items():  # what the station has written: HQ's view of its backlog
            if stream in UP_STREAMS and isinstance(head, int) and head > 0:
                insert_ignore(s, K, [{"station_id": station_id, "epoch": epoch, "stream": stream, "acked_upto": 0,
                                      "head": head, "updated_at": now}])
                s.execute(update(K).where(K.c.station_id == station_id, K.c.epoch == epoch, K.c.stream == stream,
                                          K.c.head < head).values(head=head))
        uplink = {}
        for row in s.execute(select(K.c.stream, K.c.acked_upto).where(K.c.station_id == station_id,
                                                                       K.c.epoch == epoch)):
            idem = s.execute(select(I.c.idem_key).where(I.c.station_id == station_id, I.c.epoch == epoch,
                                                        I.c.stream == row.stream, I.c.seq == row.acked_upto)).scalar()
            uplink[row.stream] = {"acked_upto": row.acked_upto, "idem_key": idem}
        out = [Outgoing(down_topic(station_id, "ack"),
                        new_message("welcome", station=station_id, epoch=epoch, uplink=uplink))]
        for stream in DOWN_LOG_STREAMS:
            applied = message["applied"].get(stream, 0)
            if not isinstance(applied, int) or isinstance(applied, bool) or applied < 0:
                raise MalformedMessage(f"hello.applied.{stream} is not a whole number")
            record_applied(s, station_id, stream, applied, rewind=True)
            out.extend(self._downlink(s, station_id, stream, now))
        return out

    def _downlink_mark(self, s: Session, station_id: str, stream: str, upto: int, rewind: bool) -> list[Outgoing]:
        now = self.clock()
        self._seen(s, station_id, now)
        record_applied(s, station_id, stream, upto, rewind=rewind)
        return self._downlink(s, station_id, stream, now)

    def _downlink(self, s: Session, station_id: str, stream: str, now: datetime) -> list[Outgoing]:
        return [Outgoing(down_topic(station_id, stream), m)
                for m in messages_to_send(s, station_id, stream, window=self.downlink_window, now=now)]

    # -- bookkeeping -------------------------------------------------------------------

    def _seen(self, s: Session, station_id: str, now: datetime) -> None:
        insert_ignore(s, ST, [{"station_id": station_id, "presence": "unknown", "last_seen_at": now}])
        s.execute(update(ST).where(ST.c.station_id == station_id).values(last_seen_at=now))

    def presence(self, station_id: str, state: str) -> None:
        with transaction(self.engine) as s:
            insert_ignore(s, ST, [{"station_id": station_id, "presence": state, "last_seen_at": None}])
            s.execute(update(ST).where(ST.c.station_id == station_id).values(presence=state))

    def _alert(self, station_id: str, kind: str, detail: str, *, new_epoch_for: str | None = None) -> None:
        """Record an alert. A validly signed seq with new content (`new_epoch_for`) also tells the
        station, once per epoch, to start a new epoch: its database was most likely restored."""
        log.warning("hq alert station=%s kind=%s %s", station_id or "?", kind, detail)
        now = self.clock()
        with transaction(self.engine) as s:
            s.execute(AL.insert().values(station_id=station_id, kind=kind, detail=detail[:2000], created_at=now))
            if new_epoch_for is not None and not already_queued(s, station_id, "cmd", f"epoch:{new_epoch_for}"):
                enqueue_downlink(s, station_id, "cmd", "cmd.new_epoch", f"epoch:{new_epoch_for}",
                                 {"epoch": new_epoch_for}, now)


def _project_bookings(s: Session, station_id: str, events: list[dict[str, Any]], now: datetime) -> None:
    """HQ's booking view: one row per booking, its state from the latest event by HLC."""
    rows = [{"station_id": station_id, "booking_id": e["entity_id"], "state": e["type"].split(".", 1)[1],
             "hlc": e["hlc"], "events": 1, "updated_at": now} for e in events]
    upsert(s, B, rows, keys=("station_id", "booking_id"), set_=lambda new: {
        "events": B.c.events + 1, "updated_at": new.updated_at,
        "state": case((new.hlc > B.c.hlc, new.state), else_=B.c.state),
        "hlc": case((new.hlc > B.c.hlc, new.hlc), else_=B.c.hlc),
    })


def _wall_ms(hlc: str) -> int:
    try:
        return Hlc.decode(hlc).wall_ms
    except ValueError:
        return 0

