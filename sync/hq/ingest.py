"""HQ's handling of what stations send: verify, store in the inbox, apply in seq order under
idem_key, advance the contiguous mark, and say what to publish once committed.

Messages are taken in groups (group commit): each is verified and parsed before the database
is touched, then the whole group is handled in ONE transaction, each message in its own
savepoint, so a refused or failing message changes nothing and the others go on. The
handlers return the messages to publish (unsigned); the caller signs and publishes them only
after the transaction committed, so an ack never runs ahead of HQ's database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Engine
from sqlmodel import Session

from edge.domain.hlc import Hlc
from sync.envelope import (DOWN_LOG_STREAMS, MAX_PACKET_BYTES, UP_STREAMS, MalformedMessage, Misaddressed, UpBatch, UpEvent,
                           check_addressed, decode, down_topic, new_message, parse_batch, payload_budget, require,
                           topic_parts, whole)
from sync.errors import SignatureError, SyncError
from sync.hq.db import Driver, insert_ignore, transaction
from sync.hq.downlink import (AckBeyondLog, already_queued, enqueue_downlink, lock_down_cursor, messages_to_send,
                              record_applied)
from sync.hq.effects import on_station_event
from sync.hq.ingest_sql import IngestSql
from sync.hq.members import resnapshot_station
from sync.hq.tables import HqAlert, HqBooking, HqCursor, HqDownCursor, HqEvent, HqInbox, HqStation, HqStationEpoch
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
    def stored(cls, epoch: str, stream: str, seq: int, idem_key: str, event: str) -> InboxRow:
        e = json.loads(event)
        return cls(epoch, stream, seq, idem_key, e["type"], e["entity_id"], e["hlc"], e["body"])


class Refused(SyncError):
    """A message HQ will not take (alerted, never acked): replayed seq, unknown epoch, an ack beyond what was sent."""

    def __init__(self, kind: str, detail: str, *, epoch: str | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.epoch = epoch


@dataclass(frozen=True, slots=True)
class Outgoing:
    topic: str
    message: dict[str, Any]


@dataclass(frozen=True, slots=True)
class _Checked:
    """A received message whose signature holds, ready for its turn in the group's transaction."""

    station_id: str
    topic: str
    run: Callable[[Session, bool], list[Outgoing]]  # (session, careful): see `_EffectFailed`


@dataclass(frozen=True, slots=True)
class _Alert:
    station_id: str
    kind: str
    detail: str
    new_epoch_for: str | None = None


class _EffectFailed(Exception):
    """An event's business effect raised while a batch was applied whole: the message is handled
    again, carefully, with a savepoint per event, so that only the bad event is rejected."""


