"""Real parts for sync tests: a Mosquitto the test can kill, station and HQ keys, an HQ
database (a SQLite file, or a schema of its own in the local PostgreSQL), sync runners."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from edge.config import SyncSettings
from edge.services.station import Station, open_station, utc_now
from edge.store.outbox import append_event
from sync.hq.db import create_schema, open_engine, transaction
from sync.hq.service import HqService
from sync.mqtt import BrokerSettings
from sync.signing import Keyring, Signer
from sync.station.client import StationSync
from tests.drivers.conftest import MOSQUITTO
from tests.pg_server import postgres_url
from tests.sync.limits import shipped_limits
from tests.drivers.conftest import Broker as _Broker
from tests.stations import make_station

STATION_ID = "TST-001"
REPO = Path(__file__).resolve().parents[2]


class Broker(_Broker):
    """The driver tests' broker, plus a kill -9."""

    def kill(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGKILL)
            self._process.wait()
            self._process = None

    @property
    def settings(self) -> BrokerSettings:
        return BrokerSettings(host="127.0.0.1", port=self.port, keepalive_s=5)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not os.path.exists(MOSQUITTO):
        pytest.skip("mosquitto is not installed (apt-get install mosquitto)")
    running = Broker(tmp_path)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def shipped_broker(tmp_path: Path) -> Iterator[Broker]:
    """A broker with the shipped config's packet and queue limits (its TLS and ACLs are tested
    in test_broker_security.py)."""
    running = Broker(tmp_path)
    with running.config.open("a", encoding="utf-8") as config:
        config.write("\n".join(shipped_limits()) + "\n")
    running.start()
    yield running
    running.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def hq_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """HQ's database URL: a fresh SQLite file, or a fresh schema in a PostgreSQL (the machine's,
    or one the test session starts: the PostgreSQL variant never skips)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'hq.db'}"
        return
    server = postgres_url()
    schema = f"hq_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield f"{server}?options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def hq_engine(hq_url: str) -> Iterator[Any]:
    engine = open_engine(hq_url)
    create_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite_hq(tmp_path: Path) -> Iterator[Any]:
    """HQ on a SQLite file alone, for tests about the station's side."""
    engine = open_engine(f"sqlite:///{tmp_path / 'hq.db'}")
    create_schema(engine)
    yield engine
    engine.dispose()


@dataclass
class Keys:
    station: Signer
    hq: Signer
    station_key: Path  # the station's private key file
    station_pubs: Path  # HQ's keyring directory (stations' public keys)
    hq_key: Path
    hq_pubs: Path  # the station's keyring directory (HQ's public keys)

    def hq_keyring(self) -> Keyring:
        return Keyring.load(self.station_pubs)


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    station, hq = Signer.generate(f"{STATION_ID}-2026"), Signer.generate("HQ-2026")
    station_key, _ = station.save(tmp_path / "station-keys")
    hq_key, _ = hq.save(tmp_path / "hq-keys")
    station_pubs, hq_pubs = tmp_path / "station-pubs", tmp_path / "hq-pubs"
    station.publish(station_pubs)
    hq.publish(hq_pubs)
    return Keys(station, hq, station_key, station_pubs, hq_key, hq_pubs)


def sync_settings(broker: Broker, keys: Keys, **overrides: Any) -> SyncSettings:
    values = {"broker_host": "127.0.0.1", "broker_port": broker.port, "signing_key": str(keys.station_key),
              "hq_keys": str(keys.hq_pubs), "ack_timeout_s": 2, "batch_max_events": 200, **overrides}
    return SyncSettings(**values)


def sync_toml(broker: Broker, keys: Keys, **overrides: Any) -> str:
    settings = sync_settings(broker, keys, **overrides)
    lines = [f"{k} = {v!r}" if isinstance(v, int) and not isinstance(v, bool) else f'{k} = "{v}"'
             for k, v in settings.model_dump(exclude_none=True).items() if not isinstance(v, bool)]
    return "\n[sync]\n" + "\n".join(lines) + "\n"


@pytest.fixture
def station(tmp_path: Path) -> Iterator[Station]:
    """A test station whose clock is real time (HLC stamps and HQ's clock must agree)."""
    made = make_station(tmp_path)
    made.clock = utc_now
    yield made
    made.store.close()


class Running:
    """Something with run(stop_event) in a thread of its own."""

    def __init__(self, target: Callable[[threading.Event], None]) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=target, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(20)
        assert not self.thread.is_alive(), "sync thread did not stop"


@pytest.fixture
def runners() -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for running in reversed(started):
        running.stop()


def start_hq(runners: list[Running], engine: Any, keys: Keys, broker: Broker, **options: Any) -> HqService:
    service = HqService(engine, keys.hq_keyring(), keys.hq, broker.settings, **options)
    runners.append(Running(service.run))
    return service


def start_station_sync(runners: list[Running], station: Station, settings: SyncSettings) -> StationSync:
    sync = StationSync(station, settings)
    runners.append(Running(sync.run))
    return sync


def wait_until(predicate: Callable[[], Any], *, timeout: float = 30.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what or predicate}"
        time.sleep(0.05)


def make_events(station: Station, count: int, *, types: tuple[str, ...] = ("member.updated", "booking.confirmed",
                "payment.received", "booking.checked_in"), prefix: str = "e") -> list[str]:
    """`count` outbox events spread over streams; their idem_keys."""
    keys: list[str] = []
    now = utc_now()
    for start in range(0, count, 500):
        with station.store.write() as conn:
            for i in range(start, min(count, start + 500)):
                key = f"{prefix}-{i}"
                append_event(conn, event_type=types[i % len(types)], entity_id=f"ent-{i % 97}",
                             idem_key=key, body={"n": i}, now=now)
                keys.append(key)
    return keys


def open_epoch(station: Station) -> str:
    with station.store.read() as conn:
        return conn.execute("SELECT epoch FROM node WHERE id = 1").fetchone()[0]


def station_keys(station: Station) -> set[str]:
    with station.store.read() as conn:
        return {r[0] for r in conn.execute("SELECT idem_key FROM outbox")}


def backlog(station: Station) -> int:
    with station.store.read() as conn:
        return conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]


def hq_rows(engine: Any, sql: str, **params: Any) -> list[tuple]:
    with transaction(engine) as session:
        return [tuple(r) for r in session.execute(text(sql), params)]


def hq_keys(engine: Any) -> list[str]:
    return [r[0] for r in hq_rows(engine, "SELECT idem_key FROM hq_event")]


def station_cli(*args: str, **popen: Any) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "edge.cli.main", *args], cwd=REPO, **popen)


def reopen(station: Station) -> Station:
    """Another Station on the same files (as another process would have)."""
    return open_station(station.store.path.parent)
