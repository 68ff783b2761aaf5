"""Simulated twins of every device kind, for the demo and tests: realistic events on a timer, or on demand.

Each simulator is a full source (same contract, health, worker thread) chosen by config
like a real driver (`driver = "sim_qr"` ...). It emits from its list every `interval`
seconds (with jitter; 0 means only on demand), and `inject()` makes it emit now, which
is how the demo and the terminal UI "scan" a code or "present" a card. `seed` makes the
sequence repeatable; `repeat = false` goes through the list once. The ANPR twin misreads
characters the way OCR does and the occupancy twin sends jittery distances through the
real debounce filter (and can play a stuck or a silent sensor), so the code downstream
meets the same mess as with hardware. `outage_every` unplugs a twin now and then for
`outage_seconds`, the way a loose USB cable does.
"""

from __future__ import annotations

import queue
import random
import time
from collections.abc import Sequence
from typing import Any

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import CardPresented, CodeScanned, Event, PlateRead
from drivers.occupancy_filter import OccupancyFilter, OccupancySettings

# the characters camera OCR swaps most (measured on synthetic Chinese plates)
OCR_SWAPS = {"0": "D", "D": "0", "8": "B", "B": "8", "1": "7", "7": "1", "5": "S", "S": "5",
             "2": "Z", "Z": "2", "M": "N", "N": "M", "Q": "0", "6": "G", "G": "6"}


class _Simulator(ThreadedSource):
    """Emits `_next_events()` every `interval` (± 20 %), plus whatever is injected."""

    def __init__(self, name: str, *, interval: float, seed: int | None, repeat: bool = True,
                 outage_every: float = 0.0, outage_seconds: float = 10.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, clock=clock, wall=wall)
        if interval < 0:
            raise DriverError(f"device {name!r}: interval cannot be negative (0 = only injected events)")
        if outage_every < 0 or outage_seconds <= 0:
            raise DriverError(f"device {name!r}: outage_every cannot be negative (0 = never) and "
                              "outage_seconds must be positive")
        self.interval = interval
        self.random = random.Random(seed)
        self.repeat = repeat
        self.outage_every, self.outage_seconds = outage_every, outage_seconds
        self._injected: queue.Queue[Any] = queue.Queue()
        self._step = 0
        self._unplugged_at: float | None = None

    def _next_events(self) -> list[Event]:
        """The events of the next timed step."""
        return []

    def _injected_event(self, item: Any) -> Event | None:
        return item

    def _wait(self) -> float:
        if not self.interval:
            return 0.2  # only on demand: wake up now and then to notice close()
        return self.interval * self.random.uniform(0.8, 1.2)

    def _session(self) -> bool:
        self._check_plugged_in()
        self._mark_connected("simulated")
        connected_at = self._clock()
        due = connected_at + self._wait()
        while not self._stop.is_set():
            if self.outage_every and self._clock() - connected_at >= self.outage_every:
                self._unplugged_at = self._clock()
                raise DeviceUnavailable("simulated unplug")
            events: list[Event] = []
            try:
                item = self._injected.get(timeout=max(0.0, min(0.2, due - self._clock())))
                event = self._injected_event(item)
                events = [event] if event is not None else []
            except queue.Empty:
                if self._clock() >= due:
                    due = self._clock() + self._wait()
                    events = self._next_events() if self.interval else []
                    self._step += 1
            self._publish([self._accepted_event(event) for event in events])
        return False

    def _check_plugged_in(self) -> None:
        if self._unplugged_at is not None:
            if self._clock() - self._unplugged_at < self.outage_seconds:
                raise DeviceUnavailable("simulated unplug: still unplugged")
            self._unplugged_at = None

    def _pick(self, items: Sequence[Any]) -> Any:
        if not items or (not self.repeat and self._step >= len(items)):
            return None
        return items[self._step % len(items)]


