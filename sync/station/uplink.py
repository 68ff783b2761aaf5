"""The station's uplink: the outbox drained in priority order, in batches, within a bounded
window of unacknowledged messages; an event is done only when HQ's ack covers it.

The window is bounded in messages and in bytes, and sized from what the acks show of the link
(`LinkEstimate`): the goodput and round trip they measure give a window of about the round
trip plus `bulk_ahead_s` of data, and batches half that size. On a slow link control messages
(acks of the downlink, resyncs, hello, keepalive) thus wait a few seconds at most behind bulk;
on a good link the window grows to its byte cap at once.

paho keeps what it was handed until the broker acknowledges it, and after a reconnect sends it
again by itself: what paho still holds is never handed to it a second time. When a stream's ack
does not come in time (a wait that grows with the bytes ahead of the batch), only its batches
the broker already has are sent again, from HQ's ack mark on (HQ ignores what it already has),
and the wait doubles while HQ makes no progress (a busy HQ is not sent its backlog again and
again); any progress starts it over.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
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
INITIAL_WINDOW_BYTES = 16 << 10  # before any ack has measured the link
MIN_WINDOW_BYTES = 4 << 10
MIN_BATCH_BYTES = 2 << 10
ASSUMED_GOODPUT = 2048.0  # bytes/s, for the ack wait before the link is measured (a poor 4G link)


@dataclass(frozen=True, slots=True)
class UplinkLimits:
    batch_max_bytes: int = 65536
    batch_max_events: int = 500
    window_messages: int = 8
    window_max_bytes: int = 524288
    ack_timeout_s: float = 10.0  # the ack wait on an idle link; the bytes ahead of a batch add to it
    bulk_ahead_s: float = 2.0  # how long bulk data may stand ahead of a control message, at the measured goodput


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

    def rebase(self, base: float) -> None:
        """A new base wait (the link's speed or the bytes ahead changed); a backed-off wait stays longer."""
        grown = self.wait / self.base if self.base else 1.0
        self.base = base
        self.cap = max(self.cap, base)
        self.wait = min(base * grown, max(self.cap, base))


class LinkEstimate:
    """What HQ's acks tell of the link: the goodput (the best rate bytes were acked at lately: a
    sample taken while the window, not the link, held sending back is lower, and is not taken for
    the link's) and the round trip (the shortest lately, less the time its bytes queued)."""

    SAMPLES = 8

    def __init__(self, limits: UplinkLimits) -> None:
        self.limits = limits
        self.rtt: float | None = None
        self._rates: deque[float] = deque(maxlen=self.SAMPLES)
        self._last_ack_at: float | None = None

    @property
    def goodput(self) -> float | None:
        """Bytes per second, or None before any ack measured it."""
        return max(self._rates) if self._rates else None

    def acked(self, nbytes: int, oldest_sent_at: float, newest_sent_at: float, newest_ahead: int,
              now: float) -> None:
        """HQ acked `nbytes` of batches handed over from `oldest_sent_at` to `newest_sent_at`, the
        newest with `newest_ahead` bytes (its own included) still to cross when it was handed over."""
        sample_rtt = now - newest_sent_at
        goodput = self.goodput
        if goodput:  # the time its bytes ahead queued is the window's doing, not the link's round trip
            sample_rtt -= newest_ahead / goodput
        sample_rtt = max(sample_rtt, 0.001)
        self.rtt = sample_rtt if self.rtt is None else min(sample_rtt, self.rtt * 1.05)  # a min that forgets slowly
        since = max(oldest_sent_at, self._last_ack_at or oldest_sent_at)
        self._last_ack_at = now
        if now - since > 0.005 and nbytes > 0:
            self._rates.append(nbytes / (now - since))

    def timed_out(self) -> None:
        """No ack in time: assume half the goodput until acks say otherwise."""
        goodput = self.goodput
        self._rates.clear()
        if goodput is not None:
            self._rates.append(goodput / 2)

    def idle(self) -> None:
        """Nothing is out: the next ack's goodput is counted from its own batch, not across the pause."""
        self._last_ack_at = None

    def window_bytes(self) -> int:
        if self.goodput is None:
            target = INITIAL_WINDOW_BYTES
        else:
            target = int(self.goodput * ((self.rtt or 0.0) + self.limits.bulk_ahead_s))
        return max(MIN_WINDOW_BYTES, min(target, self.limits.window_max_bytes))

    def batch_bytes(self, budget: int) -> int:
        """How large one batch may be: half the window, within the configured and the broker's limits."""
        return max(MIN_BATCH_BYTES, min(self.window_bytes() // 2, self.limits.batch_max_bytes, budget))

    def ack_wait(self, bytes_ahead: int) -> float:
        """How long to wait for the ack of a batch with `bytes_ahead` (its own included) still to cross."""
        return self.limits.ack_timeout_s + bytes_ahead / (self.goodput or ASSUMED_GOODPUT) + 2 * (self.rtt or 0.0)


@dataclass(slots=True)
class _InFlight:
    """A batch handed to paho and not yet acked by HQ."""

    stream: str
    first: int
    last: int
    nbytes: int
    sent_at: float
    ahead: int = 0  # bytes still to cross when it was handed over, its own included
    info: Any = field(default=None)  # paho's message info (None where a test's publish returns none)

    @property
    def held_by_paho(self) -> bool:
        """paho still holds it (the broker has not acknowledged it): paho sends it, not us."""
        return self.info is not None and not self.info.is_published()


class Uplink:
    def __init__(self, station: Station, signer: Signer, publish: Callable[[str, bytes], Any],
                 limits: UplinkLimits, *, monotonic: Callable[[], float] = time.monotonic,
                 payload_budget: Callable[[], int] = lambda: 1 << 30) -> None:
        self.station = station
        self.station_id = station.settings.station.id
        self.signer = signer
        self._publish = publish
        self.limits = limits
        self._monotonic = monotonic
        self._payload_budget = payload_budget  # what one message may carry under the broker's packet limit
        self._lock = threading.Lock()
        self.welcomed = False
        self.epoch = ""
        self.acked: dict[str, int] = {}
        self.sent: dict[str, int] = {}
        self.link = LinkEstimate(limits)
        self._window: list[_InFlight] = []  # batches awaiting HQ's ack, in the order handed to paho
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
            if epoch != self.epoch:  # batches of another epoch will never be acked as such
                self._window.clear()
            self.epoch = epoch
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
            # batches still out continue the stream from HQ's mark: paho sends again those it holds
            kept: list[_InFlight] = []
            for item in self._window:
                if item.last > acked.get(item.stream, 0) and item.first == self.sent.get(item.stream, 0) + 1:
                    kept.append(item)
                    self.sent[item.stream] = item.last
            self._window = kept
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
            at = self._monotonic()
            done = [b for b in self._window if b.stream == stream and b.last <= upto]
            if done:
                newest = max(done, key=lambda b: b.sent_at)
                self.link.acked(sum(b.nbytes for b in done), min(b.sent_at for b in done), newest.sent_at,
                                newest.ahead, at)
            if upto > self.acked.get(stream, 0):
                self.acked[stream] = upto
                self._timers[stream].progress(at)
            self.sent[stream] = max(self.sent.get(stream, 0), upto)
            self._window = [b for b in self._window if b.stream != stream or b.last > upto]
            if not self._window:
                self.link.idle()

    def disconnected(self) -> None:
        """The link dropped: what paho holds it sends again after reconnecting; the rest waits for HQ's welcome."""
        with self._lock:
            self.welcomed = False

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
                resend = self._expired(now)
        if resend_hello:
            self.hello()
            return 0
        handed = 0
        for item in resend:
            message = self._next_batch(item.stream, item.first - 1, upto=item.last)
            if message is None or message["last"] != item.last:
                continue  # the outbox no longer has them as they were (a new epoch renumbered them)
            item.info = self._send(item.stream, message)
            handed += 1
        for stream in STREAM_PRIORITY:
            while True:
                with self._lock:
                    if not self.welcomed or not self._room():
                        return handed
                    after = self.sent.get(stream, 0)
                message = self._next_batch(stream, after)
                if message is None:
                    break
                payload = self._signed(message)
                with self._lock:
                    if not self.welcomed or self.sent.get(stream, 0) != after:
                        return handed  # the window was reset meanwhile
                    item = _InFlight(stream, message["first"], message["last"], len(payload), now,
                                     ahead=self._bytes_out() + len(payload))
                    if not any(b.stream == stream for b in self._window):
                        # the ack timer runs from the oldest unacked send, for the bytes ahead of it
                        timer = self._timers[stream]
                        timer.rebase(self.link.ack_wait(item.ahead))
                        timer.arm(now)
                    self.sent[stream] = item.last
                    self._window.append(item)
                item.info = self._publish(up_topic(self.station_id, stream), payload)
                handed += 1
        return handed

    def _room(self) -> bool:
        """Whether another batch may go: the window has a free place and bytes to spare."""
        if len(self._window) >= self.limits.window_messages:
            return False
        return not self._window or self._bytes_out() < self.link.window_bytes()

    def _bytes_out(self) -> int:
        return sum(b.nbytes for b in self._window)

    def _expired(self, now: float) -> list[_InFlight]:
        """Streams whose ack is overdue: their batches the broker has (not those paho still
        holds: they are on their way) are to be sent again, and the wait backs off."""
        resend: list[_InFlight] = []
        for stream in {b.stream for b in self._window}:
            timer = self._timers[stream]
            if not timer.expired(now):
                continue
            mine = [b for b in self._window if b.stream == stream]
            lost = [b for b in mine if not b.held_by_paho]
            if not lost:  # all still on their way over a slow link: wait for them, do not pile on
                timer.arm(now)
                continue
            log.info("no ack from HQ for stream=%s in %.0f s: sending %d batches again from seq %d", stream,
                     timer.wait, len(lost), lost[0].first)
            for item in lost:
                item.sent_at, item.ahead = now, self._bytes_out()
            resend.extend(lost)
            timer.back_off(now)
            self.link.timed_out()
        return resend

    def _next_batch(self, stream: str, after: int, *, upto: int | None = None) -> dict[str, Any] | None:
        """The events after `after` (up to `upto` when sending a batch again) as one batch message."""
        limit = self.limits.batch_max_events if upto is None else upto - after
        with self.station.store.read() as conn:
            rows = conn.execute(
                "SELECT seq, type, entity_id, idem_key, hlc, body FROM outbox"
                " WHERE epoch = ? AND stream = ? AND seq > ? ORDER BY seq LIMIT ?",
                (self.epoch, stream, after, limit)).fetchall()
            if not rows:
                return None
            head = last_seq(conn, self.epoch, stream)
            known = state.acked_upto(conn, self.epoch, stream)
        max_bytes = self.link.batch_bytes(self._payload_budget()) if upto is None else None
        events, size = [], 0
        for row in rows:
            size += len(row["body"]) + len(row["idem_key"]) + len(row["entity_id"]) + _EVENT_OVERHEAD
            if events and max_bytes is not None and size > max_bytes:
                break
            events.append({"seq": row["seq"], "type": row["type"], "entity_id": row["entity_id"],
                           "idem_key": row["idem_key"], "hlc": row["hlc"], "body": json.loads(row["body"])})
        return batch_message(self.station_id, self.epoch, stream, events, head=head, known_acked=known)

    def _signed(self, message: dict[str, Any]) -> bytes:
        return encode(self.signer.sign(message))

    def _send(self, topic_leaf: str, message: dict[str, Any]) -> Any:
        return self._publish(up_topic(self.station_id, topic_leaf), self._signed(message))


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
