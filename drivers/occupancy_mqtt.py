"""Bay-occupancy sensors that publish on the station's local MQTT broker (zigbee2mqtt, ESPHome, Tasmota).

Each `bays` entry maps a topic to a bay:

    bays = [{ bay = "W1", topic = "zigbee2mqtt/bay-W1", field = "occupancy", kind = "presence" },
            { bay = "L1", topic = "esphome/bay-l1/distance" }]

A payload is a bare number ("1234.5"), a word (on/off, true/false, occupied/free,
detected/clear) or a JSON object whose `field` (dotted path) holds one of those. `kind`
is "distance" (the default: a number in mm after `scale`, through hysteresis) or
"presence" (a boolean; a number counts as present when non-zero). Anything else is a
counted rejection. paho runs its own network thread and reconnects by itself; this
source's worker applies readings and ticks the filters, so a bay goes `unknown` after
`silence_timeout` whether the sensor or the broker went quiet.
"""

from __future__ import annotations

import json
import os
import queue
import time
from collections.abc import Mapping, Sequence
from typing import Any

from drivers.base import Clock, WallClock, utc_now
from drivers.errors import DriverError
from drivers.events import Event
from drivers.occupancy_filter import OccupancySettings, OccupancySource

_BAY_KEYS = frozenset({"topic", "field", "kind", "scale"})
_TRUE = frozenset({"on", "true", "occupied", "detected", "present", "yes"})
_FALSE = frozenset({"off", "false", "free", "clear", "vacant", "absent", "no"})


class MqttOccupancy(OccupancySource):
    """Subscribes to each bay's sensor topic on the local broker; yields BayOccupancy."""

    driver = "occupancy_mqtt"

    def __init__(self, name: str, *, bays: Sequence[Mapping[str, Any]], host: str = "127.0.0.1",
                 port: int = 1883, username: str = "", password: str = "", client_id: str = "",
                 keepalive: int = 30, scale: float = 1.0, occupied_below: float = 1500.0,
                 free_above: float = 1800.0, delay_on: float = 2.0, delay_off: float = 5.0,
                 silence_timeout: float = 120.0, stuck_after: float = 0.0, stuck_tolerance: float = 0.0,
                 reconnect_max: float = 5.0, clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        defaults = OccupancySettings(occupied_below, free_above, delay_on, delay_off, silence_timeout,
                                     stuck_after, stuck_tolerance)
        super().__init__(name, bays=bays, defaults=defaults, own_keys=_BAY_KEYS, reconnect_max=reconnect_max,
                         clock=clock, wall=wall)
        self.host, self.port, self.keepalive = host, port, keepalive
        self.username, self.password = username, password
        # one broker session per source and process; a fixed id would let a second daemon kick this one off
        self.client_id = client_id or f"station-edge-{name}-{os.getpid()}"
        self.topics: dict[str, tuple[str, str, str, float]] = {}  # topic -> bay, field, kind, scale
        for bay, entry in self.bay_options.items():
            where = f"device {name!r} bay {bay!r}"
            topic, field = entry.get("topic"), entry.get("field", "")
            kind, bay_scale = entry.get("kind", "distance"), entry.get("scale", scale)
            if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
                raise DriverError(f"{where}: needs topic = \"<exact topic>\" (no wildcards)")
            if topic in self.topics:
                raise DriverError(f"{where}: topic {topic!r} is already used by bay {self.topics[topic][0]!r}")
            if kind not in ("distance", "presence") or not isinstance(field, str):
                raise DriverError(f"{where}: kind must be 'distance' or 'presence', field a string")
            if isinstance(bay_scale, bool) or not isinstance(bay_scale, int | float) or bay_scale <= 0:
                raise DriverError(f"{where}: scale must be a positive number")
            self.topics[topic] = (bay, field, kind, float(bay_scale))
        self._inbox: queue.Queue[tuple[str, bytes]] = queue.Queue()

    def _prepare(self) -> None:
        try:
            import paho.mqtt.client  # noqa: F401  (lazy: only stations with MQTT sensors load it)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs paho-mqtt: {err}") from err

    def _session(self) -> bool:
        import paho.mqtt.client as mqtt

        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.client_id)
        if self.username:
            client.username_pw_set(self.username, self.password or None)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=self.reconnect_initial, max_delay=self._backoff.maximum)
        client.connect_async(self.host, self.port, self.keepalive)
        client.loop_start()  # paho's thread connects, retries the first connection and reconnects
        try:
            while not self._stop.is_set():
                events: list[Event] = []
                try:
                    topic, payload = self._inbox.get(timeout=self.tick_interval)
                    events.extend(self._reading(topic, payload))
                    while True:  # drain a burst in one batch
                        topic, payload = self._inbox.get_nowait()
                        events.extend(self._reading(topic, payload))
                except queue.Empty:
                    pass  # no reading this tick: silence timers below still advance
                events.extend(self._tick_all())
                self._publish(events)
            return False
        finally:
            client.disconnect()
            client.loop_stop()

    # paho callbacks run on paho's network thread: they only record and enqueue

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self._mark_lost(f"broker {self.host}:{self.port} refused: {reason_code}")
            return
        client.subscribe([(topic, 1) for topic in self.topics])
        self._mark_connected(f"mqtt://{self.host}:{self.port}")

    def _on_connect_fail(self, client: Any, userdata: Any) -> None:
        self._mark_lost(f"cannot connect to broker {self.host}:{self.port}")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if not self._stop.is_set():
            self._mark_lost(f"broker {self.host}:{self.port} disconnected: {reason_code}")

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        self._inbox.put((message.topic, message.payload))

    def _reading(self, topic: str, payload: bytes) -> list[Event]:
        if topic not in self.topics:
            return []
        bay, field, kind, scale = self.topics[topic]
        value = parse_payload(payload, field=field, presence=kind == "presence")
        if value is None:
            self._reject("bad_payload", f"bay={bay} {payload[:60]!r}")
            return []
        return self._feed(bay, value if isinstance(value, bool) else value * scale)


def parse_payload(payload: bytes, *, field: str = "", presence: bool = False) -> float | bool | None:
    """A sensor payload as a distance or a presence flag; None when it is neither."""
    try:
        text = payload.decode("utf-8").strip()
    except UnicodeDecodeError:
        return None
    value: Any = text
    if field or text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            return None
        for part in field.split(".") if field else ():
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
    return _as_reading(value, presence=presence)


def _as_reading(value: Any, *, presence: bool) -> float | bool | None:
    if isinstance(value, bool):
        return value if presence else None
    if isinstance(value, str):
        word = value.strip().lower()
        if presence and word in _TRUE | _FALSE:
            return word in _TRUE
        try:
            value = float(word)
        except ValueError:
            return None
    if isinstance(value, int | float):
        return bool(value) if presence else float(value)
    return None
