"""The source contract every driver keeps: open(), events(), close(), health(); plus backoff and log-once.

A source is opened on the daemon's event loop and then yields typed events from
`events()` until it is closed (or, for a finite source such as a video file, until its
input ends). Blocking device I/O runs in one worker thread per source, never on the loop:
a serial read, a Modbus poll or an OpenCV frame grab may block for a while, and a shared
executor would let a handful of devices starve everything else.

The worker reconnects with exponential backoff. It logs a device's loss once and its
recovery once (Home Assistant's "log when unavailable"); a rejected frame is counted per
reason, and logged in full the first time, then summed up in at most one line a minute per
reason (drivers.log_limit), so a flood of garbage cannot flood the journal.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import Event
from drivers.log_limit import RateLimitedLog

log = logging.getLogger(__name__)

Clock = Callable[[], float]
WallClock = Callable[[], datetime]

_QUEUE_BATCHES = 64  # batches in flight to the loop before the worker waits (backpressure, not loss)
_JOIN_TIMEOUT = 5.0


def utc_now() -> datetime:
    """The default wall clock of events: aware UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class Health:
    """A snapshot of one source's state, cheap to take from any thread."""

    device: str
    driver: str
    connected: bool
    last_event_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    accepted: int  # frames that became events
    rejected: int  # garbage, bad checksums, malformed lines, failed polls
    suppressed: int  # valid repeats not reported again (card still on the reader, QR still in view)
    reconnects: int  # successful re-opens after a loss
    rejects_by_reason: Mapping[str, int] = field(default_factory=dict)
    reconnected_at: datetime | None = None  # the last re-open after a loss: what was sent meanwhile is lost
    connected_since: datetime | None = None  # the last (re)connection, the first one included
    condition: str | None = None  # connected but not fit for work, e.g. a printer's "paper_out"


class Backoff:
    """Exponential delays with jitter between reconnect attempts, reset on success."""

    def __init__(self, initial: float = 0.1, maximum: float = 1.0, factor: float = 2.0) -> None:
        if not 0 < initial <= maximum:
            raise DriverError(f"backoff needs 0 < initial ({initial}) <= maximum ({maximum})")
        self.initial, self.maximum, self.factor = initial, maximum, factor
        self._next = initial

    def next(self) -> float:
        delay = self._next
        self._next = min(self.maximum, self._next * self.factor)
        # jitter keeps many devices that dropped together from retrying in lockstep
        return delay * random.uniform(0.9, 1.1)

    def reset(self) -> None:
        self._next = self.initial