class SimulatedScanner(_Simulator):
    """A QR scanner (serial or camera) scanning `codes` in turn; `inject(code)` scans one now."""

    driver = "sim_qr"

    def __init__(self, name: str, *, codes: Sequence[str] = (), interval: float = 0.0, seed: int | None = None,
                 repeat: bool = True, outage_every: float = 0.0, outage_seconds: float = 10.0,
                 clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, interval=interval, seed=seed, repeat=repeat, outage_every=outage_every,
                         outage_seconds=outage_seconds, clock=clock, wall=wall)
        self.codes = list(codes)

    def inject(self, code: str) -> None:
        self._injected.put(code)

    def _injected_event(self, item: Any) -> Event:
        return CodeScanned(code=item, device=self.name, at=self._wall())

    def _next_events(self) -> list[Event]:
        code = self._pick(self.codes)
        return [] if code is None else [CodeScanned(code=code, device=self.name, at=self._wall())]


class SimulatedAnpr(_Simulator):
    """An ANPR camera reading `plates` in turn, misreading a character now and then like real OCR."""

    driver = "sim_anpr"

    def __init__(self, name: str, *, plates: Sequence[str] = (), lanes: Sequence[str] = ("1",),
                 interval: float = 0.0, misread_rate: float = 0.1, seed: int | None = None,
                 repeat: bool = True, outage_every: float = 0.0, outage_seconds: float = 10.0,
                 clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, interval=interval, seed=seed, repeat=repeat, outage_every=outage_every,
                         outage_seconds=outage_seconds, clock=clock, wall=wall)
        if not 0.0 <= misread_rate <= 1.0 or not lanes:
            raise DriverError(f"device {name!r}: misread_rate must be within 0..1 and lanes not empty")
        self.plates, self.lanes, self.misread_rate = list(plates), list(lanes), misread_rate

    def inject(self, plate: str, confidence: float = 0.95, lane: str | None = None) -> None:
        self._injected.put((plate, confidence, lane or self.lanes[0]))

    def _injected_event(self, item: Any) -> Event:
        plate, confidence, lane = item
        return PlateRead(plate=plate, confidence=confidence, lane=lane, device=self.name, at=self._wall())

    def _next_events(self) -> list[Event]:
        plate = self._pick(self.plates)
        if plate is None:
            return []
        confidence = round(self.random.uniform(0.86, 0.99), 2)
        if self.random.random() < self.misread_rate:
            plate, confidence = self._misread(plate), round(self.random.uniform(0.55, 0.8), 2)
        return [PlateRead(plate=plate, confidence=confidence, lane=self.random.choice(self.lanes),
                          device=self.name, at=self._wall())]

    def _misread(self, plate: str) -> str:
        positions = [i for i, ch in enumerate(plate) if ch in OCR_SWAPS and i > 0]
        if not positions:
            return plate
        i = self.random.choice(positions)
        return plate[:i] + OCR_SWAPS[plate[i]] + plate[i + 1:]


class SimulatedClockIn(_Simulator):
    """A card reader that sees `cards` in turn; `inject(card_id)` presents one now."""

    driver = "sim_clock_in"

    def __init__(self, name: str, *, cards: Sequence[str] = (), interval: float = 0.0, seed: int | None = None,
                 repeat: bool = True, outage_every: float = 0.0, outage_seconds: float = 10.0,
                 clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, interval=interval, seed=seed, repeat=repeat, outage_every=outage_every,
                         outage_seconds=outage_seconds, clock=clock, wall=wall)
        self.cards = list(cards)

    def inject(self, card_id: str) -> None:
        self._injected.put(card_id)

    def _injected_event(self, item: Any) -> Event:
        return CardPresented(card_id=item, device=self.name, at=self._wall())

    def _next_events(self) -> list[Event]:
        card = self._pick(self.cards)
        return [] if card is None else [CardPresented(card_id=card, device=self.name, at=self._wall())]


