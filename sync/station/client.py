"""The station's sync process: one MQTT link, the uplink pump, the downlink handler, and the
link state the UI reads. `run` until a stop event; `station-edge sync run` and the daemon use it.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import timedelta
from pathlib import Path

from edge.config import SyncSettings
from edge.domain.ids import uuid7
from edge.services.station import Station
from sync.envelope import (MalformedMessage, Misaddressed, check_addressed, decode, down_topic, encode, new_message,
                           payload_budget, status_topic, up_topic)
from sync.errors import SignatureError, SyncError
from sync.mqtt import BrokerSettings, MqttLink, Received
from sync.signing import Keyring, Signer
from sync.station import state
from sync.station.downlink import Downlink
from sync.station.link_watch import LinkWatch
from sync.station.epoch import adopt_stragglers
from sync.station.uplink import Uplink, UplinkLimits

log = logging.getLogger(__name__)

PUMP_EVERY_S = 0.05
HEARTBEAT_EVERY_S = 5.0
ADOPT_EVERY_S = 30.0


def _path(data_dir: Path, value: str | None) -> str | None:
    if value is None:
        return None
    path = Path(value)
    return str(path if path.is_absolute() else data_dir / path)


class StationSync:
    def __init__(self, station: Station, settings: SyncSettings) -> None:
        self.station = station
        self.station_id = station_id = station.settings.station.id
        data_dir = station.store.path.parent
        self.signer = Signer.load(_path(data_dir, settings.signing_key))
        self.hq_keys = Keyring.load(_path(data_dir, settings.hq_keys))
        if not len(self.hq_keys):
            raise SyncError(f"no HQ public keys (*.pub) in {_path(data_dir, settings.hq_keys)}")
        broker = BrokerSettings(
            host=settings.broker_host, port=settings.broker_port, ca_file=_path(data_dir, settings.ca_file),
            cert_file=_path(data_dir, settings.cert_file), key_file=_path(data_dir, settings.key_file),
            username=settings.username, password=settings.password, keepalive_s=settings.keepalive_s)
        self.link = MqttLink(station_id, broker, on_message=self._received, on_connect=self._connected,
                             on_disconnect=self._disconnected, subscriptions=(down_topic(station_id, "#"),),
                             status_topic=status_topic(station_id))
        self.uplink = Uplink(station, self.signer, self.link.publish, UplinkLimits(
            batch_max_bytes=settings.batch_max_bytes, batch_max_events=settings.batch_max_events,
            window_messages=settings.window_messages, window_max_bytes=settings.window_max_bytes,
            ack_timeout_s=float(settings.ack_timeout_s), bulk_ahead_s=float(settings.bulk_ahead_s)),
            payload_budget=lambda: payload_budget(self.link.max_packet_bytes))
        self.watch = LinkWatch(time.monotonic)
        self._pinged_at = 0.0
        self._judge_now = threading.Event()  # the link changed: judge it at once, not at the next beat
        self.downlink = Downlink(station, self.signer, self.link.publish,
                                 max_clock_ahead=timedelta(seconds=settings.max_clock_ahead_s),
                                 after_epoch_change=self.uplink.hello)

    # -- the loop ----------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Sync until `stop` is set; the link reconnects by itself, the outbox keeps everything."""
        with self.station.store.write() as conn:
            adopt_stragglers(conn, state.current_epoch(conn))
            state.set_link(conn, "offline", self.station.clock())
        self.link.start()
        next_beat = next_adopt = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                if now >= next_beat or self._judge_now.is_set():
                    self._judge_now.clear()
                    self._beat()
                    next_beat = now + HEARTBEAT_EVERY_S
                if self.link.connected and self.watch.ping_due(self._pinged_at):
                    self._pinged_at = now
                    self._ping()
                if now >= next_adopt:
                    self._adopt()
                    next_adopt = now + ADOPT_EVERY_S
                try:
                    self.downlink.flush_acks()
                    handed = self.uplink.pump() if self.link.connected else 0
                except SyncError as err:  # e.g. a message over the broker's limit: said, and tried again later
                    log.error("sync could not send: %s", err)
                    handed = 0
                    stop.wait(1.0)
                if not handed:
                    stop.wait(PUMP_EVERY_S)
        finally:
            self.link.stop()
            with self.station.store.write() as conn:
                state.set_link(conn, "offline", self.station.clock())

    def _beat(self) -> None:
        with self.station.store.write() as conn:
            self.watch.judge(conn, self.link.connected, self.station.clock())

    def _ping(self) -> None:
        try:
            self.link.publish(up_topic(self.station_id, "ping"),
                              encode(self.signer.sign(new_message("ping", station=self.station_id))))
        except SyncError as err:
            log.warning("could not ask HQ for a pong: %s", err)

    def _adopt(self) -> None:
        with self.station.store.write() as conn:
            adopt_stragglers(conn, state.current_epoch(conn))

    # -- paho's thread -------------------------------------------------------------

    def _connected(self, session_present: bool) -> None:
        # connected to the broker is not yet heard from HQ: the link is judged when HQ answers
        self.watch.connected()
        self.uplink.hello()

    def _disconnected(self) -> None:
        self.uplink.disconnected()
        self._judge_now.set()

    def _received(self, received: Received) -> None:
        try:
            message = decode(received.payload)
            self.hq_keys.verify(message)
            kind = message.get("kind")
            # HQ signs whom a message is for: one meant for another station, or for another of
            # this station's streams, is refused before it can move any mark
            leaf = "ack" if kind in ("welcome", "ack", "pong") else message.get("stream")
            check_addressed(message, received.topic, self.station_id, side="hq", leaf=str(leaf))
            heads = message.get("down_heads") if kind == "pong" else None
            if self.watch.heard(self.station.clock(), heads if isinstance(heads, dict) else None):
                self._judge_now.set()
            if kind == "pong":
                return
            if kind == "welcome":
                self.uplink.on_welcome(message)
            elif kind == "ack":
                self.uplink.on_ack(message)
            elif kind == "log":
                self.downlink.on_log(message)
            elif kind == "snapshot":
                self.downlink.on_snapshot(message)
            else:
                raise MalformedMessage(f"unknown downlink message kind {kind!r}")
        except (MalformedMessage, SignatureError, KeyError, TypeError, ValueError) as err:
            self._quarantine(received, err)

    def _quarantine(self, received: Received, err: Exception) -> None:
        log.warning("downlink message quarantined topic=%s error=%s", received.topic, err)
        now = self.station.clock()
        with self.station.store.write() as conn:
            kind = ("sync_bad_signature" if isinstance(err, SignatureError)
                    else "sync_misaddressed" if isinstance(err, Misaddressed) else "sync_poison")
            state.add_conflict(conn, f"sync:quarantine:{uuid7()}", kind, "",
                               {"topic": received.topic, "error": str(err),
                                "payload": received.payload[:2000].decode("utf-8", "replace")}, now)
