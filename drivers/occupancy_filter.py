"""From noisy bay-sensor readings to debounced BayOccupancy changes: hysteresis, delays, silence, stuck.

The filter chain of ESPHome's binary sensors (delayed_on / delayed_off) and its sensor
timeout, for one bay, as a pure object with time passed in:

- hysteresis: a distance at or below `occupied_below` means a car, at or above
  `free_above` means none, anything between keeps the previous raw state (a car's bonnet
  at the threshold cannot make the bay flicker);
- debounce: a raw state must hold for `delay_on` (to occupied) or `delay_off` (to free)
  seconds before it is reported; a car driving through does not occupy the bay;
- silence: no reading for `silence_timeout` seconds makes the bay `unknown`;
- stuck: the same distance (within `stuck_tolerance`) for `stuck_after` seconds raises a
  DeviceAlarm; a real ultrasonic or radar reading jitters, a frozen register does not.
  The alarm clears on the next different reading.

Sensors that only say occupied/free (radar presence, MQTT booleans) skip hysteresis and
stuck detection. Callers feed readings and call `tick()` regularly, because a delay can
expire and a sensor can fall silent with no reading arriving.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DriverError
from drivers.events import BayOccupancy, DeviceAlarm, Event, OccupancyState


@dataclass(frozen=True)
class OccupancySettings:
    """How one bay's readings are judged; distances in the sensor's unit after scaling (mm)."""

    occupied_below: float = 1500.0
    free_above: float = 1800.0
    delay_on: float = 2.0
    delay_off: float = 5.0
    silence_timeout: float = 30.0
    stuck_after: float = 0.0  # seconds; 0 disables stuck detection
    stuck_tolerance: float = 0.0

    def check(self, where: str) -> None:
        if not self.occupied_below < self.free_above:
            raise DriverError(f"{where}: occupied_below ({self.occupied_below}) must be below "
                              f"free_above ({self.free_above})")
        if min(self.delay_on, self.delay_off, self.stuck_tolerance) < 0 or self.stuck_after < 0:
            raise DriverError(f"{where}: delays and stuck settings cannot be negative")
        if self.silence_timeout <= 0:
            raise DriverError(f"{where}: silence_timeout must be positive")


OccupancyOutput = BayOccupancy | DeviceAlarm


class OccupancyFilter:
    """One bay's debounce state machine; returns the events each reading or tick causes."""

    def __init__(self, bay: str, device: str, settings: OccupancySettings, *,
                 clock: Callable[[], float], wall: Callable[[], datetime]) -> None:
        settings.check(f"device {device!r} bay {bay!r}")
        self.bay, self.device, self.settings = bay, device, settings
        self._clock, self._wall = clock, wall
        self.state: OccupancyState = "unknown"
        self._raw_state: OccupancyState | None = None  # what the latest reading says, before debounce
        self._raw_since = 0.0
        self._last_value: float | bool | None = None
        self._last_reading_at: float | None = None
        self._stuck_value: float | None = None
        self._stuck_since = 0.0
        self._stuck_alarm = False

    def feed(self, value: float | bool) -> list[OccupancyOutput]:
        """A reading: a distance, or True/False from a presence sensor. Invalid values raise ValueError."""
        now = self._clock()
        if isinstance(value, bool):
            raw: OccupancyState | None = "occupied" if value else "free"
            out: list[OccupancyOutput] = []
        else:
            if math.isnan(value) or math.isinf(value) or value < 0:
                raise ValueError(f"not a distance: {value!r}")
            raw = self._hysteresis(value)
            out = self._check_stuck(value, now)
        self._last_value = value
        self._last_reading_at = now
        if raw != self._raw_state:
            self._raw_state, self._raw_since = raw, now
        return out + self._settle(now)

    def tick(self) -> list[OccupancyOutput]:
        """Time passed: let a pending delay expire, or declare the sensor silent."""
        now = self._clock()
        silent = self._last_reading_at is None or now - self._last_reading_at >= self.settings.silence_timeout
        if silent and self._last_reading_at is not None:
            self._raw_state = None
            self._last_value = None
            if self.state != "unknown":
                self.state = "unknown"
                return [self._event()]
            return []
        return self._settle(now)

    def _hysteresis(self, distance: float) -> OccupancyState | None:
        if distance <= self.settings.occupied_below:
            return "occupied"
        if distance >= self.settings.free_above:
            return "free"
        return self._raw_state  # in the band: keep what we had (None until a clear reading)

    def _settle(self, now: float) -> list[OccupancyOutput]:
        raw = self._raw_state
        if raw is None or raw == self.state:
            return []
        delay = self.settings.delay_on if raw == "occupied" else self.settings.delay_off
        if now - self._raw_since < delay:
            return []
        self.state = raw
        return [self._event()]

    def _check_stuck(self, value: float, now: float) -> list[OccupancyOutput]:
        if not self.settings.stuck_after:
            return []
        if self._stuck_value is None or abs(value - self._stuck_value) > self.settings.stuck_tolerance:
            self._stuck_value, self._stuck_since = value, now
            if self._stuck_alarm:
                self._stuck_alarm = False
                return [self._alarm(False, f"reading changed to {value:g}")]
            return []
        if not self._stuck_alarm and now - self._stuck_since >= self.settings.stuck_after:
            self._stuck_alarm = True
            return [self._alarm(True, f"reading {value:g} unchanged for {now - self._stuck_since:.0f}s")]
        return []

    def _event(self) -> BayOccupancy:
        return BayOccupancy(bay=self.bay, state=self.state, raw=self._last_value, device=self.device,
                            at=self._wall())

    def _alarm(self, active: bool, detail: str) -> DeviceAlarm:
        return DeviceAlarm(device=self.device, alarm="stuck", active=active, detail=detail,
                           at=self._wall(), bay=self.bay)


