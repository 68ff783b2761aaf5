"""The downlink's repair paths: a gap asks for a resync, a station behind HQ's compacted log
gets a snapshot plus the tail, poison and unsigned messages are quarantined."""

from __future__ import annotations

import threading

from edge.domain.hlc import Hlc
from edge.services.ledgers import points_balance
from edge.services.members import register_member
from edge.services.station import utc_now
from sync.envelope import encode, new_message
from sync.hq.db import transaction
from sync.hq.downlink import compact, enqueue_downlink
from sync.mqtt import MqttLink
from tests.sync.conftest import STATION_ID, hq_rows, start_hq, start_station_sync, sync_settings, wait_until
from tests.sync.test_round_trip import CATALOG


class Listener:
    """A plain MQTT client of the test: collects what is published on `topic`."""

    def __init__(self, broker, topic: str, name: str = "test-listener") -> None:
        self.messages: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self.link = MqttLink(name, broker.settings, on_message=self._got, subscriptions=(topic,),
                             durable_session=False)
        self.link.start()
        assert self.link.wait_connected(10)

    def _got(self, received) -> None:
        with self._lock:
            self.messages.append((received.topic, received.payload))

    def publish(self, topic: str, payload: bytes) -> None:
        self.link.publish(topic, payload)

    def close(self) -> None:
        self.link.stop()


def catalog_log_message(keys, seq: int, version: str) -> bytes:
    stamp = Hlc(int(utc_now().timestamp() * 1000), 0).encode()
    item = {"seq": seq, "type": "catalog.version", "entity_id": version, "hlc": stamp,
            "body": {**CATALOG, "version": version}}
    return encode(keys.hq.sign(new_message("log", station=STATION_ID, stream="catalog", **item)))


def test_a_gap_in_the_downlink_asks_hq_to_resend_and_then_applies_in_order(station, broker, keys, hq_engine,
                                                                           runners):
    with transaction(hq_engine) as session:
        for n in range(1, 4):
            enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", f"v{n}",
                             {**CATALOG, "version": f"v{n}"}, utc_now())
    listener = Listener(broker, f"st/{STATION_ID}/up/resync")
    try:
        sync = start_station_sync(runners, station, sync_settings(broker, keys))
        wait_until(lambda: sync.link.connected, what="station connected")
        listener.publish(f"hq/{STATION_ID}/down/catalog", catalog_log_message(keys, 3, "v3"))
        wait_until(lambda: listener.messages, what="a resync request")
        assert b'"from_seq":1' in listener.messages[0][1]
        assert station.catalog().version != "v3"  # not applied out of order
        start_hq(runners, hq_engine, keys, broker)
        wait_until(lambda: station.catalog().version == "v3", what="resent and applied")
        with station.store.read() as conn:
            assert conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'catalog'").fetchone()[0] == 3
    finally:
        listener.close()


def test_a_station_behind_the_compacted_log_gets_a_snapshot_and_the_tail(station, broker, keys, hq_engine, runners):
    now = utc_now()
    with station.store.write() as conn:
        members = [register_member(conn, station, phone=f"1380013800{i}", now=now).id for i in range(3)]
    with transaction(hq_engine) as session:
        for n in range(12):  # four snapshots of each member, the last one the truth
            member = members[n % 3]
            enqueue_downlink(session, STATION_ID, "member", "member.snapshot", member,
                             {"member_id": member, "phone": f"1380013800{n % 3}", "tier": "regular",
                              "points": 100 * n, "prepaid_minor": 0}, now)
        # of the 10 oldest only seq 10 is no member's older snapshot: 11 and 12 supersede the rest
        assert compact(session, STATION_ID, "member", keep=2) == 9
    assert hq_rows(hq_engine, "SELECT seq FROM hq_downlink WHERE stream = 'member' ORDER BY seq") == [(10,), (11,),
                                                                                                     (12,)]
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))

    def balances():
        with station.store.read() as conn:
            return [points_balance(conn, m) for m in members]

    wait_until(lambda: balances() == [900, 1000, 1100], what="snapshot and tail applied")
    with station.store.read() as conn:
        assert conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'member'").fetchone()[0] == 12


