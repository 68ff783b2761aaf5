"""HQ ingest benchmark: events/s that HQ stores, applies and acks for 1,000 simulated stations,
with SQLite and with PostgreSQL, with one and with two HQ workers sharing the uplink.

Stations are simulated by a load generator (a few processes, each driving hundreds of paho
MQTT v5 connections from one selector loop, one connection per station): each station says
hello with a new epoch, then sends signed batches of booking events with a bounded window of
unacked batches, resending from HQ's `acked_upto + 1` when an ack is late, with the
station's own ack timer (`sync.station.uplink.AckTimer`: the station's default timeout,
backing off while HQ makes no progress), exactly as a station would. Each HQ worker is a process running station-edge's HQ service (HqService, what
`station-edge hq run` runs); workers share `$share/hq/st/+/up/#` on a Mosquitto the benchmark
starts (plain TCP on 127.0.0.1: TLS cost is the broker's, not HQ's). The timed phase starts
once every station has said hello (HQ registered its epoch) and ends at HQ's last ack. A run counts only events covered by HQ's acks, and checks at the
end that HQ's database holds every event exactly once (no loss, no duplicate effect).

Baseline in the same run: the same load against an "echo" HQ that acks each batch as soon as
it arrives, without verifying or storing anything (the ceiling of generator plus broker);
each configuration is printed as a ratio to it.

Usage: python bench/hq_ingest.py [--quick] [--stations N] [--events N] [--no-postgres]
Headline figures come last, one per line: the configurations, then hq_ingest_events_per_s=
(the best configuration).
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing as mp
import os
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from queue import Empty

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import paho.mqtt.client as paho  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from edge.domain.hlc import Hlc  # noqa: E402
from sync.envelope import batch_message, decode, encode, new_message, up_topic  # noqa: E402
from sync.signing import Signer  # noqa: E402
from sync.station.uplink import AckTimer, UplinkLimits  # noqa: E402

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
STREAM = "booking"
HELLO_AGAIN_AFTER_S = 60.0  # only for a hello lost on the way: HQ answers a thousand in well under that
GENERATOR_PROCESSES = 3  # one selector loop per process, a few hundred connections each


def station_ids(count: int) -> list[str]:
    return [f"B{n:04d}" for n in range(1, count + 1)]


def station_signer(station_id: str) -> Signer:
    """The same key in every process: derived from the station id (a benchmark, not a secret)."""
    seed = hashlib.sha256(f"hq-ingest-bench:{station_id}".encode()).digest()
    return Signer(f"{station_id}-bench", Ed25519PrivateKey.from_private_bytes(seed))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the broker -------------------------------------------------------------------------------

@contextmanager
def mosquitto(directory: Path) -> Iterator[int]:
    """A plain Mosquitto on a free port with room for every station's burst; yields the port."""
    port = free_port()
    config = directory / "mosquitto.conf"
    config.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                      "max_queued_messages 1000000\nmax_connections -1\n", encoding="utf-8")
    log = directory / "mosquitto.log"
    with log.open("ab") as out:
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"mosquitto did not start: {log.read_text(errors='replace')}") from None
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


# -- simulated stations -------------------------------------------------------------------------

@dataclass(frozen=True)
class LoadShape:
    events: int  # per station
    batch: int  # events per message
    window: int  # unacked messages per station
    ack_timeout_s: float  # resend from acked_upto + 1 after this long without HQ's ack (then backing off)
    deadline_s: float  # a configuration gives up after this long


