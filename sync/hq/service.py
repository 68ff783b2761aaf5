"""`station-edge hq run`: one HQ worker. Several may run: they share the stations' uplink
through the broker's shared subscription and coordinate only through HQ's database."""

from __future__ import annotations

import logging
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
        self.link = MqttLink(f"hq-worker-{worker}", broker, on_message=self._received,
                             subscriptions=(HQ_INGEST, PRESENCE), durable_session=False)

    def run(self, stop: threading.Event) -> None:
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

    def _received(self, received: Received) -> None:
        if received.topic.endswith("/status"):
            station_id = received.topic.split("/")[1]
            self.ingest.presence(station_id, received.payload.decode("utf-8", "replace")[:16] or "offline")
            return
        self._publish(self.ingest.handle(received.topic, received.payload))

    def _publish(self, out: list[Outgoing]) -> None:
        for item in out:
            self.link.publish(item.topic, encode(self.signer.sign(item.message)))
