"""`station-edge hq run`: one HQ worker. Several may run: they share the stations' uplink
through the broker's shared subscription and coordinate only through HQ's database.

paho's network thread only queues what arrives (so it keeps reading and sending PUBACKs); the
ingest thread takes whatever is queued, up to a bound, and handles it as one group in one
database transaction (group commit), then publishes the group's acks. A message queued here
but not yet committed is not lost if the worker dies: no ack was sent, so its station resends.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from sync.envelope import HQ_INGEST, PRESENCE, down_topic, encode
from sync.hq.db import transaction
from sync.hq.downlink import all_cursors, compact, due_streams, messages_to_send
from sync.hq.ingest import Ingest, Outgoing
from sync.mqtt import BrokerSettings, MqttLink, Received
from sync.signing import Keyring, Signer

log = logging.getLogger(__name__)

POLL_EVERY_S = 0.5
COMPACT_EVERY_S = 60.0
GROUP_MAX_MESSAGES = 200  # received messages handled in one transaction, at most
GROUP_MAX_BYTES = 4 << 20  # and about this many payload bytes
QUEUE_MAX_MESSAGES = 5_000  # beyond this paho's thread waits: the broker holds the rest


def utc_now() -> datetime:
    return datetime.now(UTC)


class HqService:
    def __init__(self, engine: Engine, keyring: Keyring, signer: Signer, broker: BrokerSettings, *,
                 worker: str = "1", clock: Callable[[], datetime] = utc_now,
                 resend_after: timedelta = timedelta(seconds=5), log_keep: int = 10_000,
                 max_clock_ahead: timedelta = timedelta(hours=1)) -> None:
        self.engine = engine
        self.signer = signer
        self.clock = clock
        self.resend_after = resend_after
        self.log_keep = log_keep
        self.ingest = Ingest(engine, keyring, clock=clock, max_clock_ahead=max_clock_ahead)
        self._queue: queue.Queue[Received] = queue.Queue(QUEUE_MAX_MESSAGES)
        self.link = MqttLink(f"hq-worker-{worker}", broker, on_message=self._queue.put,
                             subscriptions=(HQ_INGEST, PRESENCE), durable_session=False)

    def run(self, stop: threading.Event) -> None:
        ingesting = threading.Thread(target=self._ingest_loop, args=(stop,), name="hq-ingest", daemon=True)
        ingesting.start()
        self.link.start()
        next_compact = 0.0
        try:
            while not stop.wait(POLL_EVERY_S):
                if self.link.connected:
                    self.publish_due()
                now = self.clock().timestamp()
                if now >= next_compact:
                    self.compact_logs()
                    next_compact = now + COMPACT_EVERY_S
        finally:
            self.link.stop()
            ingesting.join(timeout=30)

    def publish_due(self) -> int:
        """(Re)send every station's downlink that was not applied and not sent lately."""
        now = self.clock()
        out: list[Outgoing] = []
        with transaction(self.engine) as session:
            for station_id, stream, resend in due_streams(session, now=now, resend_after=self.resend_after):
                out.extend(Outgoing(down_topic(station_id, stream), m)
                           for m in messages_to_send(session, station_id, stream, window=self.ingest.downlink_window,
                                                     now=now, resend=resend))
        self._publish(out)
        return len(out)

    def compact_logs(self) -> None:
        with transaction(self.engine) as session:
            for cursor in all_cursors(session):
                compact(session, cursor.station_id, cursor.stream, keep=self.log_keep)

    def _ingest_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                group = [self._queue.get(timeout=POLL_EVERY_S)]
            except queue.Empty:
                continue
            size = len(group[0].payload)
            while len(group) < GROUP_MAX_MESSAGES and size < GROUP_MAX_BYTES:
                try:
                    group.append(self._queue.get_nowait())
                except queue.Empty:
                    break
                size += len(group[-1].payload)
            try:
                self.ingest_group(group)
            except Exception:  # never let the ingest thread die: what was not acked, its stations resend
                log.exception("hq could not ingest a group of %d messages", len(group))

    def ingest_group(self, group: list[Received]) -> None:
        """Presence updates, then every uplink message of `group` in one transaction; the acks
        and downlink it produced are published only once that transaction committed."""
        uplink = []
        for received in group:
            if received.topic.endswith("/status"):
                station_id = received.topic.split("/")[1]
                self.ingest.presence(station_id, received.payload.decode("utf-8", "replace")[:16] or "offline")
            else:
                uplink.append((received.topic, received.payload))
        if uplink:
            self._publish(self.ingest.handle_many(uplink))

    def _publish(self, out: list[Outgoing]) -> None:
        for item in out:
            self.link.publish(item.topic, encode(self.signer.sign(item.message)))
