"""Log a repeating device problem once, then a count a minute: a noisy scanner must not flood the journal.

The first occurrence of a (device, reason) pair is logged in full, with its detail. Later
occurrences are only counted; at most once every `interval` seconds one summary line says
how many there were ("device qr-1: 312 more frames rejected (reason=not_text) in the last
60 s"). A pair that has been quiet for a whole interval is logged in full again when it
recurs. `flush()` writes the summaries that are due (or all of them, when a device closes),
so a burst that stops is still summed up without waiting for its next occurrence.

The counts kept for the device's health are the caller's; this only decides what is logged.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

SUMMARY_INTERVAL = 60.0  # seconds between two log lines about the same device and reason


@dataclass
class _Pending:
    logged_at: float  # when the last line about this pair was written
    count: int = 0  # occurrences since that line


class RateLimitedLog:
    """First occurrence logged, then one summary line per device and reason per interval (thread-safe)."""

    def __init__(self, logger: logging.Logger, what: str, *, level: int = logging.WARNING,
                 interval: float = SUMMARY_INTERVAL, clock: Callable[[], float] = time.monotonic) -> None:
        self.logger, self.what, self.level = logger, what, level
        self.interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str], _Pending] = {}

    def occurred(self, device: str, reason: str, message: str, *args: object, exc_info: bool = False) -> None:
        """One occurrence: log `message % args` if it is the first in an interval, else count it."""
        now = self._clock()
        summary = None
        with self._lock:
            pending = self._pending.get((device, reason))
            if pending is not None and now - pending.logged_at < self.interval:
                pending.count += 1
                return
            if pending is not None and pending.count:  # due: this one ends the interval's summary
                summary = (pending.count + 1, now - pending.logged_at)
            self._pending[(device, reason)] = _Pending(now)
        if summary is None:
            self.logger.log(self.level, message, *args, exc_info=exc_info)
        else:
            self._summarise(device, reason, *summary)

    def flush(self, *, everything: bool = False) -> None:
        """Write the summaries that are due (`everything`: all counts not yet logged, as on close)."""
        now = self._clock()
        due = []
        with self._lock:
            for (device, reason), pending in self._pending.items():
                if pending.count and (everything or now - pending.logged_at >= self.interval):
                    due.append((device, reason, pending.count, now - pending.logged_at))
                    pending.logged_at, pending.count = now, 0
        for item in due:
            self._summarise(*item)

    def _summarise(self, device: str, reason: str, count: int, seconds: float) -> None:
        self.logger.log(self.level, "device %s: %d more %s (reason=%s) in the last %.0f s",
                        device, count, self.what, reason, seconds)
