"""What identifies a delivery and an effect at HQ: (station, epoch, stream, seq) names a delivery,
an idem_key names an effect only within its station. Two stations writing the same idem_key
both land; shared members merge by their own rules (profile by HLC then station, ledger
entries by id), so any order of delivery, duplicates included, ends in the same state."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.domain.hlc import Hlc
from sync.envelope import batch_message, encode, new_message
from sync.hq.db import create_schema, open_engine
from sync.hq.ingest import Ingest
from sync.signing import Keyring, Signer
from tests.sync.conftest import hq_rows

STATIONS = {sid: Signer.generate(f"{sid}-k1") for sid in ("S1", "S2", "S3")}
EPOCH = "e1"
WALL = 1_763_900_000_000
STATE = (
    "SELECT station_id, idem_key, epoch, stream, seq, type, entity_id, hlc FROM hq_event"
    " ORDER BY station_id, idem_key",
    "SELECT member_id, phone, name, tier, profile_hlc, points, prepaid_minor FROM hq_member ORDER BY member_id",
    "SELECT ledger, entry_id, station_id, member_id, amount FROM hq_member_entry ORDER BY ledger, entry_id",
    "SELECT station_id, stream, acked_upto FROM hq_cursor ORDER BY station_id, stream",
)


def _hq(engine) -> Ingest:
    hq = Ingest(engine, Keyring({s.kid: s.public_pem() for s in STATIONS.values()}),
                clock=lambda: datetime.now(UTC))
    for sid, signer in STATIONS.items():
        hq.handle(f"st/{sid}/up/hello", encode(signer.sign(
            new_message("hello", station=sid, epoch=EPOCH, applied={}, heads={}))))
    return hq


def _profile_event(seq: int, member: str, version: int, name: str, wall: int) -> dict:
    return {"seq": seq, "type": "member.updated", "entity_id": member, "idem_key": f"member:{member}:{version}",
            "hlc": Hlc(wall, 0).encode(),
            "body": {"member": {"id": member, "phone": f"1390000{member[-4:]}", "name": name, "tier": "gold"}}}


def _points_event(seq: int, member: str, entry: str, points: int, wall: int) -> dict:
    return {"seq": seq, "type": "points.earned", "entity_id": member, "idem_key": f"points:{entry}",
            "hlc": Hlc(wall, 0).encode(), "body": {"member_id": member, "entry_id": entry, "points": points}}


def _deliver(hq: Ingest, station: str, stream: str, events: list[dict], size: int) -> list[tuple[str, bytes]]:
    """The station's stream as signed batches of `size` events."""
    return [(f"st/{station}/up/{stream}", encode(STATIONS[station].sign(
        batch_message(station, EPOCH, stream, events[i:i + size], head=len(events), known_acked=0))))
        for i in range(0, len(events), size)]


def test_two_stations_updating_a_member_to_the_same_version_both_land_and_merge_the_same_either_way(
        hq_url, tmp_path):
    states = []
    # one order on the HQ database under test, the other on a SQLite file
    for order, url in ((("S1", "S2"), hq_url), (("S2", "S1"), f"sqlite:///{tmp_path / 'other-order.db'}")):
        engine = open_engine(url)
        create_schema(engine)
        hq = _hq(engine)
        sent = {"S1": [_profile_event(1, "M0001", 3, "Li from S1", WALL)],
                "S2": [_profile_event(1, "M0001", 3, "Li from S2", WALL)]}  # the same idem_key and HLC
        for station in order:
            for topic, payload in _deliver(hq, station, "member", sent[station], 1):
                hq.handle(topic, payload)
        assert hq_rows(engine, "SELECT station_id, idem_key FROM hq_event ORDER BY station_id") == [
            ("S1", "member:M0001:3"), ("S2", "member:M0001:3")]
        states.append([hq_rows(engine, q) for q in STATE])
        engine.dispose()
    assert states[0] == states[1]
    assert states[0][1][0][2] == "Li from S2"  # equal clocks: the later station id wins, in any order


def _reference(plan: dict[str, list[dict]]) -> tuple[dict, dict]:
    """HQ's member state folded by hand: profile by (hlc, station), points by entry id."""
    profiles, points = {}, {}
    for station, events in plan.items():
        for e in events:
            if e["type"] == "member.updated":
                stamp = (e["hlc"], station)
                if e["entity_id"] not in profiles or stamp > profiles[e["entity_id"]][0]:
                    profiles[e["entity_id"]] = (stamp, e["body"]["member"]["name"])
            else:
                points.setdefault(e["entity_id"], {})[e["body"]["entry_id"]] = e["body"]["points"]
    return ({m: name for m, (_, name) in profiles.items()},
            {m: sum(entries.values()) for m, entries in points.items()})


_events = st.lists(st.tuples(st.sampled_from(sorted(STATIONS)), st.integers(0, 3), st.booleans(),
                             st.integers(0, 3), st.integers(1, 50)), min_size=1, max_size=40)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_events, seed=st.integers(0, 2**16), size=st.integers(1, 4))