class Ingest:
    def __init__(self, engine: Engine, keyring: Keyring, *, clock: Callable[[], datetime],
                 max_clock_ahead: timedelta = timedelta(hours=1), downlink_window: int = 200,
                 downlink_max_bytes: int = payload_budget(MAX_PACKET_BYTES)) -> None:
        self.engine = engine
        self.keyring = keyring
        self.clock = clock
        self.max_clock_ahead = max_clock_ahead
        self.downlink_window = downlink_window
        self.downlink_max_bytes = downlink_max_bytes  # items per downlink message: set from the broker's limit
        self.db = Driver(engine)
        self.sql = IngestSql(self.db)

    # -- entry points ----------------------------------------------------------------

    def handle(self, topic: str, payload: bytes) -> list[Outgoing]:
        """Everything about one received message; never raises for a bad message (it alerts)."""
        return self.handle_many([(topic, payload)])

    def handle_many(self, received: Sequence[tuple[str, bytes]]) -> list[Outgoing]:
        """A group of received (topic, payload) messages in one transaction; what to publish
        once it committed. A bad message is alerted and left out; it never fails the others.
        SyncError only if HQ's database itself kept failing (then nothing was committed)."""
        alerts: list[_Alert] = []
        checked = [c for c in (self._check(topic, payload, alerts) for topic, payload in received) if c]
        # one station's messages stay in their order; the streams' cursors are locked station by
        # station, in one global order, so two workers rarely wait for each other in a cycle (a
        # deadlock PostgreSQL breaks is retried)
        checked.sort(key=lambda c: c.station_id)
        if not checked and not alerts:
            return []
        return self._retrying(lambda s: self._group(s, checked, alerts))

    def _check(self, topic: str, payload: bytes, alerts: list[_Alert]) -> _Checked | None:
        """Verify and parse one message outside any transaction; None (and an alert) if refused."""
        station_id = ""
        try:
            _, station_id, _ = topic_parts(topic)
            message = decode(payload)
            self.keyring.verify(message, station_id=station_id)
            # the topic's station, the signing key's and the one the message names agree, and
            # the message sits on its own stream's (or control kind's) topic
            kind = message.get("kind")
            leaf = message.get("stream") if kind == "events" else kind
            check_addressed(message, topic, station_id, side="st", leaf=str(leaf))
            return _Checked(station_id, topic, self._handler(station_id, message))
        except SignatureError as err:
            alerts.append(_Alert(station_id, "bad_signature", f"{topic}: {err}"))
        except Misaddressed as err:
            alerts.append(_Alert(station_id, "wrong_station", f"{topic}: {err}"))
        except MalformedMessage as err:
            alerts.append(_Alert(station_id, "poison", f"{topic}: {err}; payload={payload[:500]!r}"))
        except Refused as err:
            alerts.append(_Alert(station_id, err.kind, f"{topic}: {err}"))
        return None

    def _handler(self, station_id: str, message: dict[str, Any]) -> Callable[[Session, bool], list[Outgoing]]:
        kind = message.get("kind")
        if kind == "events":
            batch = parse_batch(message)
            return lambda s, careful: self._events(s, station_id, batch, careful)
        if kind == "hello":
            require(message, "epoch", "applied")
            return lambda s, careful: self._hello(s, station_id, message)
        if kind == "ping":
            return lambda s, careful: self._pong(s, station_id)
        if kind in ("ack", "resync"):
            require(message, "stream")
            stream = message["stream"]
            if stream not in DOWN_LOG_STREAMS:
                raise MalformedMessage(f"{kind} for unknown downlink stream {stream!r}")
            upto = whole(message, "applied_upto") if kind == "ack" else whole(message, "from_seq") - 1
            return lambda s, careful: self._downlink_mark(s, station_id, stream, upto, kind == "resync")
        raise MalformedMessage(f"unknown message kind {kind!r}")

    def _group(self, s: Session, checked: list[_Checked], early: list[_Alert]) -> list[Outgoing]:
        now = self.clock()
        alerts = list(early)
        cursor = self.db.cursor(s)
        out: list[Outgoing] = []
        for item in checked:
            try:
                try:
                    with self.db.savepoint(cursor):
                        out.extend(item.run(s, False))
                except _EffectFailed as err:
                    log.info("hq applies %s event by event: %s", item.topic, err.__cause__)
                    with self.db.savepoint(cursor):
                        out.extend(item.run(s, True))
            except self.db.failures:
                raise  # the database itself failed: the whole group is retried
            except Refused as err:
                alerts.append(_Alert(item.station_id, err.kind, f"{item.topic}: {err}",
                                     err.epoch if err.kind == "seq_reused" else None))
            except MalformedMessage as err:
                alerts.append(_Alert(item.station_id, "poison", f"{item.topic}: {err}"))
            except Exception:  # a fault in HQ's own handling: this message is not acked, the station resends
                log.exception("hq could not handle a message station=%s topic=%s", item.station_id, item.topic)
        for alert in alerts:
            self._alert(s, alert, now)
        stations = sorted({c.station_id for c in checked})
        if stations:  # a verified message is contact, even a refused one; last, so these rows are locked briefly
            cursor.executemany(self.sql.seen, [(station_id, self.db.time(now)) for station_id in stations])
        return out

    def _retrying(self, work: Callable[[Session], list[Outgoing]]) -> list[Outgoing]:
        for attempt in range(_RETRIES):
            try:
                with transaction(self.engine) as session:
                    return work(session)
            except self.db.failures as err:
                if attempt == _RETRIES - 1:
                    raise SyncError(f"HQ database kept failing: {err}") from err
                log.warning("hq transaction retried attempt=%d error=%s", attempt + 1, err)
        return []

    # -- station events --------------------------------------------------------------

    def _events(self, s: Session, station_id: str, batch: UpBatch, careful: bool) -> list[Outgoing]:
        now = self.clock()
        sql, cursor, at = self.sql, self.db.cursor(s), self.db.time(now)
        where = (station_id, batch.epoch, batch.stream)
        locked = cursor.execute(sql.cursor_lock, (*where, at, station_id, batch.epoch)).fetchone()
        if locked is None:
            raise Refused("unknown_epoch", f"epoch {batch.epoch} was never announced by {station_id}")
        acked = locked[0]
        continues = batch.first <= acked + 1 <= batch.last  # the usual case: the batch continues the run
        digests, rows = {}, []
        for e in batch.events:
            text = e.canonical()
            digests[e.seq] = digest = UpEvent.digest_of(text)
            # what the run below applies whole is stored as applied at once (if that fails, the
            # message is handled again, carefully)
            rows.append((e.seq, e.idem_key, text, digest,
                         "applied" if continues and not careful and e.seq > acked else "pending"))
        for seq in sql.insert_inbox(cursor, where, at, rows):
            del digests[seq]
        if digests:  # seqs HQ already holds: they must come with the same content
            repeated = list(digests)
            cursor.execute(sql.listing(sql.inbox_digests, len(repeated)), (*where, *repeated))
            stored = dict(cursor.fetchall())
            changed = sorted(seq for seq in repeated if stored.get(seq) != digests[seq])
            if changed:
                raise Refused("seq_reused", f"{station_id}/{batch.epoch}/{batch.stream} seq {changed[:5]} "
                                            "came again with different content (replay, tampering, or a "
                                            "database restored from a backup)", epoch=batch.epoch)
        self._check_clocks(s, station_id, batch.events, now)
        if continues:  # applied from memory
            run = [InboxRow.of(batch.epoch, batch.stream, e) for e in batch.events if e.seq > acked]
            stored_before = any(seq > acked for seq in digests)  # rows that were not inserted as applied
            self._apply_run(s, cursor, station_id, run, now, careful=careful, marked=not careful and not stored_before)
            acked = batch.last
        acked = self._advance(s, cursor, station_id, batch.epoch, batch.stream, acked, now, careful)
        cursor.execute(sql.cursor_advance, (acked, batch.head, batch.head, at, *where))
        cursor.execute(sql.inbox_rejected, (*where, batch.known_acked, acked))
        rejected = [{"seq": seq, "idem_key": idem_key, "reason": reason} for seq, idem_key, reason in cursor.fetchall()]
        ack = new_message("ack", station=station_id, epoch=batch.epoch, stream=batch.stream, acked_upto=acked,
                          rejected=rejected)
        return [Outgoing(down_topic(station_id, "ack"), ack)]

    def _advance(self, s: Session, cursor: Any, station_id: str, epoch: str, stream: str, acked: int,
                 now: datetime, careful: bool) -> int:
        """Apply the inbox rows that continue the contiguous run after `acked`; the new mark."""
        while True:
            rows = cursor.execute(self.sql.inbox_after, (station_id, epoch, stream, acked)).fetchall()
            run = []
            for seq, idem_key, event in rows:
                if seq != acked + len(run) + 1:
                    break
                run.append(InboxRow.stored(epoch, stream, seq, idem_key, event))
            if not run:
                return acked
            self._apply_run(s, cursor, station_id, run, now, careful=careful, marked=False)
            acked = run[-1].seq
            if len(run) < len(rows) or len(rows) < 1000:
                return acked

    def _apply_run(self, s: Session, cursor: Any, station_id: str, run: list[InboxRow], now: datetime, *,
                   careful: bool, marked: bool) -> None:
        """Apply a contiguous run: whole (`_EffectFailed` if an effect raises), or, `careful`,
        event by event in savepoints, a bad event rejected. `marked`: its inbox rows say applied."""
        sql = self.sql
        where = (station_id, run[0].epoch, run[0].stream)
        if not careful:
            try:
                fresh = self._apply_effects(s, cursor, station_id, run, now)
            except self.db.failures:
                raise  # the database itself failed: the whole group is retried
            except Exception as err:
                raise _EffectFailed(f"run of {len(run)} events") from err
            if not marked:
                cursor.execute(sql.inbox_mark_range, (*where, run[0].seq, run[-1].seq))
            repeats = [r.seq for r in run if r.idem_key not in fresh]  # an idem_key HQ had already applied
            if repeats:
                cursor.execute(sql.listing(sql.inbox_mark_duplicates, len(repeats)), (*where, *repeats))
            return
        for row in run:
            try:
                with self.db.savepoint(cursor):
                    fresh = self._apply_effects(s, cursor, station_id, [row], now)
                status, reason = ("applied" if fresh else "duplicate"), ""
            except self.db.failures:
                raise
            except Exception as err:  # a poison event is rejected and the stream keeps moving
                status, reason = "rejected", f"{type(err).__name__}: {err}"[:500]
                log.warning("hq rejected event station=%s idem_key=%s reason=%s", station_id, row.idem_key, reason)
            cursor.execute(sql.inbox_mark_one, (status, reason, *where, row.seq))

    def _apply_effects(self, s: Session, cursor: Any, station_id: str, rows: list[InboxRow], now: datetime
                       ) -> set[str]:
        """Record each event under its idem_key; business effects only for keys seen first now."""
        sql, at = self.sql, self.db.time(now)
        fresh = sql.insert_events(cursor, (station_id, rows[0].epoch, rows[0].stream), at,
                                  [(r.idem_key, r.seq, r.type, r.entity_id, r.hlc) for r in rows])
        applied = [r for r in rows if r.idem_key in fresh]
        bookings = [(r.entity_id, r.type.split(".", 1)[1], r.hlc) for r in applied if r.type.startswith("booking.")]
        if bookings:
            sql.upsert_bookings(cursor, station_id, at, bookings)
        for r in applied:
            on_station_event(s, station_id, {"type": r.type, "entity_id": r.entity_id, "idem_key": r.idem_key,
                                             "hlc": r.hlc, "body": r.body, "seq": r.seq, "stream": r.stream,
                                             "epoch": r.epoch}, now)
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
        known_before = s.execute(select(EP.c.epoch).where(EP.c.station_id == station_id).limit(1)).first()
        if insert_ignore(s, EP, [{"station_id": station_id, "epoch": epoch, "announced_at": now}],
                         returning=("epoch",)) and known_before:
            # a new epoch of a known station: its database was restored or renewed, and may lack
            # what HQ counted of the members only it knows
            resnapshot_station(s, station_id, now)
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
            # a station behind HQ's mark lost what it had (restored): send from its mark again; one
            # that reconnected gets what is still out from the broker's session, and anything the
            # broker lost is sent again by the resend timer, so a hello adds no second copy
            behind = applied < lock_down_cursor(s, station_id, stream).applied_upto
            try:
                record_applied(s, station_id, stream, applied, rewind=behind, now=now)
            except AckBeyondLog as err:  # alerted; the rest of the hello (the uplink) still holds
                self._alert(s, _Alert(station_id, "ack_beyond_log", f"hello: {err}"), now)
                continue
            out.extend(self._downlink(s, station_id, stream, now))
        return out

    def _pong(self, s: Session, station_id: str) -> list[Outgoing]:
        """HQ is here: the answer carries the heads of the station's downlink, so the station can
        tell a downlink that does not move from one with nothing to send."""
        D = HqDownCursor.__table__
        heads = dict(s.execute(select(D.c.stream, D.c.last_seq).where(D.c.station_id == station_id)).all())
        return [Outgoing(down_topic(station_id, "ack"), new_message("pong", station=station_id, down_heads=heads))]

    def _downlink_mark(self, s: Session, station_id: str, stream: str, upto: int, rewind: bool) -> list[Outgoing]:
        now = self.clock()
        try:
            record_applied(s, station_id, stream, upto, rewind=rewind, now=now)
        except AckBeyondLog as err:
            raise Refused("ack_beyond_log", str(err)) from err
        return self._downlink(s, station_id, stream, now)

    def _downlink(self, s: Session, station_id: str, stream: str, now: datetime) -> list[Outgoing]:
        return [Outgoing(down_topic(station_id, stream), m)
                for m in messages_to_send(s, station_id, stream, window=self.downlink_window,
                                                  max_bytes=self.downlink_max_bytes, now=now)]

    # -- bookkeeping -------------------------------------------------------------------

    def presence(self, station_id: str, state: str) -> None:
        with transaction(self.engine) as s:
            insert_ignore(s, ST, [{"station_id": station_id, "presence": state, "last_seen_at": None}])
            s.execute(update(ST).where(ST.c.station_id == station_id).values(presence=state))

    def _alert(self, s: Session, alert: _Alert, now: datetime) -> None:
        """Record an alert. A validly signed seq with new content (`new_epoch_for`) also tells the
        station, once per epoch, to start a new epoch: its database was most likely restored."""
        station_id, epoch = alert.station_id, alert.new_epoch_for
        log.warning("hq alert station=%s kind=%s %s", station_id or "?", alert.kind, alert.detail)
        s.execute(AL.insert().values(station_id=station_id, kind=alert.kind, detail=alert.detail[:2000],
                                     created_at=now))
        if epoch is not None and not already_queued(s, station_id, "cmd", f"epoch:{epoch}"):
            enqueue_downlink(s, station_id, "cmd", "cmd.new_epoch", f"epoch:{epoch}", {"epoch": epoch}, now)



def _where(station_id: str, epoch: str, stream: str) -> dict[str, str]:
    """The parameters naming one station's stream in the statements of `_Statements`."""
    return {"k_station": station_id, "k_epoch": epoch, "k_stream": stream}


def _wall_ms(hlc: str) -> int:
    try:
        return Hlc.decode(hlc).wall_ms
    except ValueError:
        return 0

