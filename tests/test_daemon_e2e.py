"""`station-edge run` end to end: a real daemon process reading pty-backed devices and a real local MQTT broker.

Hardware played by the test: a QR scanner at the entrance and one at a bay (socat ptys), an
ANPR camera's line protocol (pty), an EM4100 clock-in reader (pty), and bay presence sensors
publishing on a Mosquitto started for the test. The test polls the database (generous
timeouts, never timing assertions) for what the daemon must have done.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from edge.domain.booking_state import BookingState, Progress
from edge.domain.slots import local_day
from edge.domain.tokens import issue_token
from edge.services import bookings, live_state
from edge.services.availability import free_starts
from tests.drivers.conftest import MOSQUITTO, SOCAT, Broker, PtyPair
from tests.stations import TEST_CONFIG, make_station
from tests.test_daemon import _receive

ROOT = Path(__file__).resolve().parents[1]
KEY = "TST-001-test-signing-key"
CARD_FRAME_BODY = b"0A0047112F"  # version 0x0A, id 0x0047112F = 4657455 printed on the card
WAIT = 20.0


def _card_frame(body: bytes) -> bytes:
    xor = 0
    for byte in bytes.fromhex(body.decode()):
        xor ^= byte
    return b"\x02" + body + f"{xor:02X}".encode() + b"\x03"


def _midday_zone() -> str:
    """A fixed-offset zone where it is around noon now: the day has cells left before and after."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # -12 .. 11 hours
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-8 is UTC+8


def _config(tmp_path: Path, port: int) -> str:
    config = TEST_CONFIG.split("[booking.hot_slots]")[0].replace('"08:00-18:00"', '"00:00-24:00"')
    config = config.replace('timezone = "Asia/Shanghai"', f'timezone = "{_midday_zone()}"')
    # Wang (T1) is the only mechanic, and has a card; Li only details cars
    config = config.replace('id = "T1"\nname = "Wang"\nskills = ["mechanic"]',
                            'id = "T1"\nname = "Wang"\nskills = ["mechanic"]\ncard_id = "0004657455"')
    config = config.replace('id = "T2"\nname = "Li"\nskills = ["mechanic"]', 'id = "T2"\nname = "Li"\nskills = ["detail"]')
    config = config.replace('[[bays]]\nid = "L1"', '[[bays]]\nid = "W2"\nname = "Wash 2"\nkind = "wash"\n\n[[bays]]\nid = "L1"')
    devices = {
        "entrance-qr": ("qr_serial", "entrance", None, f'url = "{tmp_path}/entrance/device"'),
        "bay-w1-qr": ("qr_serial", "bay", "W1", f'url = "{tmp_path}/bay/device"'),
        "gate-anpr": ("anpr", "entrance", None, f'url = "{tmp_path}/anpr/device", lane = "1"'),
        "clock": ("clock_in", "entrance", None, f'url = "{tmp_path}/clock/device"'),
        "bay-sensors": ("occupancy_mqtt", "bay", "W2",
                        f'port = {port}, delay_on = 0.0, delay_off = 0.0, silence_timeout = 2.0, reconnect_max = 0.5,'
                        ' bays = [{ bay = "W2", topic = "sensors/bay-w2", kind = "presence" }]'),
    }
    for device_id, (driver, role, bay, options) in devices.items():
        config += f'\n[[devices]]\nid = "{device_id}"\ndriver = "{driver}"\nrole = "{role}"\n'
        config += f'bay = "{bay}"\n' if bay else ""
        config += f"options = {{ {options} }}\n"
    return config + f'\n[security]\ntoken_key = "{KEY}"\n'


def until(condition: Callable[[], object], what: str, timeout: float = WAIT) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


