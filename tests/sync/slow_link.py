"""A station draining its backlog to HQ over an emulated 4G-class backhaul: the station's MQTT
connection goes through a `LinkRelay` (latency, jitter, a bandwidth cap, retransmission-like
stalls), HQ and the broker sit on a clean link. Used by the slow-link test and bench/slow_link.py.

What it measures: how much of what crossed the link was events HQ acked (the rest is protocol,
signatures and anything sent twice), and the longest time without any ack while events waited.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from edge.config import SyncSettings
from edge.services.setup import init_station
from edge.services.station import utc_now
from edge.store.outbox import append_event
from sqlalchemy import select

from sync.hq.db import create_schema, open_engine, transaction
from sync.hq.downlink import enqueue_downlink
from sync.hq.tables import HqDownCursor
from sync.hq.service import HqService
from sync.mqtt import BrokerSettings
from sync.signing import Signer
from sync.station.client import StationSync
from tests.drivers.conftest import Broker
from tests.stations import TEST_CONFIG
from tests.sync.link_relay import LinkRelay
from tests.sync.limits import shipped_limits

STATION_ID = "TST-001"
# about 800 ms round trip with jitter, ~30 kbit/s each way, a third of the packets held back as if
# retransmitted after a loss
FOUR_G = {"latency_s": 0.4, "jitter_s": 0.15, "bandwidth_bps": 30_000, "stall_probability": 0.3,
          "stall_s": (0.2, 1.0)}
_TYPES = ("payment.received", "booking.confirmed", "booking.checked_in", "member.updated")


@dataclass(frozen=True, slots=True)
class SlowLinkRun:
    events: int
    acked: int
    acked_event_bytes: int  # the acked events as they travel in a batch (their JSON)
    delivered_up_bytes: int  # what the relay delivered from the station towards the broker
    longest_ack_gap_s: float  # the longest time without an ack while events waited
    seconds: float
    control_wait_s: float | None  # a downlink ack's trip to HQ behind the bulk (None: it never arrived)

    @property
    def goodput_ratio(self) -> float:
        return self.acked_event_bytes / self.delivered_up_bytes if self.delivered_up_bytes else 0.0


def run_slow_link(work: Path, *, events: int, impairment: dict[str, Any] = FOUR_G, timeout: float = 300.0,
                  seed: int = 7, types: tuple[str, ...] = _TYPES, downlink: int = 0) -> SlowLinkRun:
    """Write `events` events at the station (and queue `downlink` member snapshots of about 1 kB
    for it at HQ), then sync over the impaired link until HQ has acked every event (or `timeout`
    passes); what it took."""
    work.mkdir(parents=True, exist_ok=True)
    broker = Broker(work)
    with broker.config.open("a", encoding="utf-8") as config:  # the shipped broker's packet and queue limits
        config.write("\n".join(shipped_limits()) + "\n")
    broker.start()
    stop = threading.Event()
    threads: list[threading.Thread] = []
    station = engine = relay = None
    try:
        station_signer, hq_signer = Signer.generate(f"{STATION_ID}-2026"), Signer.generate("HQ-2026")
        station_key, _ = station_signer.save(work / "station-keys")
        hq_signer.save(work / "hq-keys")
        station_signer.publish(work / "station-pubs")
        hq_signer.publish(work / "hq-pubs")
        from sync.signing import Keyring

        engine = open_engine(f"sqlite:///{work / 'hq.db'}")
        create_schema(engine)
        _queue_downlink(engine, downlink)
        hq = HqService(engine, Keyring.load(work / "station-pubs"), hq_signer,
                       BrokerSettings(host="127.0.0.1", port=broker.port, keepalive_s=5))
        config = work / "station.toml"
        config.write_text(TEST_CONFIG, encoding="utf-8")
        station = init_station(config, work / "data")
        station.clock = utc_now
        _write_events(station, events, utc_now(), types)
        relay = LinkRelay(broker.port, seed=seed, **impairment).start()
        sync = StationSync(station, SyncSettings(broker_host="127.0.0.1", broker_port=relay.port,
                                                 signing_key=str(station_key), hq_keys=str(work / "hq-pubs")))
        for target in (hq.run, sync.run):
            threads.append(threading.Thread(target=target, args=(stop,), daemon=True))
            threads[-1].start()
        started = last_progress = time.monotonic()
        acked = longest_gap = 0.0
        probe = _Probe(engine)
        while True:
            now = time.monotonic()
            total, waiting = _acked(station)
            if total > acked:
                longest_gap = max(longest_gap, now - last_progress)
                acked, last_progress = total, now
                probe.send_once(now)  # once the bulk flows: a small downlink message, and its ack back
            probe.watch(station, now)
            if not waiting or now - started > timeout:
                longest_gap = max(longest_gap, now - last_progress) if waiting else longest_gap
                break
            time.sleep(0.1)
        return SlowLinkRun(events, int(acked), _acked_event_bytes(station), relay.delivered_bytes("up"),
                           longest_gap, time.monotonic() - started, probe.control_wait_s)
    finally:
        stop.set()
        for thread in threads:
            thread.join(20)
        if relay is not None:
            relay.stop()
        broker.stop()
        if station is not None:
            station.store.close()
        if engine is not None:
            engine.dispose()


class _Probe:
    """A member snapshot HQ sends down while the station's bulk goes up: the station applies it at
    once (the downward direction is quiet), and its ack to HQ then crosses the busy upward one.
    `control_wait_s` is that ack's trip: from applied at the station to applied at HQ."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.seq: int | None = None
        self.applied_at: float | None = None
        self.control_wait_s: float | None = None

    def send_once(self, now: float) -> None:
        if self.seq is not None:
            return
        body = {"member_id": "m-probe", "phone": "13900000000", "name": "Probe", "tier": "regular",
                "points": 0, "prepaid_minor": 0}
        with transaction(self.engine) as session:
            self.seq = enqueue_downlink(session, STATION_ID, "member", "member.snapshot", "m-probe", body, utc_now())

    def watch(self, station: Any, now: float) -> None:
        if self.seq is None or self.control_wait_s is not None:
            return
        if self.applied_at is None:
            with station.store.read() as conn:
                row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'member'").fetchone()
            if row and row[0] >= self.seq:
                self.applied_at = now
            return
        with transaction(self.engine) as session:
            applied = session.execute(select(HqDownCursor.applied_upto).where(
                HqDownCursor.station_id == STATION_ID, HqDownCursor.stream == "member")).scalar()
        if applied is not None and applied >= self.seq:
            self.control_wait_s = now - self.applied_at


