"""What the daemon benchmarks share: a throw-away station, a `station-edge run` process, READY and RSS.

The daemon is started as systemd would: a process with NOTIFY_SOCKET pointing at a datagram
socket made here, so start-to-READY is measured the way a unit's start-up is.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOKEN_KEY = "BENCH-1-scan-signing-key"
WASH_BAYS = 10  # W00 .. W09 in the booking benchmark's station


def station_config(*, devices: str = "") -> str:
    """The booking benchmark's always-open station, with a token key and `devices`."""
    from booking import BAYS_PER_KIND, bench_config

    assert BAYS_PER_KIND == WASH_BAYS
    # the first technician carries card 0000000001 for the clock-in reader
    config = bench_config().replace('id = "T00"\nname = "Tech 0"\n', 'id = "T00"\nname = "Tech 0"\ncard_id = "0000000001"\n')
    # the benchmarks scan tomorrow's bookings too: here a car may check in up to two days early
    return config + f'\n[booking]\nearly_arrival_minutes = 2880\n\n[security]\ntoken_key = "{TOKEN_KEY}"\n{devices}'


class Daemon:
    """`station-edge run` on a data directory, its log in a file (a pipe nobody reads would fill up)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.log_path = data_dir.parent / "daemon.log"
        self.notify_path = data_dir.parent / "notify.sock"
        self.process: subprocess.Popen | None = None
        self._notify: socket.socket | None = None

    def start(self, timeout: float = 30.0) -> float:
        """Start the process; returns the seconds until it sent READY=1."""
        if self.notify_path.exists():
            self.notify_path.unlink()
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(self.notify_path))
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path), "PYTHONPATH": str(ROOT)}
        log = self.log_path.open("ab")
        began = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "edge.cli.main", "--data-dir", str(self.data_dir), "run"],
            env=env, stdout=log, stderr=log)
        self._wait_for("READY=1", timeout)
        return time.perf_counter() - began

    def _wait_for(self, wanted: str, timeout: float) -> None:
        assert self._notify is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._notify.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                if wanted in self._notify.recv(4096).decode().splitlines():
                    return
            except TimeoutError:
                break
        raise RuntimeError(f"the daemon sent no {wanted}; see {self.log_path}")

    def rss_mb(self) -> float:
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS in /proc status")

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._notify is not None:
            self._notify.close()
        return code


class PtyPair:
    """A socat pseudo-terminal pair: the daemon opens `device`, the benchmark writes to `host`."""

    def __init__(self, directory: Path) -> None:
        self.device, self.host = str(directory / "device"), str(directory / "host")
        self.process = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={self.device}", f"pty,raw,echo=0,link={self.host}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not (os.path.exists(self.device) and os.path.exists(self.host)):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("socat did not make its ptys (apt-get install socat)")
            time.sleep(0.005)
        self.fd = os.open(self.host, os.O_RDWR | os.O_NOCTTY)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(self.fd, view):]

    def close(self) -> None:
        os.close(self.fd)
        self.process.terminate()
        self.process.wait(timeout=5)