class SimulatedStation:
    """One station's uplink of `events` booking events: hello, then batches within a window."""

    def __init__(self, station_id: str, *, events: int, batch: int, window: int, ack_timeout_s: float,
                 port: int) -> None:
        self.station_id = station_id
        self.signer = station_signer(station_id)
        self.epoch = str(uuid.uuid4())
        self.clock_base_ms = int(time.time() * 1000)  # an event's stamp is fixed when it is made
        self.events, self.batch, self.window, self.ack_timeout_s = events, batch, window, ack_timeout_s
        self.next_seq = 1
        self.acked = 0
        self.welcomed = False
        self.sending = False  # set when the timed data phase starts, in every station at once
        self.resends = 0
        self.messages_sent = 0
        self.last_progress = time.monotonic()
        self.ack_timer = AckTimer(ack_timeout_s)
        self.done_at: float | None = None
        self.connected = False
        client = paho.Client(CallbackAPIVersion.VERSION2, client_id=station_id, protocol=paho.MQTTv5)
        client.max_inflight_messages_set(0)  # the window below bounds what is in flight
        client.on_connect = self._on_connect
        client.on_message = self._on_message
        self.client = client
        self.port = port

    def connect(self) -> socket.socket:
        self.client.connect("127.0.0.1", self.port, keepalive=120, clean_start=True)
        return self.client.socket()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if not reason_code.is_failure:
            client.subscribe(f"hq/{self.station_id}/down/#", qos=1)
            self.connected = True

    def say_hello(self) -> None:
        self.last_progress = time.monotonic()
        self._publish("hello", new_message("hello", station=self.station_id, epoch=self.epoch, applied={}))

    def _on_message(self, client, userdata, message) -> None:
        body = decode(message.payload)
        kind = body.get("kind")
        if kind == "welcome" and body.get("epoch") == self.epoch:
            self.welcomed = True
            self.last_progress = time.monotonic()
        elif kind == "ack" and body.get("epoch") == self.epoch and body.get("stream") == STREAM:
            if body["acked_upto"] > self.acked:
                self.acked = body["acked_upto"]
                self.last_progress = time.monotonic()
                self.ack_timer.progress(self.last_progress)
                if self.acked >= self.events and self.done_at is None:
                    self.done_at = self.last_progress
            self.pump()

    def start_sending(self, now: float) -> None:
        self.sending = True
        self.last_progress = now
        self.ack_timer.progress(now)
        self.pump()

    def pump(self) -> None:
        """Send batches while the window has room (the window counts events past the ack)."""
        while self.sending and self.next_seq <= self.events and self.next_seq - 1 - self.acked < self.window * self.batch:
            last = min(self.next_seq + self.batch - 1, self.events)
            events = [self._event(seq) for seq in range(self.next_seq, last + 1)]
            self._publish(STREAM, batch_message(self.station_id, self.epoch, STREAM, events,
                                                head=self.events, known_acked=self.acked))
            self.next_seq = last + 1

    def check_late(self, now: float) -> None:
        if not self.welcomed:
            if now - self.last_progress > HELLO_AGAIN_AFTER_S:
                self.resends += 1
                self.say_hello()
            return
        if self.done_at is None and self.ack_timer.expired(now):
            self.resends += 1
            self.next_seq = self.acked + 1
            self.ack_timer.back_off(now)
            self.pump()

    def _event(self, seq: int) -> dict:
        entity = f"bk_{self.station_id}_{seq}"
        return {"seq": seq, "type": "booking.created", "entity_id": entity,
                "idem_key": f"{self.station_id}:booking:{entity}:v1",
                "hlc": Hlc(self.clock_base_ms + seq, 0).encode(),  # a resend carries the same event
                "body": {"bay": "L01", "start": "2026-11-24T01:30:00Z", "end": "2026-11-24T02:30:00Z",
                         "plate": "沪A12345", "services": ["OIL", "WASH"], "price_minor": 29900,
                         "channel": "terminal"}}

    def _publish(self, stream: str, message: dict) -> None:
        self.messages_sent += 1
        self.client.publish(up_topic(self.station_id, stream), encode(self.signer.sign(message)), qos=1)


