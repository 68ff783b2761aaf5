"""What the station last heard from HQ, turned into the link state people see.

A broker connection alone says nothing of HQ: HQ may be down behind a working broker, or the
link may carry nothing useful for minutes. So the link is judged by what comes back:
- `offline`: no broker connection (or the sync process is not running: its mark goes stale);
- `hq_silent`: connected, but no verified message from HQ for `HQ_SILENT_AFTER_S`; while idle,
  the station asks for one (`ping`, answered by `pong` with HQ's downlink heads) every `PING_EVERY_S`;
- `stalled`: HQ answers, but events wait unacked, or HQ's downlink heads stay ahead of what the
  station applied, with no progress for `STALLED_AFTER_S`;
- `online`: otherwise.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from datetime import datetime

from edge.store.outbox import pending_count
from sync.envelope import DOWN_LOG_STREAMS
from sync.station import state

PING_EVERY_S = 15.0
HQ_SILENT_AFTER_S = 45.0
STALLED_AFTER_S = 60.0


class LinkWatch:
    def __init__(self, monotonic: Callable[[], float], *, ping_every_s: float = PING_EVERY_S,
                 silent_after_s: float = HQ_SILENT_AFTER_S, stalled_after_s: float = STALLED_AFTER_S) -> None:
        self._monotonic = monotonic
        self.ping_every_s = ping_every_s
        self.silent_after_s = silent_after_s
        self.stalled_after_s = stalled_after_s
        self._lock = threading.Lock()
        self._heard: tuple[float, datetime] | None = None  # (monotonic, wall) of HQ's last verified message
        self._down_heads: dict[str, int] = {}  # HQ's downlink heads, from its last pong
        self._progress: tuple[int, int] | None = None  # (acked, applied) sums at the last change
        self._progress_at = 0.0
        self._stalled_since: datetime | None = None
        self._connected_at = 0.0

    def heard(self, wall: datetime, heads: dict[str, int] | None = None) -> bool:
        """A verified message from HQ arrived (a pong brings HQ's downlink heads); True if that is
        news (HQ had not been heard, or not lately): the link state should be judged again now."""
        with self._lock:
            now = self._monotonic()
            news = self._heard is None or now - self._heard[0] >= self.silent_after_s
            self._heard = (now, wall)
            if heads is not None:
                self._down_heads = {s: h for s, h in heads.items() if s in DOWN_LOG_STREAMS and isinstance(h, int)}
        return news

    def connected(self) -> None:
        """The broker connection is (again) up: HQ gets `silent_after_s` to answer."""
        with self._lock:
            self._connected_at = self._monotonic()

    def ping_due(self, last_ping: float) -> bool:
        """Whether to ask HQ for a pong: nothing heard for a while, and not asked lately."""
        now = self._monotonic()
        with self._lock:
            quiet = self._heard is None or now - self._heard[0] >= self.ping_every_s
        return quiet and now - last_ping >= self.ping_every_s

    def judge(self, conn: sqlite3.Connection, connected: bool, wall: datetime) -> str:
        """The link state now, recorded in `sync_link` (in the caller's write transaction)."""
        now = self._monotonic()
        epoch = state.current_epoch(conn)
        acked = conn.execute("SELECT coalesce(sum(acked_upto), 0) FROM sync_uplink WHERE epoch = ?",
                             (epoch,)).fetchone()[0]
        applied = {s: state.applied_upto(conn, s) for s in DOWN_LOG_STREAMS}
        waiting = pending_count(conn) > 0
        with self._lock:
            waiting = waiting or any(head > applied.get(s, 0) for s, head in self._down_heads.items())
            marks = (acked, sum(applied.values()))
            if marks != self._progress or not waiting:
                self._progress, self._progress_at, self._stalled_since = marks, now, None
            elif now - self._progress_at >= self.stalled_after_s and self._stalled_since is None:
                self._stalled_since = wall
            heard = self._heard
            if not connected:
                link = "offline"
            elif heard is None and now - self._connected_at < self.silent_after_s:
                link = "offline"  # just connected: HQ's welcome is on its way
            elif heard is None or now - heard[0] >= self.silent_after_s:
                link = "hq_silent"
            elif self._stalled_since is not None:
                link = "stalled"
            else:
                link = "online"
            state.set_link(conn, link, wall, heard_at=heard[1] if heard else None,
                           stalled_since=self._stalled_since)
        return link
