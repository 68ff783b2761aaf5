"""Bay-occupancy sensors on an RS-485 Modbus RTU bus (ultrasonic/radar distance or presence), via pymodbus.

One source owns one bus (one serial port) and polls every sensor on it in turn; two
sources on the same port would garble each other's frames. Each `bays` entry names a bay
and where its reading lives:

    bays = [{ bay = "L1", device_id = 1, register = 0 },
            { bay = "L2", device_id = 2, register = 0, occupied_below = 1200 }]

`register_type` is "holding" or "input" (a 16-bit distance, times `scale`, in mm) or
"discrete" / "coil" (a presence bit). A sensor that does not answer (timeout, bad CRC,
garbage) or answers with a Modbus exception is a counted rejection, logged once when it
stops answering and once when it answers again; its bay turns `unknown` after
`silence_timeout`. The port itself vanishing is a device loss, retried with backoff.
"""

from __future__ import annotations

import inspect
import logging
import os
import time
from collections.abc import Mapping, Sequence
from typing import Any

from drivers.base import Clock, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import Event
from drivers.occupancy_filter import OccupancySettings, OccupancySource
from drivers.serial_lines import is_plain_path

log = logging.getLogger(__name__)

REGISTER_TYPES = ("holding", "input", "discrete", "coil")
_BAY_KEYS = frozenset({"device_id", "register", "register_type", "scale"})


class ModbusOccupancy(OccupancySource):
    """Polls distance/presence registers of the sensors on one RS-485 bus; yields BayOccupancy."""

    driver = "occupancy_modbus"

    def __init__(self, name: str, *, port: str, bays: Sequence[Mapping[str, Any]], baudrate: int = 9600,
                 parity: str = "N", stopbits: int = 1, bytesize: int = 8, timeout: float = 0.3,
                 poll_interval: float = 0.5, register_type: str = "holding", scale: float = 1.0,
                 occupied_below: float = 1500.0, free_above: float = 1800.0, delay_on: float = 2.0,
                 delay_off: float = 5.0, silence_timeout: float = 30.0, stuck_after: float = 0.0,
                 stuck_tolerance: float = 0.0, reconnect_max: float = 1.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        defaults = OccupancySettings(occupied_below, free_above, delay_on, delay_off, silence_timeout,
                                     stuck_after, stuck_tolerance)
        super().__init__(name, bays=bays, defaults=defaults, own_keys=_BAY_KEYS, reconnect_max=reconnect_max,
                         clock=clock, wall=wall)
        if not port:
            raise DriverError(f"device {name!r}: port is empty (e.g. /dev/ttyUSB0)")
        if parity not in ("N", "E", "O") or timeout <= 0 or poll_interval <= 0:
            raise DriverError(f"device {name!r}: parity must be N/E/O; timeout and poll_interval positive")
        self.port, self.timeout, self.poll_interval = port, timeout, poll_interval
        self.line = {"baudrate": baudrate, "parity": parity, "stopbits": stopbits, "bytesize": bytesize}
        self.points: dict[str, tuple[int, int, str, float]] = {}
        for bay, entry in self.bay_options.items():
            where = f"device {name!r} bay {bay!r}"
            device_id, register = entry.get("device_id", 1), entry.get("register", 0)
            kind, bay_scale = entry.get("register_type", register_type), entry.get("scale", scale)
            if not (isinstance(device_id, int) and 0 <= device_id <= 247):
                raise DriverError(f"{where}: device_id must be a Modbus address 0-247, not {device_id!r}")
            if not (isinstance(register, int) and 0 <= register <= 0xFFFF):
                raise DriverError(f"{where}: register must be 0-65535, not {register!r}")
            if kind not in REGISTER_TYPES:
                raise DriverError(f"{where}: register_type must be one of {', '.join(REGISTER_TYPES)}")
            if isinstance(bay_scale, bool) or not isinstance(bay_scale, int | float) or bay_scale <= 0:
                raise DriverError(f"{where}: scale must be a positive number")
            self.points[bay] = (device_id, register, kind, float(bay_scale))
        self._answering: dict[str, bool] = {}

    def _prepare(self) -> None:
        try:
            import pymodbus.client  # noqa: F401  (lazy: only stations with Modbus sensors load it)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs pymodbus: {err}") from err

    def _session(self) -> bool:
        from pymodbus.client import ModbusSerialClient

        # pymodbus logs an ERROR per failed open; checking first keeps an unplugged adapter quiet
        if is_plain_path(self.port) and not os.path.exists(self.port):
            raise DeviceUnavailable(f"{self.port} does not exist")
        client = ModbusSerialClient(self.port, timeout=self.timeout, retries=0, **self.line)
        if not client.connect():
            raise DeviceUnavailable(f"cannot open {self.port}")
        self._mark_connected(self.port)
        try:
            address_keyword = _address_keyword(client)
            next_poll = self._clock()
            while not self._stop.is_set():
                events: list[Event] = []
                for bay in self.points:
                    if self._stop.is_set():
                        break
                    events.extend(self._poll(client, bay, address_keyword))
                events.extend(self._tick_all())
                self._publish(events)
                next_poll = max(next_poll + self.poll_interval, self._clock())
                self._stop.wait(max(0.0, next_poll - self._clock()))
            return False
        finally:
            client.close()

    def _poll(self, client: Any, bay: str, address_keyword: str) -> list[Event]:
        from pymodbus.exceptions import ConnectionException, ModbusException

        device_id, register, kind, scale = self.points[bay]
        read = {"holding": client.read_holding_registers, "input": client.read_input_registers,
                "discrete": client.read_discrete_inputs, "coil": client.read_coils}[kind]
        try:
            response = read(register, count=1, **{address_keyword: device_id})
        except ConnectionException as err:  # the port itself is gone (adapter unplugged)
            raise DeviceUnavailable(f"{self.port}: {err}") from err
        except ModbusException as err:  # timeout, bad CRC, truncated or garbled reply
            self._sensor_failed(bay, "no_response", err)
            return []
        if response.isError():
            self._sensor_failed(bay, "exception_reply", response)
            return []
        self._sensor_answered(bay)
        value: float | bool = bool(response.bits[0]) if kind in ("discrete", "coil") \
            else response.registers[0] * scale
        return self._feed(bay, value)

    def _sensor_failed(self, bay: str, reason: str, detail: object) -> None:
        was_answering = self._answering.get(bay, True)
        self._answering[bay] = False
        self._reject(reason, f"bay={bay} {detail}", quiet=True)  # logged below, once per outage
        if was_answering:
            log.warning("sensor not answering device=%s bay=%s port=%s reason=%s detail=%s",
                        self.name, bay, self.port, reason, detail)

    def _sensor_answered(self, bay: str) -> None:
        if self._answering.get(bay) is False:
            log.info("sensor answering again device=%s bay=%s port=%s", self.name, bay, self.port)
        self._answering[bay] = True


def _address_keyword(client: Any) -> str:
    """pymodbus renamed `slave=` to `device_id=` in 3.10; accept both so the pin can stay loose."""
    parameters = inspect.signature(client.read_holding_registers).parameters
    return "device_id" if "device_id" in parameters else "slave"