SETTING_NAMES = frozenset(f.name for f in fields(OccupancySettings))


def bay_settings(entry: Mapping[str, Any], defaults: OccupancySettings, own_keys: frozenset[str],
                 where: str) -> OccupancySettings:
    """One `bays` entry's settings: the device-wide defaults with the entry's overrides."""
    unknown = set(entry) - own_keys - SETTING_NAMES - {"bay"}
    if unknown:
        known = ", ".join(sorted(own_keys | SETTING_NAMES | {"bay"}))
        raise DriverError(f"{where}: unknown key(s) {', '.join(sorted(unknown))} (known: {known})")
    overrides = {}
    for key in SETTING_NAMES & set(entry):
        value = entry[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise DriverError(f"{where}: {key} must be a number, not {value!r}")
        overrides[key] = float(value)
    settings = replace(defaults, **overrides)
    settings.check(where)
    return settings


class OccupancySource(ThreadedSource):
    """A source of several bays' readings, each through its own OccupancyFilter, ticked while down too."""

    tick_interval = 0.2

    def __init__(self, name: str, *, bays: Sequence[Mapping[str, Any]], defaults: OccupancySettings,
                 own_keys: frozenset[str], reconnect_max: float, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, reconnect_max=reconnect_max, clock=clock, wall=wall)
        defaults.check(f"device {name!r}")
        if not bays:
            raise DriverError(f"device {name!r}: bays is empty; list the bays this device watches")
        self.filters: dict[str, OccupancyFilter] = {}
        self.bay_options: dict[str, Mapping[str, Any]] = {}
        for i, entry in enumerate(bays):
            where = f"device {name!r} bays[{i}]"
            bay = entry.get("bay") if isinstance(entry, Mapping) else None
            if not isinstance(bay, str) or not bay:
                raise DriverError(f"{where}: needs bay = \"<bay id>\"")
            if bay in self.filters:
                raise DriverError(f"{where}: bay {bay!r} is listed twice")
            settings = bay_settings(entry, defaults, own_keys, where)
            self.filters[bay] = OccupancyFilter(bay, name, settings, clock=clock, wall=wall)
            self.bay_options[bay] = entry

    def _feed(self, bay: str, value: float | bool) -> list[Event]:
        try:
            events = self.filters[bay].feed(value)
        except ValueError as err:
            self._reject("bad_reading", f"bay={bay} {err}")
            return []
        self._count_accepted()
        return self._accepted_all(events)

    def _tick_all(self) -> list[Event]:
        out: list[Event] = []
        for bay_filter in self.filters.values():
            out.extend(self._accepted_all(bay_filter.tick()))
        return out

    def _accepted_all(self, events: list[OccupancyOutput]) -> list[Event]:
        return [self._accepted_event(event, count=False) for event in events]

    def _between_sessions(self, delay: float) -> None:
        deadline = self._clock() + delay
        while not self._stop.is_set():
            self._publish(self._tick_all())
            remaining = deadline - self._clock()
            if remaining <= 0:
                return
            self._stop.wait(min(remaining, self.tick_interval))