def _queue_downlink(engine: Any, count: int) -> None:
    """Member snapshots for the station, as after many members were enrolled elsewhere."""
    with transaction(engine) as session:
        for n in range(count):
            body = {"member_id": f"m{n:05d}", "phone": f"139{n:08d}", "name": f"Member {n}", "tier": "regular",
                    "points": n, "prepaid_minor": 0, "counted_points": [f"entry-{n:05d}-{k:026d}" for k in range(20)],
                    "counted_prepaid": []}
            enqueue_downlink(session, STATION_ID, "member", "member.snapshot", f"m{n:05d}", body, utc_now())


def _write_events(station: Any, count: int, now: datetime, types: tuple[str, ...]) -> None:
    with station.store.write() as conn:
        for i in range(count):
            # about what a booking or payment event carries
            body = {"n": i, "plate": f"粤B{i:05d}", "bay": f"bay-{i % 4}", "amount_minor": 100 * (i % 50),
                    "note": "routine service, customer waiting in the lounge"}
            append_event(conn, event_type=types[i % len(types)], entity_id=f"ent-{i % 97}",
                         idem_key=f"slow-{i}", body=body, now=now)


def _acked(station: Any) -> tuple[int, int]:
    """(events acked, events waiting)."""
    with station.store.read() as conn:
        acked = conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL").fetchone()[0]
        waiting = conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NULL").fetchone()[0]
    return acked, waiting


def _acked_event_bytes(station: Any) -> int:
    with station.store.read() as conn:
        rows = conn.execute("SELECT seq, type, entity_id, idem_key, hlc, body FROM outbox"
                            " WHERE acked_at IS NOT NULL").fetchall()
    return sum(len(json.dumps({"seq": r["seq"], "type": r["type"], "entity_id": r["entity_id"],
                               "idem_key": r["idem_key"], "hlc": r["hlc"], "body": json.loads(r["body"])},
                              ensure_ascii=False, separators=(",", ":")).encode("utf-8")) for r in rows)
