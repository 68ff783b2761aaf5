"""`station-edge run` as a real process: READY to systemd, timed rules applied, clean SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.domain.booking_state import BookingState
from edge.services import bookings
from tests.stations import TEST_CONFIG, make_station

ROOT = Path(__file__).resolve().parents[1]
# always open and a month's horizon, so bookings made "now" by the real clock are valid
CONFIG = TEST_CONFIG.split("[booking.hot_slots]")[0].replace('"08:00-18:00"', '"00:00-24:00"').replace(
    "horizon_days = 3", "horizon_days = 30")


def _receive(sock: socket.socket, wanted: str, timeout: float) -> list[str]:
    deadline = time.monotonic() + timeout
    seen: list[str] = []
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            seen.extend(sock.recv(4096).decode().splitlines())
        except TimeoutError:
            break
        if wanted in seen:
            return seen
    raise AssertionError(f"no {wanted} from the daemon; got {seen}")


def test_daemon_notifies_ready_expires_a_lapsed_hold_and_stops_on_sigterm(tmp_path):
    real_now = datetime.now(UTC)
    station = make_station(tmp_path, config=CONFIG, now=real_now - timedelta(minutes=30))
    start = (real_now + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    held = bookings.book(station, services=["WASH"], start=start, plate="沪A12345", hold=True)
    assert held.hold_until < real_now  # held 30 minutes ago for 10 minutes: lapsed, not yet swept
    station.store.close()

    notify_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(notify_path))
    env = {**os.environ, "NOTIFY_SOCKET": str(notify_path), "PYTHONPATH": str(ROOT)}
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge.cli.main", "--data-dir", str(tmp_path / "data"), "run"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        _receive(sock, "READY=1", timeout=20)
        deadline = time.monotonic() + 10
        while bookings.booking(station, held.id).state != BookingState.EXPIRED:
            assert time.monotonic() < deadline, "the daemon did not expire the lapsed hold"
            time.sleep(0.1)
        daemon.send_signal(signal.SIGTERM)
        _receive(sock, "STOPPING=1", timeout=10)
        _, stderr = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        sock.close()
        station.store.close()
    assert daemon.returncode == 0, stderr
    assert "daemon ready station=TST-001" in stderr and "daemon stopped" in stderr
    assert "Traceback" not in stderr
