"""Real things for driver tests: socat pseudo-terminal pairs, a Mosquitto broker, an event collector."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.base import Source
from drivers.events import Event

SOCAT = shutil.which("socat") or "/usr/bin/socat"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class PtyPair:
    """Two linked pseudo-terminals made by socat: the driver opens `device`, the test plays the hardware on `host`.

    unplug() kills socat (the device vanishes, the link paths go); plug() starts it again
    with the same link paths, as a USB adapter coming back would.
    """

    def __init__(self, directory: Path) -> None:
        self.device = str(directory / "device")
        self.host = str(directory / "host")
        self._process: subprocess.Popen | None = None
        self._fd: int | None = None

    def plug(self, *, open_host: bool = True) -> None:
        """Start socat; `open_host=False` leaves the host end to a program that opens it itself."""
        assert self._process is None, "already plugged"
        self._process = subprocess.Popen(
            [SOCAT, f"pty,raw,echo=0,link={self.device}", f"pty,raw,echo=0,link={self.host}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.device) and os.path.exists(self.host)):
            assert time.monotonic() < deadline, "socat did not create its ptys"
            assert self._process.poll() is None, "socat exited"
            time.sleep(0.005)
        if open_host:
            self._fd = os.open(self.host, os.O_RDWR | os.O_NOCTTY)

    def unplug(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        if self._process is not None:
            self._process.send_signal(signal.SIGTERM)  # SIGTERM lets socat remove its link paths
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        for path in (self.device, self.host):  # a killed socat may leave its links behind
            if os.path.islink(path):
                os.unlink(path)

    def write(self, data: bytes) -> None:
        """Blocking write of everything (call it through asyncio.to_thread while a source reads)."""
        assert self._fd is not None, "not plugged"
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def read(self, size: int = 4096) -> bytes:
        assert self._fd is not None
        return os.read(self._fd, size)


@pytest.fixture
def pty_pair(tmp_path: Path) -> Iterator[PtyPair]:
    if not os.path.exists(SOCAT):
        pytest.skip("socat is not installed (apt-get install socat)")
    pair = PtyPair(tmp_path)
    pair.plug()
    yield pair
    pair.unplug()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """A Mosquitto process on its own port with a minimal config file; stop() and start() keep the port."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.config = directory / "mosquitto.conf"
        self.config.write_text(f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n",
                               encoding="utf-8")
        self.log = directory / "mosquitto.log"
        self._process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log.open("ab") as log:
            self._process = subprocess.Popen([MOSQUITTO, "-c", str(self.config)], stdout=log, stderr=log)
        deadline = time.monotonic() + 5
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                assert self._process.poll() is None, self.log.read_text(errors="replace")
                assert time.monotonic() < deadline, "mosquitto did not start listening"
                time.sleep(0.02)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


class Collector:
    """Consumes a source's events in the background (as the daemon would) so tests can wait for them."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.events: list[Event] = []
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async for event in self.source.events():
            self.events.append(event)

    async def until(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "") -> float:
        """Wait until predicate() holds; returns the seconds it took."""
        start = time.monotonic()
        while not predicate():
            if time.monotonic() - start > timeout:
                raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}; "
                                     f"events={self.events[-5:]} health={self.source.health()}")
            await asyncio.sleep(0.005)
        return time.monotonic() - start

    async def count(self, n: int, timeout: float = 5.0) -> list[Event]:
        await self.until(lambda: len(self.events) >= n, timeout, f"{n} events")
        return self.events

    async def finish(self) -> list[Event]:
        await self.source.close()
        await asyncio.wait_for(self.task, 5)
        return self.events


class FakeClock:
    """Monotonic time that only moves when a test says so."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()
