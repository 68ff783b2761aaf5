"""`station-edge demo`: the seeded day, the simulated devices' config, and the whole demo under a real terminal.

The terminal test runs the demo as a newcomer would (a pseudo-terminal, the UI on top of
the daemon, the broker and HQ when Mosquitto is installed), lets the simulated cars come
in for a while, presses `q`, and checks that nothing the demo started is left running.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import time
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.cli.demo import EXAMPLE_CONFIG, prepare
from edge.cli.demo_day import demo_config, demo_zone, drop_tables, misread
from edge.cli.demo_hq import find_mosquitto
from edge.config import load_settings
from edge.domain.booking_state import BookingState
from edge.services import bookings
from edge.services.station import CONFIG_FILENAME

ROOT = Path(__file__).resolve().parents[1]


def test_the_demo_zone_puts_the_station_at_mid_morning():
    for hour in range(24):
        now = datetime(2026, 11, 23, hour, 40, tzinfo=UTC)
        assert now.astimezone(ZoneInfo(demo_zone(now))).hour == 10


def test_the_demo_config_is_the_example_without_its_hardware():
    example = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    text = demo_config(example, "Etc/GMT-3", '[[devices]]\nid = "gate"\ndriver = "sim_qr"\n')
    parsed = tomllib.loads(text)
    assert parsed["station"]["timezone"] == "Etc/GMT-3"
    assert [d["id"] for d in parsed["devices"]] == ["gate"]
    assert parsed["bays"] == tomllib.loads(example)["bays"]
    assert "sync" not in tomllib.loads(drop_tables(text + '\n[sync]\nbroker_host = "x"\n', ("sync",)))


def test_misread_swaps_one_look_alike():
    assert misread("沪A12348") == "沪A1234B"
    assert misread("苏E5S820") == "苏E5S82D"


def test_prepare_seeds_a_day_under_way_and_simulated_devices_for_its_arrivals(tmp_path):
    station = prepare(tmp_path / "demo", EXAMPLE_CONFIG)
    try:
        settings = load_settings(tmp_path / "demo" / CONFIG_FILENAME)
        drivers = {d.id: d.driver for d in settings.devices}
        assert set(drivers.values()) == {"sim_anpr", "sim_qr", "sim_clock_in", "sim_occupancy"}
        today = station.local(station.clock()).date()
        states = [b.state for b in bookings.bookings_on(station, today)]
        assert BookingState.COMPLETED in states and BookingState.CONFIRMED in states
        assert BookingState.CHECKED_IN in states or BookingState.IN_SERVICE in states
        anpr = next(d for d in settings.devices if d.driver == "sim_anpr")
        confirmed = {b.plate for b in bookings.bookings_on(station, today) if b.state == BookingState.CONFIRMED}
        assert set(anpr.options["plates"]) & confirmed  # the gate camera brings the day's cars
    finally:
        station.store.close()
    reopened = prepare(tmp_path / "demo", EXAMPLE_CONFIG)  # a second run keeps the station as it is
    try:
        assert len(bookings.bookings_on(reopened, today)) == len(states)
    finally:
        reopened.store.close()


def test_without_a_terminal_the_demo_narrates_and_stops(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "demo", "--dir", str(tmp_path / "demo"), "--seconds", "12"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Demo station SH-PD-001 in ")
    assert sum(" bays W1:" in line for line in lines) >= 2
    if find_mosquitto():  # the demo's own broker and HQ worker: the link comes up and the backlog drains
        assert "HQ runs on this machine" in result.stdout
        assert any("HQ online" in line for line in lines), lines
        # sync is configured from the start: the board never calls it switched off
        assert all("HQ off," not in line for line in lines), lines
    else:
        assert all("HQ online" not in line for line in lines)
    assert "Traceback" not in result.stderr
    assert _running(tmp_path) == []


def _running(folder: Path) -> list[str]:
    """'pid: command line' of live processes that mention `folder` (the demo's children all do)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (entry / "status").read_text().splitlines() if line.startswith("State:")),
                         "")
        except OSError:
            continue
        if str(folder) in cmdline and "zombie" not in state:
            found.append(f"{entry.name}: {cmdline}")
    return found