def generator(ids: list[str], port: int, load: LoadShape, ready: mp.Queue, go_hello: mp.Event,
              go_data: mp.Event, results: mp.Queue) -> None:
    """One load-generator process: its stations' connections in one selector loop.

    Phases, each started by the parent once every process is ready for it: connect; hello
    (HQ registers each station's epoch; not timed); data (timed until HQ acked every event).
    """
    stations = [SimulatedStation(sid, events=load.events, batch=load.batch, window=load.window,
                                 ack_timeout_s=load.ack_timeout_s, port=port) for sid in ids]
    selector = selectors.DefaultSelector()
    for station in stations:
        selector.register(station.connect(), selectors.EVENT_READ, station)

    def turn(timeout: float) -> None:
        for key, _ in selector.select(timeout):
            station = key.data
            station.client.loop_read(max_packets=100)
            if station.client.want_write():
                station.client.loop_write()
        for station in stations:
            if station.client.want_write():  # a write the socket could not take at once
                station.client.loop_write()

    def until(condition: Callable[[], bool], limit_s: float) -> bool:
        limit = time.monotonic() + limit_s
        last_second = time.monotonic()
        while not condition():
            turn(0.05)
            now = time.monotonic()
            if now - last_second > 1:
                last_second = now
                for station in stations:
                    station.client.loop_misc()
                    station.check_late(now)
            if now > limit:
                return False
        return True

    if not until(lambda: all(s.connected for s in stations), 60):
        raise SystemExit("load generator: stations could not connect")
    for _ in range(20):  # let the SUBACKs come back before HQ answers
        turn(0.01)
    ready.put("connected")
    go_hello.wait()
    for station in stations:
        station.say_hello()
    if not until(lambda: all(s.welcomed for s in stations), 120):
        raise SystemExit("load generator: HQ did not welcome every station")
    ready.put("welcomed")
    go_data.wait()
    started = time.monotonic()
    for station in stations:
        station.start_sending(started)
    until(lambda: all(s.done_at for s in stations), load.deadline_s)
    results.put({
        "started": started, "done": [s.done_at for s in stations], "acked": sum(s.acked for s in stations),
        "resends": sum(s.resends for s in stations), "messages": sum(s.messages_sent for s in stations),
        "unfinished": [s.station_id for s in stations if s.done_at is None],
    })
    for station in stations:
        station.client.disconnect()
        station.client.loop_write()


@dataclass
class LoadResult:
    events: int
    acked: int
    seconds: float
    resends: int
    messages: int
    unfinished: list[str]

    @property
    def events_per_s(self) -> float:
        return self.acked / self.seconds if self.seconds > 0 else 0.0