def test_poison_and_unsigned_downlink_is_quarantined_and_the_log_goes_on(station, broker, keys, hq_engine, runners):
    start_hq(runners, hq_engine, keys, broker)
    sync = start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: sync.link.connected, what="station connected")
    listener = Listener(broker, f"hq/{STATION_ID}/down/#", name="intruder")
    try:
        topic = f"hq/{STATION_ID}/down/catalog"
        listener.publish(topic, b"\x00garbage")
        unsigned = new_message("log", station=STATION_ID, stream="catalog", seq=1, type="catalog.version",
                               entity_id="evil", hlc="0000000000000001-00000", body={**CATALOG, "version": "evil"})
        listener.publish(topic, encode(unsigned))
        wait_until(lambda: _conflicts(station) == ["sync_bad_signature", "sync_poison"], what="both quarantined")
        with transaction(hq_engine) as session:
            enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", "good", {**CATALOG, "version": "good"},
                             utc_now())
        wait_until(lambda: station.catalog().version == "good", what="the real log applied")
    finally:
        listener.close()


def _conflicts(station):
    with station.store.read() as conn:
        return sorted(r[0] for r in conn.execute("SELECT kind FROM conflict"))


def test_a_long_downlink_flows_in_windows_without_sending_messages_again(station, broker, keys, hq_engine, runners):
    now = utc_now()
    with station.store.write() as conn:
        members = [register_member(conn, station, phone=f"1390013900{i}", now=now).id for i in range(3)]
    with transaction(hq_engine) as session:
        for n in range(450):  # more than two windows of 200
            member = members[n % 3]
            enqueue_downlink(session, STATION_ID, "member", "member.snapshot", member,
                             {"member_id": member, "phone": f"1390013900{n % 3}", "tier": "regular",
                              "points": n, "prepaid_minor": 0}, now)
    listener = Listener(broker, f"hq/{STATION_ID}/down/member")
    try:
        start_hq(runners, hq_engine, keys, broker)
        start_station_sync(runners, station, sync_settings(broker, keys))

        def applied():
            with station.store.read() as conn:
                row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'member'").fetchone()
                return row and row[0]

        def written():  # 450, and HQ's own snapshots of the members once their events arrive
            return hq_rows(hq_engine, "SELECT last_seq FROM hq_down_cursor WHERE stream = 'member'")[0][0]

        wait_until(lambda: applied() == written() >= 450, what="the whole log applied")
        # each ack lets the next messages go, not the in-flight ones again (a slow machine may
        # see one timed resend of a window, never one per ack)
        assert 450 <= len(listener.messages) <= written() + 200
    finally:
        listener.close()


def test_compaction_in_bounded_steps_ends_where_one_step_would(hq_engine):
    now = utc_now()
    with transaction(hq_engine) as session:
        for n in range(30):  # ten snapshots of each of three members
            member = f"m{n % 3}"
            enqueue_downlink(session, STATION_ID, "member", "member.snapshot", member,
                             {"member_id": member, "phone": f"1380013800{n % 3}", "tier": "regular",
                              "points": n, "prepaid_minor": 0}, now)
    steps = []
    while True:  # at most 4 seqs further per step: each step is a short transaction
        with transaction(hq_engine) as session:
            steps.append(compact(session, STATION_ID, "member", keep=3, most=4))
        if hq_rows(hq_engine, "SELECT compacted_upto FROM hq_down_cursor WHERE stream = 'member'") == [(27,)]:
            break
    assert len(steps) == 7 and sum(steps) == 27  # everything before the last three superseded
    assert hq_rows(hq_engine, "SELECT seq FROM hq_downlink WHERE stream = 'member' ORDER BY seq") == [
        (28,), (29,), (30,)]