class Terminal:
    """A process on a pseudo-terminal of 100x30: what it drew so far, keys typed into it."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the demo, with the pty as its terminal
            os.execvpe(argv[0], argv, env)
        import fcntl
        import struct
        import termios

        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        self.output = b""

    def read_until(self, predicate, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not predicate(self.output.decode("utf-8", errors="replace")):
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out; the screen so far ends with {self.output[-600:]!r}"
            self.drain(min(0.5, remaining))

    def drain(self, timeout: float) -> None:
        """Read what the program drew within `timeout` (unread, a full terminal buffer would stop it)."""
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if ready:
            try:
                self.output += os.read(self.fd, 65536)
            except OSError:  # the child closed the terminal
                time.sleep(timeout)

    def pump(self, seconds: float) -> None:
        """Let the program run (and draw) for a while."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.drain(0.2)

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def wait(self, timeout: float) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.drain(0.2)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, signal.SIGKILL)
        raise AssertionError(f"the demo did not stop within {timeout}s")


@pytest.mark.slow
def test_the_demo_runs_under_a_terminal_and_q_stops_everything_it_started(tmp_path):
    folder = tmp_path / "demo"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TERM": "xterm-256color", "LANG": "C.UTF-8"}
    terminal = Terminal([sys.executable, "-m", "edge.cli.main", "demo", "--dir", str(folder), "--lang", "en"], env)
    try:
        # the terminal opens at the sign-in screen, which names the demo's PINs; the manager's card signs in
        terminal.read_until(lambda text: "Sign in to start work" in text and "demo PIN" in text, timeout=90)
        terminal.type(b"CARD-1001\r")
        terminal.read_until(lambda text: "(manager)" in text and "Next arrivals" in text, timeout=60)
        daemon_log = folder / "daemon.log"
        deadline = time.monotonic() + 60
        while "daemon ready" not in (daemon_log.read_text() if daemon_log.exists() else ""):
            assert time.monotonic() < deadline, "the daemon did not start"
            terminal.drain(0.5)
        started = _running(tmp_path)
        assert any(line.endswith(" run ") for line in started), started  # the daemon, among the demo's children
        terminal.read_until(lambda text: "沪" in text, timeout=30)  # the day's bookings on the board
        terminal.pump(5)  # the simulated devices bring cars in
        terminal.type(b"q")
        assert terminal.wait(timeout=60) == 0
        left = _running(tmp_path)
    finally:
        for line in _running(tmp_path):  # a failed run must not leave its children to the next test
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    assert left == []
    assert "Traceback" not in terminal.output.decode("utf-8", errors="replace")
    log = (folder / "daemon.log").read_text()
    assert "daemon stopped" in log and "Traceback" not in log


@pytest.mark.slow
def test_a_demo_killed_outright_takes_its_children_with_it(tmp_path):
    folder = tmp_path / "demo"
    demo = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "demo", "--dir", str(folder), "--seconds", "120"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 90
        while "daemon ready" not in ((folder / "daemon.log").read_text() if (folder / "daemon.log").exists() else ""):
            assert time.monotonic() < deadline and demo.poll() is None, "the demo's daemon did not start"
            time.sleep(0.2)
        assert len(_running(tmp_path)) >= 2  # the demo and its daemon (and the broker and HQ with Mosquitto)
        demo.kill()  # no chance to clean up: the kernel's parent-death signal does it
        demo.wait()
        deadline = time.monotonic() + 30
        while _running(tmp_path):
            assert time.monotonic() < deadline, f"left behind: {_running(tmp_path)}"
            time.sleep(0.2)
    finally:
        for line in _running(tmp_path):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