def run_load(port: int, ids: list[str], load: LoadShape) -> LoadResult:
    """Drive every station until HQ acked all its events (or the deadline)."""
    context = mp.get_context("fork")
    ready, results = context.Queue(), context.Queue()
    go_hello, go_data = context.Event(), context.Event()
    slices = [ids[n::GENERATOR_PROCESSES] for n in range(GENERATOR_PROCESSES)]
    processes = [context.Process(target=generator, daemon=True, args=(
        part, port, load, ready, go_hello, go_data, results)) for part in slices if part]
    for process in processes:
        process.start()
    try:
        for go in (go_hello, go_data):
            for _ in processes:
                _get(ready, processes, timeout=180)
            go.set()
        reports = [_get(results, processes, timeout=load.deadline_s + 60) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    started = min(r["started"] for r in reports)
    finished = [t for r in reports for t in r["done"] if t is not None]
    unfinished = [s for r in reports for s in r["unfinished"]]
    return LoadResult(
        events=load.events * len(ids), acked=sum(r["acked"] for r in reports),
        seconds=(max(finished) if finished and not unfinished else started + load.deadline_s) - started,
        resends=sum(r["resends"] for r in reports), messages=sum(r["messages"] for r in reports),
        unfinished=unfinished,
    )


def _get(queue: mp.Queue, processes: list, *, timeout: float) -> object:
    """The next item of `queue`; SystemExit if a generator process died or it takes too long."""
    limit = time.monotonic() + timeout
    while True:
        try:
            return queue.get(timeout=1)
        except Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                raise SystemExit("a load-generator process failed (see its message above)") from None
            if time.monotonic() > limit:
                raise SystemExit("the load generator did not report in time") from None


# -- HQ workers ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class HqSetup:
    """What an HQ worker needs: its database, the stations' public keys, its own key, the broker."""

    database: str  # "echo" for the baseline that stores nothing
    keys_dir: Path
    hq_key: Path
    port: int


def hq_worker(setup: HqSetup, name: str, ready: mp.Queue) -> None:
    """One HQ worker process until SIGTERM: station-edge's HqService, or the echo baseline."""
    import logging
    import threading

    logging.basicConfig(level=logging.WARNING, format=f"hq-worker-{name} %(levelname)s %(name)s %(message)s")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    if setup.database == "echo":
        link = echo_worker(setup, name)
    else:
        from sync.hq.db import open_engine
        from sync.hq.service import HqService
        from sync.mqtt import BrokerSettings
        from sync.signing import Keyring

        service = HqService(open_engine(setup.database), Keyring.load(setup.keys_dir), Signer.load(setup.hq_key),
                            BrokerSettings(host="127.0.0.1", port=setup.port), worker=name)
        link = service.link
        threading.Thread(target=service.run, args=(stop,), daemon=True).start()
    if not link.wait_connected(30):
        raise SystemExit(f"HQ worker {name} could not connect to the broker")
    time.sleep(0.5)  # its SUBACK: the shared subscription must exist before stations say hello
    ready.put(name)
    stop.wait()
    if setup.database == "echo":
        link.stop()
    else:
        time.sleep(0.5)  # service.run leaves its loop within POLL_EVERY_S and stops its link


def echo_worker(setup: HqSetup, name: str):
    """The baseline HQ: answers hello and acks each batch at once; verifies and stores nothing."""
    from sync.envelope import HQ_INGEST, down_topic
    from sync.mqtt import BrokerSettings, MqttLink, Received

    def received(message: Received) -> None:
        body = decode(message.payload)
        station = body["station"]
        if body["kind"] == "hello":
            answer = new_message("welcome", station=station, epoch=body["epoch"], uplink={})
        else:
            answer = new_message("ack", station=station, epoch=body["epoch"], stream=body["stream"],
                                 acked_upto=body["last"], rejected=[])
        link.publish(down_topic(station, "ack"), encode(answer))

    link = MqttLink(f"hq-echo-{name}", BrokerSettings(host="127.0.0.1", port=setup.port), on_message=received,
                    subscriptions=(HQ_INGEST,))
    link.start()
    return link


@contextmanager
def hq_workers(setup: HqSetup, count: int) -> Iterator[None]:
    context = mp.get_context("fork")
    ready = context.Queue()
    processes = [context.Process(target=hq_worker, args=(setup, str(n), ready), daemon=True)
                 for n in range(1, count + 1)]
    for process in processes:
        process.start()
    try:
        for _ in processes:
            _get(ready, processes, timeout=60)
        yield
    finally:
        for process in processes:
            if process.is_alive():
                os.kill(process.pid, signal.SIGTERM)
        for process in processes:
            process.join(timeout=15)
            if process.is_alive():
                process.kill()


# -- HQ databases -------------------------------------------------------------------------------

@contextmanager
def hq_database(kind: str, directory: Path, label: str) -> Iterator[str]:
    """A fresh HQ database with its schema: a SQLite file, or a PostgreSQL database dropped after."""
    from sync.hq.db import create_schema, open_engine

    if kind == "sqlite":
        url = str(directory / f"hq-{label}.db")
        engine = open_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
        return
    import psycopg

    name = f"hq_bench_{os.getpid()}_{label}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    try:
        engine = open_engine(url)
        create_schema(engine)
        engine.dispose()
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def postgres_available() -> bool:
    try:
        import psycopg

        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=3):
            return True
    except Exception as err:  # any failure to reach it means: skip the PostgreSQL configurations
        print(f"PostgreSQL at {POSTGRES_ADMIN_URL} not usable ({err}); measuring SQLite only", file=sys.stderr)
        return False


@dataclass
class Stored:
    events: int  # rows in hq_event: one per idem_key applied
    bookings: int  # hq_booking rows (one per booking entity)
    effects: int  # booking effects applied (an event applied twice would count twice)
    alerts: int


def stored(url: str) -> Stored:
    from sqlalchemy import text

    from sync.hq.db import open_engine

    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            events = conn.execute(text("SELECT count(*) FROM hq_event")).scalar_one()
            bookings, effects = conn.execute(text("SELECT count(*), coalesce(sum(events), 0) FROM hq_booking")).one()
            alerts = conn.execute(text("SELECT count(*) FROM hq_alert")).scalar_one()
    finally:
        engine.dispose()
    return Stored(events, bookings, int(effects), alerts)


# -- the benchmark ------------------------------------------------------------------------------

@dataclass
class Measured:
    name: str
    load: LoadResult
    stored: Stored | None

    @property
    def lossless(self) -> bool:
        if self.load.unfinished or self.load.acked != self.load.events:
            return False
        total = self.load.events
        return self.stored is None or (self.stored.events == total and self.stored.bookings == total
                                       and self.stored.effects == total)


