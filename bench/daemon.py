"""The daemon as a service: start-to-READY time and resident memory after minutes of simulated device load.

Start-to-READY is what systemd waits for (Type=notify): from exec to the READY=1 datagram
on a NOTIFY_SOCKET made here, the median of a few cold starts. Then one daemon runs under
load from simulated devices at a busy forecourt's pace and faster: a scanner reading
booking QRs (valid, already used and forged) 20 times a second, an ANPR camera reading
expected plates 10 times a second with OCR misreads (attendant prompts), occupancy sensors
on every wash bay with cars coming and going, a clock-in reader, and a scanner that unplugs
every minute. Its RSS is sampled throughout; the baseline is the RSS right after READY.

Usage: python bench/daemon.py [--quick] [--minutes M]
Headline figures come last, one per line: ready_s=, daemon_rss_mb=.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from daemon_harness import TOKEN_KEY, WASH_BAYS, Daemon, station_config

from edge.domain.tokens import issue_token
from edge.services import bookings
from edge.services.setup import init_station
from edge.services.station import open_station



def _toml(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)  # a JSON list of strings is a TOML array


def load_devices(tokens: list[str], plates: list[str]) -> str:
    forged = [token[:-4] + "AAAA" for token in tokens[:20]]
    bays = [f"W{i:02d}" for i in range(WASH_BAYS)]
    devices = [
        ("scanner", "sim_qr", f"codes = {_toml(tokens + forged)}, interval = 0.05, seed = 1"),
        ("flaky-scanner", "sim_qr", f"codes = {_toml(tokens[:10])}, interval = 0.5, outage_every = 60.0,"
                                    " outage_seconds = 2.0, seed = 2"),
        ("gate-camera", "sim_anpr", f"plates = {_toml(plates)}, interval = 0.1, misread_rate = 0.3, seed = 3"),
        ("bay-sensors", "sim_occupancy", f"bays = {_toml(bays)}, interval = 0.2, dwell_min = 2.0, dwell_max = 6.0,"
                                         " delay_on = 0.5, delay_off = 0.5, seed = 4"),
        ("clock", "sim_clock_in", 'cards = ["0000000001"], interval = 7.0, seed = 5'),
    ]
    return "".join(f'\n[[devices]]\nid = "{name}"\ndriver = "{driver}"\noptions = {{ {options} }}\n'
                   for name, driver, options in devices)


def prepare(work: Path) -> Path:
    """A station whose next hours are booked on every wash bay; returns its data directory."""
    config = work / "station.toml"
    config.write_text(station_config(), encoding="utf-8")
    station = init_station(config, work / "data")
    now = datetime.now(UTC)
    first = now.replace(minute=0, second=0, microsecond=0) + timedelta(minutes=30 if now.minute < 30 else 60)
    made = [bookings.book(station, services=["WASH"], start=first + timedelta(minutes=30 * (i // WASH_BAYS)),
                          plate=f"沪A{i:05d}", bay_id=f"W{i % WASH_BAYS:02d}") for i in range(4 * WASH_BAYS)]
    made += [bookings.book(station, services=["WASH"], start=first + timedelta(days=1, minutes=30 * (i // WASH_BAYS)),
                           plate=f"苏B{i:05d}", bay_id=f"W{i % WASH_BAYS:02d}") for i in range(200)]
    station.store.close()
    tokens = [issue_token(b.id, "BENCH-1", now - timedelta(hours=1), now + timedelta(hours=12), TOKEN_KEY.encode())
              for b in made[4 * WASH_BAYS:]]
    plates = [b.plate for b in made[:4 * WASH_BAYS]]
    config.write_text(station_config(devices=load_devices(tokens, plates)), encoding="utf-8")
    init_station(config, work / "data").store.close()
    return work / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run that ends within ~30 s")
    parser.add_argument("--minutes", type=float, help="minutes of device load (default 10, --quick 0.25)")
    args = parser.parse_args()
    seconds = 60 * (args.minutes if args.minutes is not None else (0.25 if args.quick else 10))
    starts = 3 if args.quick else 5
    work = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    daemon = None
    try:
        data_dir = prepare(work)
        ready = []
        for _ in range(starts):
            daemon = Daemon(data_dir)
            ready.append(daemon.start())
            if daemon.stop() != 0:
                raise RuntimeError(f"the daemon did not stop cleanly; see {daemon.log_path}")
        daemon = Daemon(data_dir)
        daemon.start()
        time.sleep(1.0)
        baseline = daemon.rss_mb()
        samples = [baseline]
        began = time.monotonic()
        while time.monotonic() - began < seconds:
            time.sleep(min(5.0, max(0.1, seconds - (time.monotonic() - began))))
            samples.append(daemon.rss_mb())
        final = daemon.rss_mb()
        if daemon.stop() != 0:
            raise RuntimeError(f"the daemon did not stop cleanly; see {daemon.log_path}")
        log = daemon.log_path.read_text(encoding="utf-8", errors="replace")
        station = open_station(data_dir)
        with station.store.read() as conn:
            checked_in = conn.execute("SELECT count(*) FROM booking WHERE state = 'checked_in'").fetchone()[0]
            prompts = conn.execute("SELECT count(*) FROM plate_prompt").fetchone()[0]
            occupancy = conn.execute("SELECT count(*) FROM outbox WHERE type = 'bay.occupancy'").fetchone()[0]
            health = conn.execute("SELECT device_id, accepted, rejected FROM device_health ORDER BY device_id").fetchall()
        station.store.close()
    finally:
        if daemon is not None and daemon.process is not None and daemon.process.poll() is None:
            daemon.stop()
        shutil.rmtree(work, ignore_errors=True)
    if "Traceback" in log:
        raise RuntimeError("the daemon logged a traceback under load")
    print(f"start-to-READY over {starts} starts: " + ", ".join(f"{s:.2f}" for s in ready) + " s")
    print(f"load: {seconds:.0f} s; check-ins {checked_in}, plate prompts {prompts}, occupancy changes {occupancy}")
    print("device frames accepted/rejected: " + ", ".join(f"{r[0]} {r[1]}/{r[2]}" for r in health))
    print(f"RSS after READY {baseline:.1f} MB, peak {max(samples):.1f} MB, at the end {final:.1f} MB")
    print(f"rss_after_ready_mb={baseline:.1f}")
    print(f"rss_growth_ratio={final / baseline:.2f}")
    print(f"ready_s={statistics.median(ready):.2f}")
    print(f"daemon_rss_mb={final:.1f}")


if __name__ == "__main__":
    main()