class Source(abc.ABC):
    """One device: open() on the event loop, iterate events(), close(); health() any time."""

    driver: ClassVar[str] = ""

    def __init__(self, name: str, *, clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        if not name:
            raise DriverError("a device needs a name")
        self.name = name
        self._clock = clock
        self._wall = wall
        self._lock = threading.Lock()  # counters are bumped from the worker and read from the loop
        self._connected = False
        self._ever_connected = False
        self._down_since: float | None = None
        self._last_event_at: datetime | None = None
        self._last_error: str | None = None
        self._last_error_at: datetime | None = None
        self._accepted = 0
        self._rejected = 0
        self._suppressed = 0
        self._reconnects = 0
        self._reconnected_at: datetime | None = None
        self._connected_since: datetime | None = None
        self._reasons: Counter[str] = Counter()
        self._condition: str | None = None
        self._reject_log = RateLimitedLog(log, "frames rejected", clock=clock)

    @abc.abstractmethod
    async def open(self) -> None:
        """Start reading; a missing device is not an error here (it is retried), a bad config is."""

    @abc.abstractmethod
    def events(self) -> AsyncIterator[Event]:
        """The device's events, until close() or the end of a finite input."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Stop reading and release the device; safe to call twice."""

    async def __aenter__(self) -> Source:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def health(self) -> Health:
        with self._lock:
            return Health(
                device=self.name, driver=self.driver, connected=self._connected,
                last_event_at=self._last_event_at, last_error=self._last_error,
                last_error_at=self._last_error_at, accepted=self._accepted, rejected=self._rejected,
                suppressed=self._suppressed, reconnects=self._reconnects,
                rejects_by_reason=dict(self._reasons), reconnected_at=self._reconnected_at,
                connected_since=self._connected_since, condition=self._condition,
            )

    # -- bookkeeping the drivers call (from any thread) -------------------------------

    def _accepted_event(self, event: Event, *, count: bool = True) -> Event:
        """Note an event going out; `count` it as an accepted frame unless the reading was counted already."""
        with self._lock:
            if count:
                self._accepted += 1
            self._last_event_at = event.at
        return event

    def _count_accepted(self) -> None:
        with self._lock:
            self._accepted += 1

    def _suppress(self) -> None:
        with self._lock:
            self._suppressed += 1

    def _reject(self, reason: str, detail: object = "", *, quiet: bool = False) -> None:
        """Count a rejected frame or poll; log the first of its reason, then a count a minute.

        `quiet` counts without logging, for failures the driver already logs once per outage.
        """
        with self._lock:
            self._rejected += 1
            self._reasons[reason] += 1
        if quiet:
            return
        shown = detail if isinstance(detail, str) else repr(detail)
        self._reject_log.occurred(self.name, reason, "frame rejected device=%s reason=%s detail=%s",
                                  self.name, reason, shown[:80])

    def _flush_reject_log(self, *, everything: bool = False) -> None:
        """Write the per-minute counts of rejected frames that are due (all of them when the device closes)."""
        self._reject_log.flush(everything=everything)

    def _mark_connected(self, where: str) -> None:
        """The device answered: log it once after a loss (or on the very first open)."""
        with self._lock:
            if self._connected:
                return
            self._connected = True
            self._connected_since = self._wall()
            first = not self._ever_connected
            self._ever_connected = True
            down_for = None if self._down_since is None else self._clock() - self._down_since
            self._down_since = None
            if not first:
                self._reconnects += 1
                self._reconnected_at = self._connected_since
        if first and down_for is None:
            log.info("device connected device=%s driver=%s at=%s", self.name, self.driver, where)
        else:
            log.info("device available again device=%s driver=%s at=%s down_for=%.1fs",
                     self.name, self.driver, where, down_for or 0.0)

    def _set_condition(self, condition: str | None) -> None:
        """A connected device is (or is no longer) unfit for work; logged once each way."""
        with self._lock:
            before, self._condition = self._condition, condition
        if before == condition:
            return
        if condition is None:
            log.info("device condition cleared device=%s driver=%s was=%s", self.name, self.driver, before)
        else:
            log.warning("device condition device=%s driver=%s condition=%s", self.name, self.driver, condition)

    def _mark_lost(self, error: BaseException | str) -> None:
        """The device failed: record the error every time, log only the first failure of an outage."""
        text = str(error) or type(error).__name__
        with self._lock:
            self._last_error = text
            self._last_error_at = self._wall()
            was_up = self._connected or self._down_since is None
            self._connected = False
            if self._down_since is None:
                self._down_since = self._clock()
        if was_up:
            log.warning("device unavailable device=%s driver=%s error=%s", self.name, self.driver, text)


_END = object()  # queued by the worker when it stops; ends events()


class ThreadedSource(Source):
    """A source whose device I/O runs in its own worker thread, reconnecting with backoff.

    Subclasses implement `_session()`: open the device, call `_mark_connected()`, read and
    `_publish()` events until `self._stop` is set (return False) or the input has ended for
    good (return True). Raise DeviceUnavailable when the device fails; the loop here logs it
    once, waits with backoff and calls `_session()` again.
    """

    reconnect_initial: ClassVar[float] = 0.1

    def __init__(self, name: str, *, reconnect_max: float = 1.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, clock=clock, wall=wall)
        if isinstance(reconnect_max, bool) or not reconnect_max > 0:
            raise DriverError(f"device {name!r}: reconnect_max must be a positive number of seconds")
        self._backoff = Backoff(min(self.reconnect_initial, reconnect_max), reconnect_max)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue[list[Event] | object] | None = None
        self._slots = threading.Semaphore(_QUEUE_BATCHES)

    def _prepare(self) -> None:
        """Check, on open() and in the caller's thread, what a config mistake would break (libraries)."""

    @abc.abstractmethod
    def _session(self) -> bool:
        """One connection's lifetime (see the class docstring)."""

    async def open(self) -> None:
        if self._thread is not None:
            raise DriverError(f"device {self.name!r} is already open")
        self._prepare()
        self._loop = asyncio.get_running_loop()
        self._queue = asyncio.Queue()
        self._slots = threading.Semaphore(_QUEUE_BATCHES)  # batches left unread by a previous open are gone
        self._stop.clear()
        self._thread = threading.Thread(target=self._worker, name=f"driver:{self.name}", daemon=True)
        self._thread.start()

    async def events(self) -> AsyncIterator[Event]:
        if self._queue is None:
            raise DriverError(f"device {self.name!r}: open() before iterating events()")
        while True:
            batch = await self._queue.get()
            if batch is _END:
                self._queue.put_nowait(_END)  # a second iterator (or a late one) ends too
                return
            self._slots.release()
            for event in batch:  # type: ignore[union-attr]
                yield event

    async def close(self) -> None:
        thread = self._thread
        if thread is None:
            return
        self._stop.set()
        await asyncio.to_thread(thread.join, _JOIN_TIMEOUT)
        if thread.is_alive():
            log.warning("device worker did not stop in time device=%s", self.name)
        self._thread = None

    def _worker(self) -> None:
        try:
            while not self._stop.is_set():
                try:
                    if self._session():
                        return
                    continue  # the session returned because close() was called
                except DeviceUnavailable as err:
                    self._mark_lost(err)
                except Exception as err:  # a driver bug must not take the daemon down: log, retry
                    log.exception("driver failed device=%s driver=%s", self.name, self.driver)
                    self._mark_lost(err)
                self._between_sessions(self._backoff.next())
        finally:
            with self._lock:
                self._connected = False
            self._flush_reject_log(everything=True)
            self._call_on_loop(_END)

    def _between_sessions(self, delay: float) -> None:
        """Wait before reconnecting; sources whose state ages with time (silence) keep ticking here."""
        self._flush_reject_log()
        self._stop.wait(delay)

    def _mark_connected(self, where: str) -> None:
        self._backoff.reset()
        super()._mark_connected(where)

    def _publish(self, events: list[Event]) -> None:
        """Hand events to the loop (worker thread); waits while the consumer is behind.

        Every driver's read loop passes here often, so it also writes the reject counts that are due.
        """
        self._flush_reject_log()
        if not events:
            return
        while not self._slots.acquire(timeout=0.2):
            if self._stop.is_set():
                return  # closing and nobody is reading: dropping is all that is left
        self._call_on_loop(events)

    def _call_on_loop(self, item: object) -> None:
        loop, queue = self._loop, self._queue
        if loop is None or queue is None:
            return
        try:
            loop.call_soon_threadsafe(queue.put_nowait, item)
        except RuntimeError:  # the loop is closed: the daemon is gone, so is the consumer
            self._stop.set()