class SimulatedOccupancy(_Simulator):
    """Distance sensors over `bays`: cars arrive and leave at random, readings jitter, the real filter debounces.

    A bay in `stuck_bays` reads the same distance every time (a sensor frozen on a parked
    car), which the filter reports as stuck after `stuck_after` seconds; a bay in
    `silent_bays` stops reporting `silent_after` seconds into the run, and turns unknown once
    the filter's silence timeout (`silence_timeout`) has passed.
    """

    driver = "sim_occupancy"

    def __init__(self, name: str, *, bays: Sequence[str] = (), interval: float = 0.5,
                 dwell_min: float = 20.0, dwell_max: float = 90.0, delay_on: float = 2.0,
                 delay_off: float = 5.0, stuck_bays: Sequence[str] = (), stuck_after: float = 60.0,
                 silent_bays: Sequence[str] = (), silent_after: float = 30.0, silence_timeout: float = 30.0,
                 seed: int | None = None, clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, interval=interval, seed=seed, clock=clock, wall=wall)
        if not bays or interval <= 0 or not 0 < dwell_min <= dwell_max:
            raise DriverError(f"device {name!r}: needs bays, interval > 0 and 0 < dwell_min <= dwell_max")
        strangers = sorted((set(stuck_bays) | set(silent_bays)) - set(bays))
        if strangers:
            raise DriverError(f"device {name!r}: stuck_bays / silent_bays name bays it has not: {', '.join(strangers)}")
        if min(stuck_after, silent_after) < 0 or silence_timeout <= 0:
            raise DriverError(f"device {name!r}: stuck_after and silent_after cannot be negative, "
                              "silence_timeout must be positive")
        def settings(bay: str) -> OccupancySettings:
            return OccupancySettings(delay_on=delay_on, delay_off=delay_off, silence_timeout=silence_timeout,
                                     stuck_after=stuck_after if bay in stuck_bays else 0.0)
        self.filters = {bay: OccupancyFilter(bay, name, settings(bay), clock=clock, wall=wall) for bay in bays}
        self.dwell = (dwell_min, dwell_max)
        self.stuck_bays, self.silent_bays, self.silent_after = frozenset(stuck_bays), frozenset(silent_bays), silent_after
        self._started_at = 0.0
        self._car: dict[str, bool] = {bay: False for bay in bays}
        self._change_at: dict[str, float] = {bay: 0.0 for bay in bays}

    def inject(self, bay: str, occupied: bool) -> None:
        """Park a car in the bay (or drive it out) now; it stays for a random dwell."""
        if bay not in self.filters:
            raise DriverError(f"device {self.name!r} has no bay {bay!r} (bays: {', '.join(self.filters)})")
        self._injected.put((bay, occupied))

    def _injected_event(self, item: Any) -> None:
        bay, occupied = item
        self._car[bay] = occupied
        self._change_at[bay] = self._clock() + self.random.uniform(*self.dwell)
        return None  # the next readings carry it through the filter

    def _session(self) -> bool:
        now = self._started_at = self._clock()
        for bay in self._change_at:
            self._change_at[bay] = now + self.random.uniform(0, self.dwell[1])
        for bay in self.stuck_bays:
            self._car[bay], self._change_at[bay] = True, float("inf")
        return super()._session()

    def _next_events(self) -> list[Event]:
        now, events = self._clock(), []
        for bay, bay_filter in self.filters.items():
            if bay in self.silent_bays and now - self._started_at >= self.silent_after:
                events.extend(bay_filter.tick())  # the sensor says nothing; the filter notices
                continue
            if now >= self._change_at[bay]:
                self._car[bay] = not self._car[bay]
                self._change_at[bay] = now + self.random.uniform(*self.dwell)
            jitter = 0.0 if bay in self.stuck_bays else self.random.gauss(0, 25)
            distance = (900.0 if self._car[bay] else 2600.0) + jitter
            events.extend(bay_filter.feed(distance))
        return events
