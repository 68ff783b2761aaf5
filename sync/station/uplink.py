"""The station's uplink: the outbox drained in priority order, in batches, within a bounded
window of unacknowledged messages; an event is done only when HQ's ack covers it.

paho holds only the window: on a timeout or a reconnect the window is dropped and sending
starts again from HQ's ack mark (HQ ignores what it already has). The ack timeout backs off
while HQ makes no progress (a busy HQ is not sent its backlog again and again) and starts
over at any progress.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from edge.domain.events import STREAM_PRIORITY
from edge.services.station import Station
from edge.store.outbox import last_seq
from sync.envelope import DOWN_LOG_STREAMS, UP_STREAMS, batch_message, encode, new_message, up_topic
from sync.signing import Signer
from sync.station import state
from sync.station.epoch import start_new_epoch

log = logging.getLogger(__name__)
_EVENT_OVERHEAD = 120  # bytes of an event's envelope fields besides its body, about
HELLO_AGAIN_S = 3.0  # a hello is cheap: one lost before HQ subscribed is repeated soon
ACK_TIMEOUT_MAX_S = 120.0  # the ack timeout doubles, while HQ makes no progress, up to this
ACK_TIMEOUT_JITTER = 0.25  # each wait is stretched by up to this share: stations' resends spread out


@dataclass(frozen=True, slots=True)
class UplinkLimits:
    batch_max_bytes: int = 65536
    batch_max_events: int = 500
    window_messages: int = 8
    ack_timeout_s: float = 10.0


class AckTimer:
    """When a stream's unacknowledged events are sent again: after `base` seconds without
    progress, then after twice as long each time nothing moved (up to `cap`), each wait
    stretched by a random share; any progress starts over from `base`."""

    def __init__(self, base: float, *, cap: float = ACK_TIMEOUT_MAX_S,
                 jitter: Callable[[], float] = random.random) -> None:
        self.base = base
        self.cap = max(cap, base)
        self.wait = base
        self._jitter = jitter
        self._deadline: float | None = None

    def arm(self, now: float) -> None:
        """Start waiting for an ack (the current wait, stretched)."""
        self._deadline = now + self.wait * (1 + ACK_TIMEOUT_JITTER * self._jitter())

    def progress(self, now: float) -> None:
        """HQ acked something new: the wait is `base` again, counted from now."""
        self.wait = self.base
        self.arm(now)

    def expired(self, now: float) -> bool:
        return self._deadline is not None and now >= self._deadline

    def back_off(self, now: float) -> None:
        """A resend after a timeout: the next wait is twice as long, up to the cap."""
        self.wait = min(self.wait * 2, self.cap)
        self.arm(now)


class Uplink:
    def __init__(self, station: Station, signer: Signer, publish: Callable[[str, bytes], None],
                 limits: UplinkLimits, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.station = station
        self.station_id = station.settings.station.id
        self.signer = signer
        self._publish = publish
        self.limits = limits
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self.welcomed = False
        self.epoch = ""
        self.acked: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self._window: list[tuple[str, int]] = []  # (stream, last seq) of each message awaiting its ack
        self._timers = {s: AckTimer(limits.ack_timeout_s) for s in UP_STREAMS}
        self._hello_at = 0.0

    # -- the conversation ---------------------------------------------------------

    def hello(self) -> None:
        """Announce this database's epoch and what the downlink applied; HQ answers `welcome`."""
        with self.station.store.read() as conn:
            epoch = state.current_epoch(conn)
            applied = {s: state.applied_upto(conn, s) for s in DOWN_LOG_STREAMS}
            heads = {s: last_seq(conn, epoch, s) for s in UP_STREAMS}
        with self._lock:
            self.welcomed = False
            self.epoch = epoch
            self._window.clear()
            self._hello_at = self._monotonic()
        self._send("hello", new_message("hello", station=self.station_id, epoch=epoch, applied=applied, heads=heads))

    def on_welcome(self, message: dict[str, Any]) -> bool:
        """HQ's marks for this epoch. False (and a new epoch, announced again) if they show that
        this database is older than what HQ holds: it was restored from a backup."""
        now = self.station.clock()
        restored = False
        with self.station.store.write() as conn:
            epoch = state.current_epoch(conn)
            if message.get("epoch") != epoch:
                return True  # an answer to an older hello
            marks = {s: m for s, m in (message.get("uplink") or {}).items() if s in UP_STREAMS}
            restored = any(_behind_hq(conn, epoch, s, m) for s, m in marks.items())
            if restored:
                start_new_epoch(conn)
            else:
                for stream, mark in marks.items():
                    state.record_ack(conn, epoch, stream, int(mark["acked_upto"]), now)
                acked = {s: state.acked_upto(conn, epoch, s) for s in UP_STREAMS}
        if restored:
            log.warning("HQ holds events this database does not: it was restored; a new epoch starts")
            self.hello()
            return False
        with self._lock:
            self.acked = acked
            self.sent = dict(acked)
            self._window.clear()
            for timer in self._timers.values():
                timer.progress(self._monotonic())
            self.welcomed = True
        return True

    def on_ack(self, message: dict[str, Any]) -> None:
        """HQ committed every event up to `acked_upto`; rejected ones become conflict rows."""
        stream, epoch, upto = message["stream"], message["epoch"], int(message["acked_upto"])
        if stream not in UP_STREAMS or epoch != self.epoch:
            return
        now = self.station.clock()
        with self.station.store.write() as conn:
            for item in message.get("rejected") or ():
                row = conn.execute("SELECT entity_id, type FROM outbox WHERE epoch = ? AND stream = ? AND seq = ?",
                                   (epoch, stream, item["seq"])).fetchone()
                state.add_conflict(conn, f"sync:{epoch}:{stream}:{item['seq']}", "sync_rejected",
                                   row["entity_id"] if row else "", {"idem_key": item.get("idem_key"),
                                   "type": row["type"] if row else None, "reason": item.get("reason", "")}, now)
            state.record_ack(conn, epoch, stream, upto, now)
        with self._lock:
            if upto > self.acked.get(stream, 0):
                self.acked[stream] = upto
                self._timers[stream].progress(self._monotonic())
            self.sent[stream] = max(self.sent.get(stream, 0), upto)
            self._window = [(s, last) for s, last in self._window if s != stream or last > upto]

    def disconnected(self) -> None:
        with self._lock:
            self.welcomed = False
            self._window.clear()

    # -- the sending loop (sync thread) ------------------------------------------------

    def pump(self) -> int:
        """Resend on timeouts, then fill the window in priority order; messages handed to paho."""
        now = self._monotonic()
        with self._lock:
            if not self.welcomed:
                if self.epoch and now - self._hello_at > min(self.limits.ack_timeout_s, HELLO_AGAIN_S):
                    resend_hello = True
                else:
                    return 0
            else:
                resend_hello = False
                self._expire(now)
        if resend_hello:
            self.hello()
            return 0
        handed = 0
        for stream in STREAM_PRIORITY:
            while True:
                with self._lock:
                    if not self.welcomed or len(self._window) >= self.limits.window_messages:
                        return handed
                    after = self.sent.get(stream, 0)
                message = self._next_batch(stream, after)
                if message is None:
                    break
                with self._lock:
                    if not self.welcomed or self.sent.get(stream, 0) != after:
                        return handed  # the window was reset meanwhile
                    if not any(s == stream for s, _ in self._window):
                        self._timers[stream].arm(now)  # the ack timer runs from the oldest unacked send
                    self.sent[stream] = message["last"]
                    self._window.append((stream, message["last"]))
                self._send(stream, message)
                handed += 1
        return handed

    def _expire(self, now: float) -> None:
        for stream in {s for s, _ in self._window}:
            timer = self._timers[stream]
            if timer.expired(now):
                log.info("no ack from HQ for stream=%s in %.0f s: resending from seq %d", stream, timer.wait,
                         self.acked.get(stream, 0) + 1)
                self.sent[stream] = self.acked.get(stream, 0)
                self._window = [(s, last) for s, last in self._window if s != stream]
                timer.back_off(now)

    def _next_batch(self, stream: str, after: int) -> dict[str, Any] | None:
        with self.station.store.read() as conn:
            rows = conn.execute(
                "SELECT seq, type, entity_id, idem_key, hlc, body FROM outbox"
                " WHERE epoch = ? AND stream = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.epoch, stream, after, self.limits.batch_max_events)).fetchall()
            if not rows:
                return None
            head = last_seq(conn, self.epoch, stream)
            known = state.acked_upto(conn, self.epoch, stream)
        events, size = [], 0
        for row in rows:
            size += len(row["body"]) + len(row["idem_key"]) + len(row["entity_id"]) + _EVENT_OVERHEAD
            if events and size > self.limits.batch_max_bytes:
                break
            events.append({"seq": row["seq"], "type": row["type"], "entity_id": row["entity_id"],
                           "idem_key": row["idem_key"], "hlc": row["hlc"], "body": json.loads(row["body"])})
        return batch_message(self.station_id, self.epoch, stream, events, head=head, known_acked=known)

    def _send(self, topic_leaf: str, message: dict[str, Any]) -> None:
        self._publish(up_topic(self.station_id, topic_leaf), encode(self.signer.sign(message)))


def _behind_hq(conn: Any, epoch: str, stream: str, mark: dict[str, Any]) -> bool:
    """HQ acked an event this database never wrote, or a different one under that seq."""
    upto = int(mark.get("acked_upto", 0))
    if upto > last_seq(conn, epoch, stream):
        return True
    if upto == 0:
        return False
    row = conn.execute("SELECT idem_key FROM outbox WHERE epoch = ? AND stream = ? AND seq = ?",
                       (epoch, stream, upto)).fetchone()
    return row is not None and row["idem_key"] != mark.get("idem_key")
