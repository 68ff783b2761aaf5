"""Every message fits the broker's packet limit, whatever the backlog: a station far behind HQ's
compacted downlink gets it as bounded snapshot chunks, each acked before the next, on a broker
with the shipped config's limits; another station on the same HQ worker is acked throughout."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import insert, update

from edge.domain.hlc import Hlc
from edge.services.station import utc_now
from sync.envelope import MAX_PACKET_BYTES, encode
from sync.errors import SyncError
from sync.hq.db import transaction
from sync.hq.downlink import ITEM_MAX_BYTES, enqueue_downlink
from sync.hq.service import HqService
from sync.hq.tables import HqDownCursor, HqDownlink
from sync.mqtt import BrokerSettings
from tests.sync.conftest import STATION_ID, backlog, make_events, start_hq, start_station_sync, sync_settings, wait_until
from tests.sync.test_hq_members import OTHER_ID, signing_key_of, station_at

MEMBERS = 11_000


def _member_body(n: int) -> dict:
    # a member with a long history: the entries HQ counted ride along (about 1 kB a member)
    return {"member_id": f"m{n:06d}", "phone": f"139{n:08d}", "name": f"Member {n}", "tier": "regular",
            "points": n, "prepaid_minor": 0, "counted_points": [f"entry-{n:06d}-{k:026d}" for k in range(24)],
            "counted_prepaid": []}


def _far_behind(engine) -> tuple[int, int]:
    """HQ's member log for the station: MEMBERS snapshots, all behind the compacted mark (the
    station was away while members enrolled elsewhere). (last seq, bytes as one message)."""
    now = utc_now()
    hlc = Hlc(int(now.timestamp() * 1000), 0).encode()
    rows = [{"station_id": STATION_ID, "stream": "member", "seq": n, "type": "member.snapshot",
             "entity_id": f"m{n:06d}", "hlc": hlc, "body": _member_body(n), "created_at": now}
            for n in range(1, MEMBERS + 1)]
    with transaction(engine) as session:
        session.execute(insert(HqDownCursor.__table__).values(
            station_id=STATION_ID, stream="member", last_seq=MEMBERS, applied_upto=0, sent_upto=0,
            compacted_upto=MEMBERS, sent_at=None))
        for start in range(0, len(rows), 1000):
            session.execute(insert(HqDownlink.__table__), rows[start:start + 1000])
    single = sum(len(encode({k: r[k] for k in ("seq", "type", "entity_id", "hlc", "body")})) for r in rows)
    return MEMBERS, single


def _member_applied(station) -> int:
    with station.store.read() as conn:
        row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'member'").fetchone()
    return row[0] if row else 0


def _acked(station) -> int:
    with station.store.read() as conn:
        return conn.execute("SELECT coalesce(sum(acked_upto), 0) FROM sync_uplink").fetchone()[0]


def test_a_station_far_behind_converges_in_bounded_chunks_while_another_is_acked_throughout(
        tmp_path, shipped_broker, keys, hq_engine, runners):
    last, single_message = _far_behind(hq_engine)
    assert single_message >= 10 * MAX_PACKET_BYTES  # what one snapshot message would have carried
    far = station_at(tmp_path / "far")
    busy = station_at(tmp_path / "busy", OTHER_ID)

    busy_key = signing_key_of(tmp_path, keys, OTHER_ID)
    hq = start_hq(runners, hq_engine, keys, shipped_broker)
    start_station_sync(runners, busy, sync_settings(shipped_broker, keys, signing_key=busy_key))
    start_station_sync(runners, far, sync_settings(shipped_broker, keys))

    # the busy station writes events all along; sample its acks beside the far one's progress
    samples: list[tuple[int, int]] = []
    done = threading.Event()

    def keep_busy() -> None:
        n = 0
        while not done.is_set():
            make_events(busy, 3, prefix=f"busy-{n}")
            n += 1
            samples.append((_member_applied(far), _acked(busy)))
            time.sleep(0.2)

    writer = threading.Thread(target=keep_busy, daemon=True)
    writer.start()
    try:
        wait_until(lambda: _member_applied(far) == last, timeout=240, what="the far station converged")
    finally:
        done.set()
        writer.join(10)
    with far.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM member").fetchone()[0] == MEMBERS
        assert conn.execute("SELECT count(*) FROM conflict").fetchone()[0] == 0
    assert hq.publish_failures == {}
    # the busy station was acked while the far one was part-way through its chunks
    midway = {acked for applied, acked in samples if 0 < applied < last}
    assert len(midway) >= 2, samples
    wait_until(lambda: backlog(busy) == 0, what="the busy station drained")


def test_a_downlink_item_over_the_limit_is_refused_when_queued(hq_engine):
    with transaction(hq_engine) as session, pytest.raises(SyncError, match="at most"):
        enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", "huge",
                         {"version": "huge", "services": ["x" * ITEM_MAX_BYTES]}, utc_now())


def test_hq_refuses_to_start_with_a_packet_limit_no_message_fits(hq_engine, keys):
    broker = BrokerSettings(host="127.0.0.1", port=1, max_packet_bytes=64 * 1024)
    with pytest.raises(SyncError, match="max_packet_size"):
        HqService(hq_engine, keys.hq_keyring(), keys.hq, broker)


def test_a_publish_that_fails_for_one_station_holds_only_that_station(hq_engine, keys, shipped_broker):
    service = HqService(hq_engine, keys.hq_keyring(), keys.hq, shipped_broker.settings)
    with transaction(hq_engine) as session:
        for station in ("S-A", "S-B"):
            enqueue_downlink(session, station, "cmd", "cmd.note", "n1", {"n": 1}, utc_now())
    sent: list[str] = []

    def publish(topic: str, payload: bytes, **_: object) -> None:
        if topic.startswith("hq/S-A/"):
            raise SyncError("the broker refused it")
        sent.append(topic)

    service.link.publish = publish  # the link to the broker is what fails here
    service.publish_due()
    assert sent == ["hq/S-B/down/cmd"] and service.publish_failures == {"S-A": 1}
    with transaction(hq_engine) as session:  # due again at once: S-A waits out its back-off, S-B is not held
        session.execute(update(HqDownCursor.__table__).values(sent_at=None))
        enqueue_downlink(session, "S-B", "cmd", "cmd.note", "n2", {"n": 2}, utc_now())
    service.publish_due()
    assert sent == ["hq/S-B/down/cmd", "hq/S-B/down/cmd", "hq/S-B/down/cmd"] and service.publish_failures == {"S-A": 1}