def measure(name: str, database: str, workers: int, ids: list[str], directory: Path, keys_dir: Path,
            hq_key: Path, shape: LoadShape) -> Measured:
    broker_dir = directory / f"broker-{name}"
    broker_dir.mkdir()
    with hq_database(database, directory, name) if database != "echo" else _no_database() as url:
        with mosquitto(broker_dir) as port:
            setup = HqSetup(database=url, keys_dir=keys_dir, hq_key=hq_key, port=port)
            with hq_workers(setup, workers):
                load = run_load(port, ids, shape)
        result = Measured(name, load, stored(url) if database != "echo" else None)
    s = result.stored
    print(f"{name:<14} {load.acked:>8,}/{load.events:,} events acked in {load.seconds:6.2f} s = "
          f"{load.events_per_s:9,.0f} events/s; {load.messages:,} messages, {load.resends} resends"
          + (f"; HQ holds {s.events:,} events, {s.bookings:,} bookings, {s.effects:,} effects, {s.alerts} alerts"
             if s else "") + ("" if result.lossless else "  LOSS OR DUPLICATE"), flush=True)
    return result


@contextmanager
def _no_database() -> Iterator[str]:
    yield "echo"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smaller run that ends within ~30 s")
    parser.add_argument("--stations", type=int, help="simulated stations (default 1,000; quick 60)")
    parser.add_argument("--events", type=int, help="events per station (default 50; quick 40)")
    parser.add_argument("--batch", type=int, default=20, help="events per uplink message (default 20)")
    parser.add_argument("--window", type=int, default=4, help="unacked messages per station (default 4)")
    default_timeout = UplinkLimits().ack_timeout_s
    parser.add_argument("--ack-timeout", type=float, default=default_timeout,
                        help="seconds a station first waits for HQ's ack before resending; it backs off "
                             f"while HQ makes no progress (default {default_timeout:g}, the station's)")
    parser.add_argument("--deadline", type=float, help="seconds a configuration may take (default 600; quick 20)")
    parser.add_argument("--no-postgres", action="store_true", help="measure SQLite only")
    args = parser.parse_args()
    count = args.stations or (60 if args.quick else 1_000)
    shape = LoadShape(events=args.events or (40 if args.quick else 50), batch=args.batch, window=args.window,
                      ack_timeout_s=args.ack_timeout, deadline_s=args.deadline or (20.0 if args.quick else 600.0))
    if not os.path.exists(MOSQUITTO):
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < count * 2 + 256:  # the broker and the generators hold one socket per station each
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count * 2 + 256), hard))

    ids = station_ids(count)
    configurations = [("echo", "echo", 1), ("sqlite_1w", "sqlite", 1), ("sqlite_2w", "sqlite", 2)]
    if not args.no_postgres and postgres_available():
        configurations += [("postgres_1w", "postgres", 1), ("postgres_2w", "postgres", 2)]
    print(f"HQ ingest: {count:,} stations x {shape.events} booking events, {shape.batch} events a message, "
          f"window {shape.window} messages, ack timeout {shape.ack_timeout_s:.0f} s, {GENERATOR_PROCESSES} load "
          f"processes, {os.cpu_count()} CPUs", flush=True)
    with tempfile.TemporaryDirectory(prefix="hq-ingest-") as tmp:
        directory = Path(tmp)
        keys_dir = directory / "station-keys"
        for sid in ids:
            station_signer(sid).publish(keys_dir)
        hq_key, _ = Signer.generate("hq-bench").save(directory / "hq-keys")
        results = [measure(name, database, workers, ids, directory, keys_dir, hq_key, shape)
                   for name, database, workers in configurations]

    echo = results[0]
    stored_runs = [r for r in results if r.stored is not None]
    best = max(stored_runs, key=lambda r: r.load.events_per_s)
    lossless = all(r.lossless for r in results)
    for r in stored_runs:
        print(f"hq_ingest_{r.name}_vs_echo={r.load.events_per_s / echo.load.events_per_s:.3f}")
    print(f"hq_ingest_echo_events_per_s={echo.load.events_per_s:.0f}")
    print(f"hq_ingest_best_configuration={best.name}")
    print(f"hq_ingest_no_loss={'true' if lossless else 'false'}")
    print(f"hq_ingest_resends={sum(r.load.resends for r in results)}")
    print(f"hq_ingest_alerts={sum(r.stored.alerts for r in stored_runs)}")
    for r in stored_runs:
        print(f"hq_ingest_{r.name}_events_per_s={r.load.events_per_s:.0f}")
    print(f"hq_ingest_events_per_s={best.load.events_per_s:.0f}")
    return 0 if lossless else 1


if __name__ == "__main__":
    sys.exit(main())
