"""A TCP relay that makes a local connection behave like a bad wide-area link.

Tests and benchmarks put it between a client and a server (a station and its MQTT broker): the
client connects to ``relay.port`` and each accepted connection is forwarded to the target. The
kernel on the test machines has no ``netem`` queueing discipline, so the link is emulated here in
user space, each direction on its own ("up" = client to target, "down" = target to client):

* one-way latency plus uniform jitter per piece; bytes are never reordered within a direction;
* a bandwidth cap: a piece of n bytes holds the link for n*8/bandwidth seconds and pieces queue
  behind each other; reads are cut into pieces of at most one TCP segment (1460 bytes);
* stalls: with some probability a piece is held an extra random time and everything behind it
  waits too. This is how a retransmission after packet loss looks to the application: a
  head-of-line delay, with nothing lost or corrupted;
* a blackhole: while it is on, bytes read from either side are DISCARDED and nothing is closed,
  like a dead route. Afterwards new bytes flow again, but the streams that were open have a hole,
  so the endpoints are expected to notice (keepalive timeout) and reconnect. An end of stream is
  not discarded: it waits until the blackhole is lifted;
* ``cut()``: every open connection is reset at once.

Settings may change while connections are open; a change applies to the bytes read after it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
from collections import deque
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any, Literal

Direction = Literal["up", "down"]
SEGMENT = 1460  # bytes per piece: one TCP segment on Ethernet
_READ_SIZE = 65536
_MAX_QUEUED = 1 << 20  # bytes held per direction before the relay stops reading (backpressure)
_MAX_WRITE = 1 << 18  # due pieces are joined into writes of at most this many bytes


@dataclass(frozen=True)
class _Impairment:
    latency_s: float = 0.0
    jitter_s: float = 0.0
    bandwidth_bps: float = 0.0  # 0: unlimited
    stall_probability: float = 0.0
    stall_s: tuple[float, float] = (0.2, 1.0)

    def __post_init__(self) -> None:
        if min(self.latency_s, self.jitter_s, self.bandwidth_bps, *self.stall_s) < 0:
            raise ValueError("link settings cannot be negative")
        if not 0.0 <= self.stall_probability <= 1.0:
            raise ValueError("stall_probability must be within [0, 1]")


class _Lane:
    """One direction of one connection: pieces waiting for their delivery time, in order."""

    def __init__(self) -> None:
        self.items: deque[tuple[float, bytes | None]] = deque()  # (due time, bytes; None = end of stream)
        self.queued = 0
        self.last_due = 0.0  # delivery times never go backwards: this keeps the order
        self.link_free = 0.0  # when the capped link has finished sending what is queued
        self.has_items = asyncio.Event()
        self.has_space = asyncio.Event()

    def push(self, due: float, piece: bytes | None) -> None:
        self.items.append((due, piece))
        self.queued += len(piece or b"")
        self.has_items.set()

    def pop_due(self, now: float) -> bytes:
        parts: list[bytes] = []
        size = 0
        while self.items and self.items[0][1] is not None and self.items[0][0] <= now and size < _MAX_WRITE:
            piece = self.items.popleft()[1]
            assert piece is not None
            parts.append(piece)
            size += len(piece)
        self.queued -= size
        self.has_space.set()
        return b"".join(parts)

    def drop_data(self) -> None:
        """The blackhole: forget the queued bytes, keep an end of stream."""
        self.items = deque(item for item in self.items if item[1] is None)
        self.queued = 0
        self.has_space.set()


def _close(writer: asyncio.StreamWriter, *, reset: bool) -> None:
    if reset:  # SO_LINGER 0: close() sends a RST instead of a FIN
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()


class LinkRelay:
    """Listens on 127.0.0.1:``port`` and forwards each connection to the target through an impaired link.

    An asyncio loop in one background thread does the work; the public methods are thread-safe.
    ``bandwidth_bps`` None or 0 means unlimited. A relay runs once: start(), then stop().
    """

    def __init__(self, target_port: int, *, target_host: str = "127.0.0.1", latency_s: float = 0.0,
                 jitter_s: float = 0.0, bandwidth_bps: float | None = None, stall_probability: float = 0.0,
                 stall_s: tuple[float, float] = (0.2, 1.0), seed: int | None = None) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._impairment = _Impairment(latency_s, jitter_s, bandwidth_bps or 0.0, stall_probability, stall_s)
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._delivered: dict[str, int] = {"up": 0, "down": 0}
        self._accepted = 0
        self._blackholed = False
        self._stopped = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: asyncio.Server | None = None
        self._route_open = asyncio.Event()  # the loop's copy of "not blackholed", to wait on
        self._handlers: set[asyncio.Task[None]] = set()
        self._lanes: set[_Lane] = set()

    # -- control, from any thread --------------------------------------------------------------

    def start(self) -> LinkRelay:
        """Start listening (``self.port`` is set when this returns)."""
        with self._lock:
            if self._thread is not None:
                return self
            self._loop = asyncio.new_event_loop()
            self._thread = threading.Thread(target=self._run, name="link-relay", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._open(), self._loop).result(timeout=10)
        return self

    def stop(self) -> None:
        """Reset every connection, close the listener and join the thread; a second call does nothing."""
        with self._lock:
            if self._loop is None or self._thread is None or self._stopped:
                return
            self._stopped = True
        asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)

    def impair(self, *, latency_s: float | None = None, jitter_s: float | None = None,
               bandwidth_bps: float | None = None, stall_probability: float | None = None,
               stall_s: tuple[float, float] | None = None) -> None:
        """Change the link; None leaves a setting as it is, ``bandwidth_bps=0`` lifts the cap."""
        changes: dict[str, Any] = {"latency_s": latency_s, "jitter_s": jitter_s, "bandwidth_bps": bandwidth_bps,
                                   "stall_probability": stall_probability, "stall_s": stall_s}
        with self._lock:
            self._impairment = replace(self._impairment, **{k: v for k, v in changes.items() if v is not None})

    def clear(self) -> None:
        """A perfect link again: no latency, jitter, cap or stalls, and no blackhole."""
        with self._lock:
            self._impairment = _Impairment(stall_s=self._impairment.stall_s)
        self.blackhole(False)

    def blackhole(self, on: bool = True) -> None:
        """While on, bytes read in either direction are discarded and the connections stay open."""
        self._blackholed = on
        if self._loop is not None and not self._stopped:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._apply_blackhole, on)

    def cut(self) -> None:
        """Reset (RST) every open connection on both sides; the listener stays open."""
        if self._loop is not None and not self._stopped:
            asyncio.run_coroutine_threadsafe(self._reset_all(), self._loop).result(timeout=10)

    def delivered_bytes(self, direction: Direction) -> int:
        """Bytes handed to the far side's socket so far: "up" to the target, "down" to the clients."""
        with self._lock:
            return self._delivered[direction]

    @property
    def connections(self) -> int:
        """Connections accepted so far."""
        with self._lock:
            return self._accepted

    def __enter__(self) -> LinkRelay:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- the loop thread -------------------------------------------------------------------------

    def _run(self) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
        finally:  # whatever is still pending is cancelled, so that its sockets get closed
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _open(self) -> None:
        if not self._blackholed:
            self._route_open.set()
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _shutdown(self) -> None:
        assert self._server is not None
        self._server.close()
        for _ in range(3):  # let connections accepted just before close() register their handler
            await asyncio.sleep(0)
        await self._reset_all()
        await self._server.wait_closed()

    async def _reset_all(self) -> None:
        handlers = list(self._handlers)
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)

    def _apply_blackhole(self, on: bool) -> None:
        if on:
            self._route_open.clear()
            for lane in self._lanes:
                lane.drop_data()
        else:
            self._route_open.set()

    async def _handle(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        with self._lock:
            self._accepted += 1
        writers, lanes, clean = [client_w], (_Lane(), _Lane()), False
        self._lanes.update(lanes)
        try:
            target_r, target_w = await asyncio.wait_for(asyncio.open_connection(*self.target), 5.0)
            writers.append(target_w)
            pumps = [asyncio.create_task(coro) for coro in (
                self._read(client_r, lanes[0]), self._write(lanes[0], target_w, "up"),
                self._read(target_r, lanes[1]), self._write(lanes[1], client_w, "down"))]
            try:
                await asyncio.gather(*pumps)
                clean = True
            finally:
                for pump in pumps:
                    pump.cancel()
                await asyncio.gather(*pumps, return_exceptions=True)
        except (OSError, asyncio.CancelledError):  # a side closed or reset, the target is down, cut() or stop()
            clean = False  # both sides are reset below, as a dead route would leave them
        finally:
            self._handlers.discard(task)
            self._lanes.difference_update(lanes)
            for writer in writers:
                _close(writer, reset=not clean)

    def _due(self, lane: _Lane, size: int) -> float:
        """When a piece of `size` bytes read now reaches the far side (size 0: the end of stream)."""
        now = asyncio.get_running_loop().time()
        link = self._impairment
        sent = now
        if size and link.bandwidth_bps > 0:
            lane.link_free = sent = max(lane.link_free, now) + size * 8 / link.bandwidth_bps
        delay = link.latency_s + (self._rng.uniform(-link.jitter_s, link.jitter_s) if link.jitter_s else 0.0)
        due = sent + max(0.0, delay)
        if size and link.stall_probability and self._rng.random() < link.stall_probability:
            due += self._rng.uniform(*link.stall_s)
        lane.last_due = max(lane.last_due, due)
        return lane.last_due

    async def _read(self, reader: asyncio.StreamReader, lane: _Lane) -> None:
        while True:
            while lane.queued >= _MAX_QUEUED and not self._blackholed:
                lane.has_space.clear()
                await lane.has_space.wait()
            data = await reader.read(_READ_SIZE)
            if not data:
                lane.push(self._due(lane, 0), None)
                return
            if self._blackholed:
                continue
            for start in range(0, len(data), SEGMENT):
                piece = data[start:start + SEGMENT]
                lane.push(self._due(lane, len(piece)), piece)

    async def _write(self, lane: _Lane, writer: asyncio.StreamWriter, direction: Direction) -> None:
        loop = asyncio.get_running_loop()
        while True:
            while not lane.items:
                lane.has_items.clear()
                await lane.has_items.wait()
            wait = lane.items[0][0] - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue  # look again: a blackhole may have emptied the lane meanwhile
            if lane.items[0][1] is None:  # end of stream: pass the FIN on
                await self._route_open.wait()
                if writer.can_write_eof():
                    writer.write_eof()
                return
            data = lane.pop_due(loop.time())
            if self._blackholed:
                continue
            with self._lock:  # counted first: whatever the far side has received is already counted
                self._delivered[direction] += len(data)
            writer.write(data)
            await writer.drain()
