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
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.engine import Engine

from sync.envelope import ENVELOPE_BYTES, HQ_INGEST, PRESENCE, down_topic, encode, payload_budget
from sync.errors import SyncError
from sync.hq.db import insert_ignore, transaction
from sync.hq.downlink import ITEM_MAX_BYTES, analyze_downlink, compact, compaction_due, due_streams, messages_to_send
from sync.hq.ingest import Ingest, Outgoing
from sync.hq.tables import HqWorker
from sync.mqtt import BrokerSettings, MqttLink, Received
from sync.signing import Keyring, Signer

log = logging.getLogger(__name__)
W = HqWorker.__table__

POLL_EVERY_S = 0.5
COMPACT_EVERY_S = 60.0
GROUP_MAX_MESSAGES = 200  # received messages handled in one transaction, at most
GROUP_MAX_BYTES = 4 << 20  # and about this many payload bytes
QUEUE_MAX_MESSAGES = 5_000  # beyond this paho's thread waits: the broker holds the rest
BEAT_EVERY_S = 5.0  # how often a worker records its own broker link
PUBLISH_BACKOFF_S = 2.0  # a station whose message could not be published waits this long, doubling
PUBLISH_BACKOFF_MAX_S = 120.0


def utc_now() -> datetime:
    return datetime.now(UTC)


class HqService:
    def __init__(self, engine: Engine, keyring: Keyring, signer: Signer, broker: BrokerSettings, *,
                 worker: str = "1", clock: Callable[[], datetime] = utc_now,
                 resend_after: timedelta = timedelta(seconds=5), log_keep: int = 10_000,
                 max_clock_ahead: timedelta = timedelta(hours=1)) -> None:
        if payload_budget(broker.max_packet_bytes) < ITEM_MAX_BYTES:
            raise SyncError(f"the broker's packet limit of {broker.max_packet_bytes} bytes is below what one "
                            f"downlink message needs ({ITEM_MAX_BYTES + ENVELOPE_BYTES} bytes): raise "
                            "max_packet_size in the broker's config and --max-packet-bytes together")
        self.engine = engine
        self.signer = signer
        self.clock = clock
        self.resend_after = resend_after
        self.log_keep = log_keep
        self.ingest = Ingest(engine, keyring, clock=clock, max_clock_ahead=max_clock_ahead,
                             downlink_max_bytes=payload_budget(broker.max_packet_bytes))
        self._queue: queue.Queue[Received] = queue.Queue(QUEUE_MAX_MESSAGES)
        self.worker = worker
        self.link = MqttLink(f"hq-worker-{worker}", broker, on_message=self._queue.put,
                             on_connect=self._connected, subscriptions=(HQ_INGEST, PRESENCE), durable_session=False)
        self.publish_failures: dict[str, int] = {}  # per station, since the worker started
        self._held_until: dict[str, float] = {}  # a station whose publish failed waits until then (monotonic)

    def run(self, stop: threading.Event) -> None:
        ingesting = threading.Thread(target=self._ingest_loop, args=(stop,), name="hq-ingest", daemon=True)
        maintaining = threading.Thread(target=self._maintenance_loop, args=(stop,), name="hq-maintenance",
                                       daemon=True)
        ingesting.start()
        maintaining.start()
        self.link.start()
        next_beat = 0.0
        try:
            while not stop.wait(POLL_EVERY_S):
                if self.link.connected:
                    self.publish_due()
                if time.monotonic() >= next_beat:
                    self._beat(self.link.connected)
                    next_beat = time.monotonic() + BEAT_EVERY_S
        finally:
            self.link.stop()
            self._beat(False)
            ingesting.join(timeout=30)
            maintaining.join(timeout=30)

    def _beat(self, connected: bool) -> None:
        """This worker's own link, for `hq lag` (a station is not called online by a cut-off HQ)."""
        try:
            with transaction(self.engine) as session:
                insert_ignore(session, W, [{"worker": self.worker, "connected": connected, "seen_at": self.clock()}])
                session.execute(update(W).where(W.c.worker == self.worker).values(connected=connected,
                                                                                   seen_at=self.clock()))
        except Exception:  # the database being away is logged elsewhere; presence is only advisory
            log.exception("hq could not record its own link")

    def _connected(self, session_present: bool) -> None:
        # the broker may announce a packet limit below the configured one: messages are cut to it
        self.ingest.downlink_max_bytes = payload_budget(self.link.max_packet_bytes)

    def publish_due(self) -> int:
        """(Re)send every station's downlink that was not applied and not sent lately."""
        now = self.clock()
        out: list[Outgoing] = []
        held = self._held()
        with transaction(self.engine) as session:
            for station_id, stream, resend in due_streams(session, now=now, resend_after=self.resend_after):
                if station_id in held:
                    continue
                out.extend(Outgoing(down_topic(station_id, stream), m)
                           for m in messages_to_send(session, station_id, stream, window=self.ingest.downlink_window,
                                                     max_bytes=self.ingest.downlink_max_bytes, now=now,
                                                     resend=resend))
        self._publish(out)
        return len(out)

    def compact_logs(self) -> int:
        """Compact every station's downlink log, each stream in a short transaction of its own
        (the stream's cursor is locked only while its rows go); rows deleted."""
        with transaction(self.engine) as session:
            streams = compaction_due(session, keep=self.log_keep)
        deleted = 0
        for station_id, stream in streams:
            with transaction(self.engine) as session:
                deleted += compact(session, station_id, stream, keep=self.log_keep)
        if deleted:
            analyze_downlink(self.engine)
        return deleted

    def _maintenance_loop(self, stop: threading.Event) -> None:
        """Log compaction, away from the publish and ingest paths."""
        wait = 1.0  # soon after the start, then every COMPACT_EVERY_S
        while not stop.wait(wait):
            try:
                self.compact_logs()
            except Exception:  # maintenance failing must not stop HQ: it is tried again next round
                log.exception("hq could not compact the downlink logs")
            wait = COMPACT_EVERY_S

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
        """Sign and hand each message to the broker link. A message that cannot go is that station's
        problem alone: logged, counted, and the station's downlink waits a while (doubling while it
        keeps failing); the other stations' messages go on."""
        for item in out:
            station_id = item.topic.split("/")[1]
            try:
                self.link.publish(item.topic, encode(self.signer.sign(item.message)))
            except SyncError as err:
                failures = self.publish_failures[station_id] = self.publish_failures.get(station_id, 0) + 1
                wait = min(PUBLISH_BACKOFF_S * 2 ** min(failures - 1, 6), PUBLISH_BACKOFF_MAX_S)
                self._held_until[station_id] = time.monotonic() + wait
                log.error("hq could not publish to station=%s (failure %d, next try in %.0f s): %s",
                          station_id, failures, wait, err)

    def _held(self) -> set[str]:
        now = time.monotonic()
        return {station_id for station_id, until in self._held_until.items() if until > now}
