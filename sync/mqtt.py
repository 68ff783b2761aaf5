"""The one module that talks to paho: an MQTT v5 link with a durable session, TLS by config,
and paho's errors translated into SyncError.

paho keeps unacknowledged messages in memory only and, after a reconnect, resends its whole
queue; callers therefore hand it only a bounded window and keep durability in their database.
"""

from __future__ import annotations

import logging
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from sync.envelope import MAX_PACKET_BYTES
from sync.errors import SyncError

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # the broker keeps our subscriptions and queued messages a week
_PUBLISH_OVERHEAD = 16  # bytes of a PUBLISH packet besides its topic and payload, at most (fixed header, id, props)


class MessageTooLarge(SyncError):
    """A message over the broker's packet limit: the broker would drop the connection for it."""


@dataclass(frozen=True, slots=True)
class BrokerSettings:
    host: str
    port: int = 1883
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    username: str | None = None
    password: str | None = None
    keepalive_s: int = 30
    max_packet_bytes: int = MAX_PACKET_BYTES  # the broker's limit as configured; a smaller one it announces wins


@dataclass(frozen=True, slots=True)
class Received:
    topic: str
    payload: bytes


class MqttLink:
    """One client connection. Callbacks run on paho's network thread; `on_message` returning
    means the message is handled (paho sends the PUBACK after it returns)."""

    def __init__(
        self,
        client_id: str,
        broker: BrokerSettings,
        *,
        on_message: Callable[[Received], None],
        on_connect: Callable[[bool], None] = lambda session_present: None,
        on_disconnect: Callable[[], None] = lambda: None,
        subscriptions: tuple[str, ...] = (),
        status_topic: str | None = None,
        max_queued: int = 0,
        durable_session: bool = True,
    ) -> None:
        self.client_id = client_id
        self._broker = broker
        self._on_message = on_message
        self._on_connect = on_connect
        self._on_disconnect = on_disconnect
        self._subscriptions = subscriptions
        self._status_topic = status_topic
        self._session_expiry = SESSION_EXPIRY_S if durable_session else 0
        self._connected = threading.Event()
        self._broker_max_packet: int | None = None  # what the broker announced in its CONNACK
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        client.max_inflight_messages_set(1000)  # the window is bounded by the caller, not here
        client.max_queued_messages_set(max_queued)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        if broker.username:
            client.username_pw_set(broker.username, broker.password)
        if broker.ca_file:
            try:
                client.tls_set(ca_certs=broker.ca_file, certfile=broker.cert_file, keyfile=broker.key_file,
                               tls_version=ssl.PROTOCOL_TLS_CLIENT)
            except (OSError, ssl.SSLError, ValueError) as err:
                raise SyncError(f"cannot load the TLS files for the MQTT link: {err}") from err
        if status_topic:
            will = Properties(PacketTypes.WILLMESSAGE)
            client.will_set(status_topic, b"offline", qos=1, retain=True, properties=will)
        client.on_connect = self._connected_cb
        client.on_disconnect = self._disconnected_cb
        client.on_message = self._message_cb
        self._client = client

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; paho reconnects by itself after a drop."""
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self._session_expiry
        try:
            self._client.connect_async(self._broker.host, self._broker.port, keepalive=self._broker.keepalive_s,
                                       clean_start=False, properties=properties)
            self._client.loop_start()
        except (OSError, ValueError) as err:
            raise SyncError(f"cannot start the MQTT link to {self._broker.host}:{self._broker.port}: {err}") from err

    def stop(self) -> None:
        """Say `offline` (retained) and disconnect cleanly."""
        try:
            if self._status_topic and self._connected.is_set():
                self._client.publish(self._status_topic, b"offline", qos=1, retain=True).wait_for_publish(2)
        except (RuntimeError, ValueError, OSError):
            pass  # best effort: the broker publishes the will if this does not get through
        self._client.disconnect()
        self._client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    @property
    def max_packet_bytes(self) -> int:
        """The largest packet this link may send: the configured limit, or the broker's own if smaller."""
        announced = self._broker_max_packet
        return min(self._broker.max_packet_bytes, announced) if announced else self._broker.max_packet_bytes

    def fits(self, topic: str, payload: bytes) -> bool:
        return len(payload) + len(topic.encode("utf-8")) + _PUBLISH_OVERHEAD <= self.max_packet_bytes

    # -- publishing ----------------------------------------------------------

    def publish(self, topic: str, payload: bytes, *, retain: bool = False) -> paho.MQTTMessageInfo:
        """Hand a QoS 1 message to paho (queued while disconnected); a PUBACK acks nothing of ours.
        The message info tells whether paho still holds it (`is_published()` once the broker has it).
        MessageTooLarge, before paho sees it, for a message over the broker's packet limit."""
        if not self.fits(topic, payload):
            raise MessageTooLarge(f"a message of {len(payload)} bytes to {topic} is over the broker's packet "
                                  f"limit of {self.max_packet_bytes} bytes")
        try:
            info = self._client.publish(topic, payload, qos=1, retain=retain)
        except (ValueError, OSError) as err:
            raise SyncError(f"cannot publish to {topic}: {err}") from err
        if info.rc not in (paho.MQTT_ERR_SUCCESS, paho.MQTT_ERR_NO_CONN):
            raise SyncError(f"cannot publish to {topic}: {paho.error_string(info.rc)}")
        return info

    # -- paho callbacks (network thread) ---------------------------------------

    def _connected_cb(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("mqtt connect refused client=%s reason=%s", self.client_id, reason_code)
            return
        announced = getattr(properties, "MaximumPacketSize", None)
        self._broker_max_packet = int(announced) if announced else None
        if announced and int(announced) < self._broker.max_packet_bytes:
            log.error("the broker's packet limit is %s bytes, below the %s configured: messages are cut to it",
                      announced, self._broker.max_packet_bytes)
        for topic in self._subscriptions:
            client.subscribe(topic, qos=1)
        if self._status_topic:
            client.publish(self._status_topic, b"online", qos=1, retain=True)
        self._connected.set()
        log.info("mqtt connected client=%s session_present=%s", self.client_id, flags.session_present)
        self._on_connect(bool(flags.session_present))

    def _disconnected_cb(self, client, userdata, flags, reason_code, properties) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was:
            log.info("mqtt disconnected client=%s reason=%s", self.client_id, reason_code)
            self._on_disconnect()

    def _message_cb(self, client, userdata, message) -> None:
        try:
            self._on_message(Received(message.topic, message.payload))
        except Exception:  # a handler bug must not kill paho's network thread (the message is logged)
            log.exception("mqtt message handler failed client=%s topic=%s", self.client_id, message.topic)
