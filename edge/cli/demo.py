"""`station-edge demo`: a whole station on this machine, the first thing a newcomer runs.

It creates a station from config.example.toml (in a temporary directory, or `--dir`),
books a busy morning, starts the daemon (`station-edge run`) with simulated devices that
bring the next hour's cars in through the gate camera and the QR scanner, clock the
technicians in and watch the bays, and opens the forecourt UI on top. Without a terminal
(or with `--script`) it prints what the station sees every few seconds instead.

Every process it starts runs in a process group of its own and is stopped (SIGTERM, then
SIGKILL) when the demo ends: by `q` or Ctrl+C in the UI, Ctrl+C in the script, or SIGTERM.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path

from edge.cli.demo_day import demo_config, demo_zone, devices_toml, drop_tables, local_clock, seed_day
from edge.cli.demo_hq import find_mosquitto, start_hq
from edge.cli.tui_commands import run_app
from edge.services import bookings
from edge.services.setup import init_station
from edge.services.station import CONFIG_FILENAME, DB_FILENAME, Station, open_station

EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "config.example.toml"
# the example config's staff, named on the demo's sign-in screen
DEMO_PINS = "demo PIN: 周敏 2580 · 赵小燕 1357 · 孙磊 2468 · card CARD-1001"
STOP_SECONDS = 10.0  # a child that has not exited this long after SIGTERM is killed
NARRATE_EVERY = 3.0
_PR_SET_PDEATHSIG = 1


def run(args: argparse.Namespace) -> int:
    temporary = not args.dir
    data_dir = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="station-edge-demo-"))
    interactive = not args.script and sys.stdin.isatty() and sys.stdout.isatty()
    try:
        station = prepare(data_dir, Path(args.config) if args.config else EXAMPLE_CONFIG)
        with children(data_dir) as start, stop_on_sigterm():
            link_to_hq(data_dir, station.settings.station.id, start)
            station.store.close()
            station = open_station(data_dir)  # with the [sync] just written: the board names the link, not "off"
            start("daemon", [sys.executable, "-m", "edge.cli.main", "--data-dir", str(data_dir), "run"])
            if interactive:
                run_app(station, language=args.lang, log=data_dir / "tui.log", verbose=args.verbose,
                        sign_in_hint=DEMO_PINS)
            else:
                narrate(station, seconds=args.seconds)
        station.store.close()
    except KeyboardInterrupt:
        print("\ndemo stopped", file=sys.stderr)
    finally:
        if temporary:
            shutil.rmtree(data_dir, ignore_errors=True)
    if not temporary:
        print(f"The demo station stays in {data_dir}; open it again with\n"
              f"  station-edge demo --dir {data_dir}      (daemon and UI)\n"
              f"  station-edge --data-dir {data_dir} tui  (the UI alone)")
    return 0


def prepare(data_dir: Path, example: Path) -> Station:
    """The demo station in `data_dir`: created and seeded the first time, reopened as it is after that."""
    if (data_dir / DB_FILENAME).is_file():
        station = open_station(data_dir)
        _say(f"Demo station {station.settings.station.id} reopened in {data_dir}")
        return station
    data_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    zone = demo_zone(now)
    config = data_dir / CONFIG_FILENAME
    example_text = example.read_text(encoding="utf-8")
    config.write_text(demo_config(example_text, zone), encoding="utf-8")
    station = init_station(config, data_dir)
    day = seed_day(station, now)
    tokens = {b.id: bookings.booking_token(station, b.id) for b in day.booked
              if station.settings.security.token_key and b.state in ("confirmed", "checked_in")}
    config.write_text(demo_config(example_text, zone, devices_toml(day, tokens, list(station.catalog().bays))),
                      encoding="utf-8")
    station.store.close()
    station = open_station(data_dir)  # with its devices, checked as the daemon will read them
    _say(f"Demo station {station.settings.station.id} in {data_dir}: {len(day.booked)} bookings today"
         f" ({len(day.arriving)} cars due within the hour), {len(station.settings.devices)} simulated devices.\n"
         f"Its time zone is {zone} (UTC{local_clock(zone, now, '%z')}) so the working day is under way"
         f" (local time {local_clock(zone, now)}).")
    return station


def link_to_hq(data_dir: Path, station_id: str, start) -> None:
    """Start a local HQ when Mosquitto is installed and point the station's [sync] at it; else leave it offline."""
    config = data_dir / CONFIG_FILENAME
    try:
        hq = start_hq(data_dir / "hq", station_id, start)
    except (OSError, RuntimeError, subprocess.SubprocessError) as err:
        _say(f"HQ not started ({err}); the station works offline and its outbox waits.")
        hq = None
    if hq is None and find_mosquitto() is None:
        _say("Mosquitto is not installed: HQ stays offline and the outbox backlog grows (apt-get install mosquitto).")
    text = drop_tables(config.read_text(encoding="utf-8"), ("sync",))
    config.write_text(text + ("\n" + hq.sync_toml() if hq else ""), encoding="utf-8")
    if hq is not None:
        _say(f"HQ runs on this machine: Mosquitto on 127.0.0.1:{hq.port} and one `station-edge hq run` worker.")


@contextlib.contextmanager
def children(log_dir: Path) -> Iterator:
    """`start(name, argv)` runs a process in a group of its own (log in `log_dir`); all are stopped on exit."""
    started: list[subprocess.Popen] = []

    def start(name: str, argv: Sequence[str]) -> subprocess.Popen:
        with open(log_dir / f"{name}.log", "ab") as log:
            process = subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True, preexec_fn=_die_with_parent)
        started.append(process)
        return process

    try:
        yield start
    finally:
        stop_all(started)


def stop_all(processes: Sequence[subprocess.Popen]) -> None:
    """SIGTERM to each process group (last started first), SIGKILL to what is left after STOP_SECONDS."""
    for process in reversed(processes):
        _signal_group(process, signal.SIGTERM)
    deadline = time.monotonic() + STOP_SECONDS
    for process in reversed(processes):
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
        _signal_group(process, signal.SIGKILL)  # anything the process left behind in its group


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


def _die_with_parent() -> None:
    """In the child, before exec: the kernel sends SIGTERM if the demo dies without stopping it (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@contextlib.contextmanager
def stop_on_sigterm() -> Iterator[None]:
    """SIGTERM to the demo stops it like Ctrl+C (the UI installs its own handler while it runs)."""

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def narrate(station: Station, *, seconds: float, every: float = NARRATE_EVERY) -> None:
    """Print a line of what the board shows every few seconds (the demo without a terminal)."""
    from tui.board_data import load_board  # the board's own reading, so the script tells what the UI shows

    _say(f"Running for {seconds:g} s (Ctrl+C stops); the daemon's log is daemon.log in the data directory.")
    deadline = time.monotonic() + seconds
    while True:
        board = load_board(station)
        _say(board_line(station, board))
        if time.monotonic() + every > deadline:
            return
        time.sleep(every)


def board_line(station: Station, board) -> str:
    bays = " ".join(f"{row.bay.id}:{row.state}" for row in board.bays)
    on_site = sum(1 for b in board.bookings if b.state in ("checked_in", "in_service"))
    alerts = ", ".join(f"{a.kind} {a.subject}" for a in board.alerts) or "none"
    return (f"{station.local(board.now):%H:%M:%S}  bays {bays} | on site {on_site}, expected {len(board.arrivals)}"
            f" | alerts: {alerts} | HQ {board.sync.link}, {board.sync.backlog} queued")


def _say(text: str) -> None:
    print(text, flush=True)
