"""Terminal UI benchmark: how soon the board shows another process's commit, and how long the UI takes to start.

(a) refresh: a writer process flips a bay's sensed occupancy (as the daemon does) and notes
    the moment its COMMIT returned; the board (the real app, headless, in this process)
    is watched until its bay row shows the new state. p50/p99 over N changes. Baseline in
    the same run: the board's own read (`load_board`) in this process, and the UI's
    data_version poll interval, which bounds the wait for a change to be noticed.
(b) start: `station-edge tui` on a pseudo-terminal, from exec to the first plate of the
    day drawn on screen; median of a few starts. Baseline: a Python that only imports
    textual and the station services.

The station is the demo's (edge.cli.demo.prepare): five bays and a seeded day.

Usage: python bench/tui.py [--quick] [--changes N]
Headline figures come last, one per line: refresh_p50_ms=, refresh_p99_ms=, tui_start_s=.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import os
import pty
import random
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.cli.demo import EXAMPLE_CONFIG, prepare  # noqa: E402
from edge.services import live_state  # noqa: E402
from edge.services.station import open_station, utc_now  # noqa: E402

BAY = "F1"  # the film bay: no simulated sensor in the bench, so only the writer changes it
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def writer(data_dir: str) -> None:
    """The other process: on each line from stdin flip the bay, then print the monotonic time of the commit."""
    station = open_station(data_dir)
    state = "free"
    for _line in sys.stdin:
        state = "occupied" if state == "free" else "free"
        live_state.record_occupancy(station, BAY, state, source="bench", now=utc_now())
        print(f"{state} {time.monotonic()}", flush=True)  # CLOCK_MONOTONIC: one clock for every process here


async def refresh_latencies(data_dir: Path, changes: int) -> tuple[list[float], float]:
    """Milliseconds from the writer's commit to the board showing it; and the UI's poll interval (ms)."""
    from tui.app import WATCH_SECONDS, StationApp

    station = open_station(data_dir)
    app = StationApp(station, language="en")
    process = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--writer", str(data_dir), stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, env=ENV)
    latencies = []
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            while not app.screen.loads:
                await pilot.pause(0.01)
            bays = app.screen.query_one("#bays")
            # the columns fit the panel: find the state's by its heading
            state_column = [str(column.label) for column in bays.columns.values()].index("State")
            for _ in range(changes):
                process.stdin.write(b"flip\n")
                await process.stdin.drain()
                state, committed = (await process.stdout.readline()).decode().split()
                while not str(bays.get_row(BAY)[state_column]).startswith(state):
                    await pilot.pause(0.002)
                latencies.append((time.monotonic() - float(committed)) * 1000)
                await pilot.pause(random.uniform(0, 0.05))  # not in step with the poll
    finally:
        process.stdin.close()
        await process.wait()
        station.store.close()
    return latencies, WATCH_SECONDS * 1000


def board_read_ms(data_dir: Path, runs: int) -> float:
    from tui.board_data import load_board

    station = open_station(data_dir)
    try:
        times = []
        for _ in range(runs):
            began = time.perf_counter()
            load_board(station)
            times.append((time.perf_counter() - began) * 1000)
        return statistics.median(times)
    finally:
        station.store.close()


def start_seconds(data_dir: Path, runs: int) -> float:
    """Median seconds from exec to the first plate on the board, `station-edge tui` on a 120x40 pty."""
    times = []
    for _ in range(runs):
        began = time.monotonic()
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(sys.executable, [sys.executable, "-m", "edge.cli.main", "--data-dir", str(data_dir), "tui",
                                       "--lang", "en"], {**ENV, "TERM": "xterm-256color", "COLUMNS": "120",
                                                         "LINES": "40"})
        screen = b""
        try:
            while "沪".encode() not in screen:
                if time.monotonic() - began > 60:
                    raise RuntimeError("the UI did not show the day's bookings within 60 s")
                if select.select([fd], [], [], 0.5)[0]:
                    screen += os.read(fd, 65536)
            times.append(time.monotonic() - began)
            os.write(fd, b"q")
            deadline = time.monotonic() + 20
            while not os.waitpid(pid, os.WNOHANG)[0]:
                if time.monotonic() > deadline:
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(OSError):
                    if select.select([fd], [], [], 0.1)[0]:
                        os.read(fd, 65536)  # keep the terminal drained while it quits
        finally:
            os.close(fd)
    return statistics.median(times)


def import_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        began = time.monotonic()
        subprocess.run([sys.executable, "-c", "import textual.app, edge.services.station"], check=True, env=ENV)
        times.append(time.monotonic() - began)
    return statistics.median(times)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer changes and starts (ends within ~30 s)")
    parser.add_argument("--changes", type=int, help="store changes to time (default 200, 40 with --quick)")
    parser.add_argument("--writer", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.writer:
        writer(args.writer)
        return
    changes = args.changes or (40 if args.quick else 200)
    starts = 2 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="bench-tui-"))
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the demo's own greeting
            prepare(work / "station", EXAMPLE_CONFIG).store.close()
        data_dir = work / "station"
        read_ms = board_read_ms(data_dir, 20)
        latencies, poll_ms = asyncio.run(refresh_latencies(data_dir, changes))
        p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
        print(f"(a) board read in-process (load_board): {read_ms:.1f} ms; UI polls data_version every {poll_ms:.0f} ms")
        print(f"    commit in another process -> board shows it, {changes} changes: p50 {p50:.0f} ms, "
              f"p99 {p99:.0f} ms, max {max(latencies):.0f} ms ({p50 / (poll_ms / 2 + read_ms):.2f}x the expected "
              f"half a poll plus one read)")
        bare = import_seconds(starts)
        start = start_seconds(data_dir, starts)
        print(f"(b) station-edge tui to the day's bookings on screen: {start:.2f} s, median of {starts} "
              f"({start / bare:.1f}x a bare `import textual.app, edge.services.station` at {bare:.2f} s)")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"board_read_ms={read_ms:.1f}")
    print(f"import_s={bare:.2f}")
    print(f"refresh_vs_expected_ratio={p50 / (poll_ms / 2 + read_ms):.2f}")
    print(f"refresh_p50_ms={p50:.0f}")
    print(f"refresh_p99_ms={p99:.0f}")
    print(f"tui_start_s={start:.2f}")


if __name__ == "__main__":
    main()
