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
from edge.services import audit, bookings
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
        assert [e.actor_id for e in audit.entries(station, action="booking.expired")] == ["daemon"]
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


def test_a_booking_qr_scanned_at_the_entrance_checks_the_car_in(tmp_path):
    from edge.domain.tokens import issue_token
    from tests.drivers.conftest import PtyPair

    pair = PtyPair(tmp_path)
    pair.plug()
    key = "TST-001-test-signing-key"
    config = CONFIG + f'''
[security]
token_key = "{key}"

[[devices]]
id = "entrance-qr"
driver = "qr_serial"
role = "entrance"
options = {{ url = "{pair.device}" }}
'''
    real_now = datetime.now(UTC)
    station = make_station(tmp_path, config=config, now=real_now)
    start = (real_now + timedelta(minutes=40)).replace(second=0, microsecond=0)
    start -= timedelta(minutes=start.minute % 30)
    booking = bookings.book(station, services=["WASH"], start=start, plate="沪A12345")
    token = issue_token(booking.id, "TST-001", start - timedelta(hours=1), start + timedelta(hours=1), key.encode())
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge.cli.main", "--data-dir", str(tmp_path / "data"), "run"],
        env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 20
        # until the daemon has the port open, what the scanner sends is lost: send both until it acts
        while bookings.booking(station, booking.id).state != BookingState.CHECKED_IN:
            assert time.monotonic() < deadline, "the scan did not check the car in"
            pair.write(forged.encode() + b"\r\n")  # rejected and logged, changes nothing
            time.sleep(0.2)
            pair.write(token.encode() + b"\r\n")
            time.sleep(0.3)
        pair.write(forged.encode() + b"\r\n")  # the port is surely open now: this one is read
        time.sleep(1.0)
        daemon.send_signal(signal.SIGTERM)
        _, stderr = daemon.communicate(timeout=20)
    finally:
        if daemon.poll() is None:
            daemon.kill()
        pair.unplug()
        station.store.close()
    assert daemon.returncode == 0, stderr
    assert "arrival refused by qr device=entrance-qr reason=token_altered" in stderr
    assert f"checked in by qr device=entrance-qr booking={booking.code}" in stderr
