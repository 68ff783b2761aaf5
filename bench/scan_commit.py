"""Scan-to-commit latency: a booking QR written to the scanner's pty until its check-in is committed.

The real path: socat pty -> qr_serial driver thread -> daemon event loop -> token check ->
check-in transaction (WAL, synchronous=FULL) in a `station-edge run` process. The
benchmark writes one token line, polls the booking's row from its own connection until
it reads `checked_in`, and only then writes the next one. Baseline in the same run: the
same token check and check-in called in-process on the same database (no device, no
daemon), so the ratio is what the device path adds.

Usage: python bench/scan_commit.py [--quick] [--scans N]
Headline figures come last, one per line: scan_commit_p50_ms=, scan_commit_p99_ms=.
"""

from __future__ import annotations

import argparse
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import TOKEN_KEY, WASH_BAYS, Daemon, PtyPair, station_config

from edge.domain.tokens import issue_token
from edge.services import arrivals, bookings, live_state
from edge.services.setup import init_station
from edge.services.station import open_station

WARM_UP = 5  # first scans load code paths and caches: not counted


def make_bookings(station, count: int) -> list:
    """`count` confirmed washes spread over the bays from tomorrow on."""
    first = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
    made = []
    cell = 0
    while len(made) < count:
        start = first + timedelta(minutes=30 * (cell // WASH_BAYS))
        bay = f"W{cell % WASH_BAYS:02d}"
        made.append(bookings.book(station, services=["WASH"], start=start, plate=f"沪A{len(made):05d}", bay_id=bay))
        cell += 1
    return made


def token_for(booking_id: str) -> str:
    now = datetime.now(UTC)
    return issue_token(booking_id, "BENCH-1", now - timedelta(hours=1), now + timedelta(hours=3), TOKEN_KEY.encode())


def direct_ms(station, booked: list) -> list[float]:
    """The baseline: verify the token and check in, in-process, one booking at a time."""
    samples = []
    for booking in booked:
        token = token_for(booking.id)
        began = time.perf_counter()
        arrivals.arrive(station, token, by=arrivals.By.QR)
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def scans_ms(db_path: Path, scanner: PtyPair, booked: list, timeout: float = 10.0) -> list[float]:
    samples = []
    watch = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        for booking in booked:
            line = token_for(booking.id).encode() + b"\r\n"
            began = time.perf_counter()
            scanner.write(line)
            while watch.execute("SELECT state FROM booking WHERE id = ?", (booking.id,)).fetchone()[0] != "checked_in":
                if time.perf_counter() - began > timeout:
                    raise RuntimeError(f"booking {booking.code} not checked in after {timeout} s")
                time.sleep(0.0002)
            samples.append((time.perf_counter() - began) * 1000)
    finally:
        watch.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run that ends within ~30 s")
    parser.add_argument("--scans", type=int, help="scans to time (default 1000, --quick 150)")
    args = parser.parse_args()
    scans = args.scans or (150 if args.quick else 1000)
    baseline = min(200, scans)
    work = Path(tempfile.mkdtemp(prefix="bench-scan-"))
    scanner = PtyPair(work)
    daemon = Daemon(work / "data")
    try:
        device = f'\n[[devices]]\nid = "entrance-qr"\ndriver = "qr_serial"\noptions = {{ url = "{scanner.device}" }}\n'
        config = work / "station.toml"
        config.write_text(station_config(devices=device), encoding="utf-8")
        station = init_station(config, work / "data")
        booked = make_bookings(station, baseline + WARM_UP + scans)
        direct = direct_ms(station, booked[:baseline])
        station.store.close()

        ready_s = daemon.start()
        station = open_station(work / "data")  # the benchmark's own view, to see the device connected
        deadline = time.monotonic() + 10
        while not any(h.connected for h in live_state.device_health(station)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the scanner never connected; see {daemon.log_path}")
            time.sleep(0.05)
        station.store.close()
        timed = scans_ms(work / "data" / "station.db", scanner, booked[baseline:])[WARM_UP:]
        code = daemon.stop()
        if code != 0:
            raise RuntimeError(f"the daemon exited {code}; see {daemon.log_path}")
    finally:
        if daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        scanner.close()
        shutil.rmtree(work, ignore_errors=True)

    p50, p99 = statistics.median(timed), statistics.quantiles(timed, n=100)[98]
    direct_p50 = statistics.median(direct)
    print(f"daemon READY after {ready_s:.2f} s")
    print(f"in-process token check + check-in (baseline): p50 {direct_p50:.2f} ms over {len(direct)}")
    print(f"scanner pty -> daemon -> committed:           p50 {p50:.2f} ms, p99 {p99:.2f} ms, "
          f"max {max(timed):.2f} ms over {len(timed)} scans")
    print(f"direct_p50_ms={direct_p50:.3f}")
    print(f"scan_vs_direct_ratio={p50 / direct_p50:.2f}")
    print(f"scan_commit_p50_ms={p50:.3f}")
    print(f"scan_commit_p99_ms={p99:.3f}")


if __name__ == "__main__":
    main()
