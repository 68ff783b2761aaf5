"""Backlog drain benchmark: a station's outbox of N events (100,000; 10,000 with --quick) sent
to HQ through a real Mosquitto until HQ has acked every one, in events/s.

Baseline in the same run, on the same broker: raw paho QoS 1 publishes/s of the same bytes, one
MQTT message per event (each event's envelope as the uplink would carry it alone), waiting for
every PUBACK, with at most paho's default in-flight window of 20 unacknowledged. The ratio says what batching,
signing, HQ's commit-before-ack and the station's own acks cost or win against sending each
event on its own and trusting the PUBACK (which durability forbids, see docs/protocol.md).

The station sync runs in this process; HQ is a real `station-edge hq run` worker process with a
SQLite database. Plain TCP on 127.0.0.1.

Usage: python bench/sync_drain.py [--quick] [--events N]
Headline figures come last, one per line: drain_events_per_s=, raw_publish_per_s=, drain_ratio=.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from edge.config import SyncSettings  # noqa: E402
from edge.services.setup import init_station  # noqa: E402
from edge.services.station import utc_now  # noqa: E402
from edge.store.outbox import append_event  # noqa: E402
from sync.envelope import batch_message, encode, up_topic  # noqa: E402
from sync.signing import Signer  # noqa: E402
from sync.station.client import StationSync  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
CONFIG = ROOT / "tests" / "stations.py"
RAW_WINDOW = 20  # paho's default in-flight window
EVENT_TYPES = ("payment.received", "booking.confirmed", "booking.checked_in", "member.updated")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_broker(work: Path) -> tuple[subprocess.Popen, int]:
    port = free_port()
    config = work / "mosquitto.conf"
    # no queue limits: the raw baseline must not be throttled by the broker's defaults either
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      "max_queued_messages 0\nmax_inflight_messages 0\n", encoding="utf-8")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return broker, port
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit("mosquitto did not start")
            time.sleep(0.05)


def make_station(work: Path, events: int):
    from tests.stations import TEST_CONFIG

    config = work / "station.toml"
    config.write_text(TEST_CONFIG, encoding="utf-8")
    station = init_station(config, work / "data")
    now = utc_now()
    for start in range(0, events, 5000):
        with station.store.write() as conn:
            for i in range(start, min(events, start + 5000)):
                append_event(conn, event_type=EVENT_TYPES[i % len(EVENT_TYPES)], entity_id=f"bk-{i % 997}",
                             idem_key=f"bench-{i}", body={"plate": "沪A12345", "bay_id": "L1", "n": i}, now=now)
    return station


def single_event_payloads(station, count: int) -> list[tuple[str, bytes]]:
    """Each event as the uplink would carry it alone: the same envelope, one event, unsigned."""
    sid = station.settings.station.id
    with station.store.read() as conn:
        rows = conn.execute("SELECT epoch, stream, seq, type, entity_id, idem_key, hlc, body FROM outbox"
                            " ORDER BY stream, seq LIMIT ?", (count,)).fetchall()
    out = []
    for r in rows:
        event = {"seq": r["seq"], "type": r["type"], "entity_id": r["entity_id"], "idem_key": r["idem_key"],
                 "hlc": r["hlc"], "body": json.loads(r["body"])}
        message = batch_message(sid, r["epoch"], r["stream"], [event], head=r["seq"], known_acked=0)
        out.append((up_topic(sid, r["stream"]), encode(message)))
    return out


def raw_publish_rate(port: int, payloads: list[tuple[str, bytes]], window: int = RAW_WINDOW) -> float:
    """QoS 1 publishes/s, at most `window` unacknowledged at a time (handing paho all of them at
    once would measure paho's queue, which rescans itself on every PUBACK)."""
    free = threading.Semaphore(window)
    done = threading.Event()
    acked = [0]

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        acked[0] += 1
        free.release()
        if acked[0] == len(payloads):
            done.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="raw-baseline", protocol=paho.MQTTv5)
    client.max_inflight_messages_set(window)
    client.on_publish = on_publish
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for topic, payload in payloads:
        free.acquire()
        client.publish(topic.replace("st/", "raw/", 1), payload, qos=1)
    if not done.wait(600):
        raise SystemExit(f"raw baseline: only {acked[0]} of {len(payloads)} PUBACKs")
    elapsed = time.perf_counter() - started
    client.disconnect()
    client.loop_stop()
    return len(payloads) / elapsed


def drain_rate(work: Path, port: int, station, events: int) -> float:
    station_key = Signer.generate(f"{station.settings.station.id}-bench")
    hq_key = Signer.generate("HQ-bench")
    station_key_path, _ = station_key.save(work / "station-keys")
    hq_key_path, _ = hq_key.save(work / "hq-keys")
    station_pubs, hq_pubs = work / "station-pubs", work / "hq-pubs"
    station_key.publish(station_pubs)
    hq_key.publish(hq_pubs)
    hq = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "hq", "run", "--db", str(work / "hq.db"),
                           "--broker", f"127.0.0.1:{port}", "--station-keys", str(station_pubs),
                           "--signing-key", str(hq_key_path)], cwd=ROOT,
                          stdout=subprocess.DEVNULL, stderr=(work / "hq.log").open("wb"))
    try:
        wait_for_log(work / "hq.log", b"mqtt connected", hq)  # HQ subscribed before the station says hello
        settings = SyncSettings(broker_host="127.0.0.1", broker_port=port, signing_key=str(station_key_path),
                                hq_keys=str(hq_pubs))
        sync = StationSync(station, settings)
        stop = threading.Event()
        started = time.perf_counter()
        thread = threading.Thread(target=sync.run, args=(stop,), daemon=True)
        thread.start()
        while True:
            with station.store.read() as conn:  # HQ's ack marks (counting the outbox would load this process)
                left = events - conn.execute("SELECT coalesce(sum(acked_upto), 0) FROM sync_uplink").fetchone()[0]
            if left == 0:
                break
            if time.perf_counter() - started > 900:
                raise SystemExit(f"drain did not finish: {left} events left")
            time.sleep(0.02)
        elapsed = time.perf_counter() - started
        stop.set()
        thread.join(20)
    finally:
        hq.terminate()
        hq.wait(20)
    return events / elapsed


def wait_for_log(path: Path, text: bytes, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while text not in path.read_bytes():
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"HQ did not start: {path.read_text(errors='replace')[-2000:]}")
        time.sleep(0.05)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="10,000 events (ends within about 30 s)")
    parser.add_argument("--events", type=int, help="outbox events (default 100,000; 10,000 with --quick)")
    args = parser.parse_args()
    events = args.events or (10_000 if args.quick else 100_000)
    with tempfile.TemporaryDirectory(prefix="sync-drain-") as tmp:
        work = Path(tmp)
        broker, port = start_broker(work)
        try:
            station = make_station(work, events)
            payloads = single_event_payloads(station, events)
            raw = raw_publish_rate(port, payloads)
            print(f"raw paho QoS 1, one message per event: {len(payloads)} messages of "
                  f"{sum(len(p) for _, p in payloads) // len(payloads)} bytes on average", flush=True)
            drain = drain_rate(work, port, station, events)
            print(f"drain: {events} events acked by HQ (SQLite), batches up to 500 events / 64 KB, window 8",
                  flush=True)
            station.store.close()
        finally:
            broker.terminate()
            broker.wait(10)
    print(f"drain_events_per_s={drain:.0f}")
    print(f"raw_publish_per_s={raw:.0f}")
    print(f"drain_ratio={drain / raw:.2f}")


if __name__ == "__main__":
    main()