@contextlib.contextmanager
def running_daemon(tmp_path: Path) -> Iterator[tuple[socket.socket, subprocess.Popen]]:
    """`station-edge run` on the station in tmp_path/data, telling systemd's notify socket (bound here) its
    state; killed on the way out if the test did not stop it."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    daemon = subprocess.Popen(
        [sys.executable, "-m", "edge.cli.main", "--data-dir", str(tmp_path / "data"), "run"],
        env={**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": str(tmp_path / "notify.sock")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield notify, daemon
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate()
        notify.close()


def stop_daemon(notify: socket.socket, daemon: subprocess.Popen) -> str:
    """SIGTERM, as systemd stops it: it says STOPPING and exits 0 without a traceback; its stderr."""
    daemon.send_signal(signal.SIGTERM)
    _receive(notify, "STOPPING=1", timeout=WAIT)
    _, stderr = daemon.communicate(timeout=WAIT)
    assert daemon.returncode == 0, stderr
    assert "Traceback" not in stderr, stderr
    return stderr


@pytest.fixture
def hardware(tmp_path):
    if not (os.path.exists(SOCAT) and os.path.exists(MOSQUITTO)):
        pytest.skip("socat and mosquitto are needed")
    ptys = {}
    for name in ("entrance", "bay", "anpr", "clock"):
        (tmp_path / name).mkdir()
        ptys[name] = PtyPair(tmp_path / name)
        ptys[name].plug()
    broker = Broker(tmp_path)
    broker.start()
    yield ptys, broker
    broker.stop()
    for pair in ptys.values():
        pair.unplug()


def test_the_daemon_runs_the_station_from_its_devices(tmp_path, hardware):
    ptys, broker = hardware
    now = datetime.now(UTC)
    station = make_station(tmp_path, config=_config(tmp_path, broker.port), now=now)
    station.clock = lambda: datetime.now(UTC)
    # the next half hour: both cars are expected now (from early_arrival_minutes before their start)
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=30 if now.minute < 30 else 60)
    today = local_day(now, station.tz)
    by_qr = bookings.book(station, services=["WASH"], start=start, plate="沪A12345", bay_id="W1")
    by_plate = bookings.book(station, services=["WASH"], start=start, plate="苏E54321", bay_id="W2")
    look_alike = bookings.book(station, services=["WASH"], start=start + timedelta(minutes=30), plate="京B88888")
    token = issue_token(by_qr.id, "TST-001", start - timedelta(hours=2), start + timedelta(hours=2), KEY.encode())
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    def lifts_today() -> set[str]:
        return {o.bay_id for o in free_starts(station, day=today, services=["OIL"], now=datetime.now(UTC))}

    assert lifts_today() == set()  # a clock-in reader is configured and Wang has not clocked in

    with running_daemon(tmp_path) as (notify, daemon):
        sensors = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-bay-sensors")
        try:
            _receive(notify, "READY=1", timeout=WAIT)
            # the daemon reports every device connected (its health rows) once it reads them all
            until(lambda: len(live_state.device_health(station)) == 5
                  and all(h.connected for h in live_state.device_health(station)), "every device connected")

            ptys["entrance"].write(forged.encode() + b"\r\n")
            until(lambda: _device(station, "entrance-qr").rejected >= 1, "the forged token refused")
            assert bookings.booking(station, by_qr.id).state == BookingState.CONFIRMED

            ptys["entrance"].write(token.encode() + b"\r\n")
            until(lambda: bookings.booking(station, by_qr.id).state == BookingState.CHECKED_IN, "check-in by QR")
            ptys["bay"].write(token.encode() + b"\r\n")  # the same QR at the bay reader: the car is in its bay
            until(lambda: bookings.booking(station, by_qr.id).progress == Progress.IN_BAY, "in bay by QR")

            ptys["anpr"].write("京B8888B,0.81,1\r\n".encode())  # a look-alike read: the attendant is asked
            prompt = until(lambda: live_state.open_prompts(station), "a plate prompt")[0]
            assert [c.booking_id for c in prompt.candidates] == [look_alike.id]
            ptys["anpr"].write("苏E·54321,0.95,1\r\n".encode())  # an exact read checks the car in
            until(lambda: bookings.booking(station, by_plate.id).state == BookingState.CHECKED_IN, "check-in by plate")
            assert bookings.booking(station, look_alike.id).state == BookingState.CONFIRMED

            ptys["clock"].write(_card_frame(CARD_FRAME_BODY) * 3)  # held on the reader: one presentation
            until(lambda: [t.technician_id for t in live_state.technicians_on_shift(station)] == ["T1"], "Wang clocked in")
            clocked_in = time.monotonic()
            assert lifts_today() == {"L1", "L2"}

            sensors.connect("127.0.0.1", broker.port)
            sensors.loop_start()
            sensors.publish("sensors/bay-w2", "on", qos=1).wait_for_publish(5)
            until(lambda: live_state.bay_states(station)["W2"].occupancy == "occupied", "bay W2 occupied")
            until(lambda: bookings.booking(station, by_plate.id).progress == Progress.IN_BAY, "in bay by sensor")
            assert live_state.bay_states(station)["W2"].source == "bay-sensors"
            # the sensor falls silent: after its timeout the bay is unknown
            until(lambda: live_state.bay_states(station)["W2"].occupancy == "unknown", "bay W2 unknown")

            time.sleep(max(0.0, live_state.CARD_REPEAT.total_seconds() + 0.5 - (time.monotonic() - clocked_in)))
            ptys["clock"].write(_card_frame(CARD_FRAME_BODY))
            until(lambda: live_state.technicians_on_shift(station) == [], "Wang clocked out")
            assert lifts_today() == set()  # the only mechanic left: no lift work for the rest of today
            assert free_starts(station, day=today + timedelta(days=1), services=["OIL"])  # tomorrow: the roster

            def counts() -> dict[str, tuple[int, int]]:  # rewritten every few seconds by the daemon
                return {h.device_id: (h.accepted, h.rejected) for h in live_state.device_health(station)}

            until(lambda: counts()["clock"][0] == 2, "the clock-out counted in the device health")
            assert counts()["entrance-qr"] == (2, 1) and counts()["gate-anpr"] == (2, 0)

            stderr = stop_daemon(notify, daemon)
        finally:
            sensors.loop_stop()
    assert "reason=token_altered" in stderr
    assert "daemon stopped" in stderr
    # the daemon's last word on its devices: all closed
    assert not any(h.connected for h in live_state.device_health(station))
    station.store.close()


def _device(station, device_id: str) -> live_state.DeviceHealth:
    return next(h for h in live_state.device_health(station) if h.device_id == device_id)