def test_many_stations_with_shared_members_in_any_delivery_order_end_in_the_reference_fold(
        tmp_path_factory, raw, seed, size):
    plan: dict[str, list[dict]] = {sid: [] for sid in STATIONS}
    versions: dict[tuple[str, str], int] = {}
    entries = itertools.count(1)
    for station, member_n, is_profile, tick, points in raw:
        member, events = f"M{member_n:04d}", plan[station]
        seq, wall = len(events) + 1, WALL + tick  # clocks of different stations collide on purpose
        if is_profile:
            # each station numbers its own versions of the member: they collide across stations
            version = versions[(station, member)] = versions.get((station, member), 0) + 1
            events.append(_profile_event(seq, member, version, f"{member}@{station}#{version}", wall))
        else:
            events.append(_points_event(seq, member, f"{station}-p{next(entries)}", points, wall))
    # every member has a profile somewhere (HQ keeps balances of members it has no profile of too)
    engine = open_engine(f"sqlite:///{tmp_path_factory.mktemp('hq') / 'hq.db'}")
    create_schema(engine)
    hq = _hq(engine)
    rng = random.Random(seed)
    deliveries = [d for sid, events in plan.items() if events
                  for d in _deliver(hq, sid, "member", events, size) for _ in range(rng.randint(1, 2))]
    rng.shuffle(deliveries)
    for topic, payload in deliveries:
        hq.handle(topic, payload)
    names, balances = _reference(plan)
    assert dict(hq_rows(engine, "SELECT member_id, name FROM hq_member WHERE phone != ''")) == names
    assert dict(hq_rows(engine, "SELECT member_id, points FROM hq_member WHERE points != 0")) == {
        m: p for m, p in balances.items() if p}
    expected_events = sorted((sid, e["idem_key"]) for sid, events in plan.items() for e in events)
    assert hq_rows(engine, "SELECT station_id, idem_key FROM hq_event ORDER BY station_id, idem_key") == [
        tuple(k) for k in expected_events]
    assert dict(((s, a) for s, _, a in hq_rows(engine, STATE[3]))) == {
        sid: len(events) for sid, events in plan.items() if events}
    assert hq_rows(engine, "SELECT kind FROM hq_alert WHERE kind != 'member_phone_clash'") == []
    engine.dispose()


def test_an_hq_database_keyed_by_idem_key_alone_is_rekeyed_keeping_its_rows(tmp_path: Path):
    path = tmp_path / "old-hq.db"
    import sqlite3

    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE hq_event (idem_key VARCHAR NOT NULL PRIMARY KEY, station_id VARCHAR NOT NULL,"
                 " epoch VARCHAR NOT NULL, stream VARCHAR NOT NULL, seq BIGINT NOT NULL, type VARCHAR NOT NULL,"
                 " entity_id VARCHAR NOT NULL, hlc VARCHAR NOT NULL, applied_at DATETIME NOT NULL)")
    conn.execute("CREATE INDEX ix_hq_event_station_id ON hq_event (station_id)")
    conn.execute("INSERT INTO hq_event VALUES ('member:M1:3', 'S1', 'e1', 'member', 1, 'member.updated', 'M1',"
                 " '0001763900000000-00000', '2026-12-01 00:00:00')")
    conn.commit()
    conn.close()
    engine = open_engine(str(path))
    create_schema(engine)
    hq = _hq(engine)
    for topic, payload in _deliver(hq, "S2", "member", [_profile_event(1, "M0001", 3, "Li", WALL)], 1):
        hq.handle(topic, payload)
    assert hq_rows(engine, "SELECT station_id, idem_key FROM hq_event ORDER BY station_id") == [
        ("S1", "member:M1:3"), ("S2", "member:M0001:3")]
    engine.dispose()


def test_two_stations_updating_a_shared_member_over_the_shipped_broker_both_reach_hq(
        tmp_path, shipped_broker, keys, hq_engine, runners):
    from edge.services.members import adjust_credit, enroll, get_member
    from edge.services.station import utc_now
    from sync.hq.db import transaction
    from sync.hq.members import resend_snapshot
    from tests.sync.conftest import STATION_ID, backlog, start_hq, start_station_sync, sync_settings, wait_until
    from tests.sync.test_hq_members import OTHER_ID, signing_key_of, station_at

    home, other = station_at(tmp_path / "home"), station_at(tmp_path / "other", OTHER_ID)
    other_key = signing_key_of(tmp_path, keys, OTHER_ID)
    start_hq(runners, hq_engine, keys, shipped_broker)
    start_station_sync(runners, home, sync_settings(shipped_broker, keys))
    start_station_sync(runners, other, sync_settings(shipped_broker, keys, signing_key=other_key))
    member_id = enroll(home, phone="13900139000", name="Li", tier="gold").member.id
    wait_until(lambda: hq_rows(hq_engine, "SELECT phone FROM hq_member") == [("13900139000",)], what="member at HQ")
    with transaction(hq_engine) as session:
        resend_snapshot(session, member_id, utc_now(), OTHER_ID)

    def known_at_other():
        with other.store.read() as conn:
            return conn.execute("SELECT version FROM member WHERE id = ?", (member_id,)).fetchone()

    wait_until(known_at_other, what="the member at the other station")
    # each station moves the member to version 2 on its own: both write member:{id}:2
    for station in (home, other):
        with station.store.write() as conn:
            adjust_credit(conn, station, get_member(conn, member_id), -10, now=utc_now())
    wait_until(lambda: backlog(home) == backlog(other) == 0, what="both drained")
    rows = hq_rows(hq_engine, "SELECT station_id FROM hq_event WHERE idem_key = :k ORDER BY station_id",
                   k=f"member:{member_id}:2")
    assert rows == [(STATION_ID,), (OTHER_ID,)]
