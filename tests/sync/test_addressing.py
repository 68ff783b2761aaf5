"""Every signed message is bound to its addressee: a foreign publisher replaying genuine messages
across stations, streams and epochs, in both directions, gets them quarantined and alerted, and
no mark moves for them."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.domain.hlc import Hlc
from edge.services.station import utc_now
from sync.envelope import batch_message, encode, new_message
from sync.hq.db import transaction
from sync.hq.downlink import enqueue_downlink
from sync.hq.ingest import Ingest
from sync.signing import Keyring, Signer
from tests.sync.conftest import STATION_ID, hq_rows, start_hq, start_station_sync, sync_settings, wait_until
from tests.sync.test_downlink import Listener, _conflicts
from tests.sync.test_round_trip import CATALOG

OTHER_STATION = "TST-009"


def _log_message(keys, station_id: str, stream: str, seq: int, version: str) -> bytes:
    stamp = Hlc(int(utc_now().timestamp() * 1000), 0).encode()
    return encode(keys.hq.sign(new_message("log", station=station_id, stream=stream, seq=seq,
                                           type="catalog.version", entity_id=version, hlc=stamp,
                                           body={**CATALOG, "version": version})))


def _applied(station, stream: str) -> int:
    with station.store.read() as conn:
        row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = ?", (stream,)).fetchone()
    return row[0] if row else 0


def test_hq_messages_for_another_station_or_stream_are_quarantined_and_the_genuine_one_still_applies(
        station, shipped_broker, keys, hq_engine, runners):
    broker = shipped_broker
    sync = start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: sync.link.connected, what="station connected")
    intruder = Listener(broker, "nothing/at/all", name="intruder")
    try:
        before = station.catalog().version
        # HQ's genuine message for another station, replayed on this station's downlink
        intruder.publish(f"hq/{STATION_ID}/down/catalog", _log_message(keys, OTHER_STATION, "catalog", 1, "theirs"))
        # this station's own genuine message, replayed on another of its streams
        intruder.publish(f"hq/{STATION_ID}/down/member", _log_message(keys, STATION_ID, "catalog", 1, "moved"))
        wait_until(lambda: _conflicts(station) == ["sync_misaddressed", "sync_misaddressed"],
                   what="both replays quarantined")
        assert station.catalog().version == before
        assert _applied(station, "catalog") == 0 and _applied(station, "member") == 0
        # HQ's genuine seq 1 for this station is not skipped as if it had been applied
        with transaction(hq_engine) as session:
            enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", "ours", {**CATALOG, "version": "ours"},
                             utc_now())
        start_hq(runners, hq_engine, keys, broker)
        wait_until(lambda: station.catalog().version == "ours", what="HQ's own message applied")
        assert _applied(station, "catalog") == 1
    finally:
        intruder.close()


def test_an_ack_for_another_station_or_epoch_moves_no_mark(station, shipped_broker, keys, hq_engine, runners):
    broker = shipped_broker
    from tests.sync.conftest import make_events, open_epoch

    make_events(station, 5)
    sync = start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: sync.link.connected, what="station connected")
    intruder = Listener(broker, "nothing/at/all", name="intruder")
    try:
        epoch = open_epoch(station)
        forged_marks = [
            new_message("ack", station=OTHER_STATION, epoch=epoch, stream="booking", acked_upto=5, rejected=[]),
            new_message("ack", station=STATION_ID, epoch="an-old-epoch", stream="booking", acked_upto=5,
                        rejected=[]),
        ]
        for message in forged_marks:
            intruder.publish(f"hq/{STATION_ID}/down/ack", encode(keys.hq.sign(message)))
        # and a welcome of this station published on a log stream's topic
        welcome = new_message("welcome", station=STATION_ID, epoch=epoch, uplink={"booking": {"acked_upto": 5}})
        intruder.publish(f"hq/{STATION_ID}/down/booking", encode(keys.hq.sign(welcome)))
        wait_until(lambda: _conflicts(station).count("sync_misaddressed") == 2, what="two replays quarantined")
        with station.store.read() as conn:
            assert conn.execute("SELECT count(*) FROM sync_uplink WHERE acked_upto > 0").fetchone()[0] == 0
            assert conn.execute("SELECT count(*) FROM outbox WHERE acked_at IS NOT NULL").fetchone()[0] == 0
    finally:
        intruder.close()


# -- the uplink, at HQ's ingest ----------------------------------------------------------------------

A, B = Signer.generate("S1-k1"), Signer.generate("S2-k1")


def _hq(engine) -> Ingest:
    hq = Ingest(engine, Keyring({A.kid: A.public_pem(), B.kid: B.public_pem()}), clock=lambda: datetime.now(UTC))
    for signer, station in ((A, "S1"), (B, "S2")):
        for epoch in ("e1", "e2"):
            hello = new_message("hello", station=station, epoch=epoch, applied={}, heads={})
            hq.handle(f"st/{station}/up/hello", encode(signer.sign(hello)))
    return hq


def _batch(station: str, epoch: str, stream: str, key: str) -> dict:
    event = {"seq": 1, "type": "booking.confirmed", "entity_id": "bk1", "idem_key": key,
             "hlc": Hlc(1_763_900_000_000, 0).encode(), "body": {}}
    return batch_message(station, epoch, stream, [event], head=1, known_acked=0)


def test_hq_refuses_station_messages_replayed_across_stations_streams_and_epochs(hq_engine):
    hq = _hq(hq_engine)
    s1_booking = encode(A.sign(_batch("S1", "e1", "booking", "booking:bk1:v1")))
    replays = [
        ("st/S2/up/booking", s1_booking),  # S1's batch on S2's topic
        ("st/S1/up/checkin", s1_booking),  # on another stream's topic
        ("st/S1/up/resync", encode(A.sign(new_message("hello", station="S1", epoch="e1", applied={}, heads={})))),
        ("st/S1/up/booking", encode(B.sign(_batch("S2", "e1", "booking", "booking:bk1:v1")))),  # S2's, signed by S2
    ]
    for topic, payload in replays:
        assert hq.handle(topic, payload) == []
    assert sorted(kind for (kind,) in hq_rows(hq_engine, "SELECT kind FROM hq_alert")) == [
        "bad_signature", "bad_signature", "wrong_station", "wrong_station"]
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_inbox") == [(0,)]
    # the genuine batch, then the same batch replayed into the station's next epoch
    assert hq.handle("st/S1/up/booking", s1_booking)[0].message["acked_upto"] == 1
    replayed_epoch = encode(A.sign(_batch("S1", "e2", "booking", "booking:bk1:v1")))
    assert hq.handle("st/S1/up/booking", replayed_epoch)[0].message["acked_upto"] == 1
    # one effect: the same idem_key of the same station is the same effect, whatever its epoch
    assert hq_rows(hq_engine, "SELECT station_id, idem_key FROM hq_event") == [("S1", "booking:bk1:v1")]
    assert hq_rows(hq_engine, "SELECT events FROM hq_booking") == [(1,)]


def test_an_ack_for_downlink_hq_never_wrote_is_refused_and_alerted(hq_engine):
    hq = _hq(hq_engine)
    with transaction(hq_engine) as session:
        enqueue_downlink(session, "S1", "catalog", "catalog.version", "v1", {**CATALOG, "version": "v1"}, utc_now())
    ack = new_message("ack", station="S1", stream="catalog", applied_upto=7)
    assert hq.handle("st/S1/up/ack", encode(A.sign(ack))) == []
    assert hq_rows(hq_engine, "SELECT kind FROM hq_alert") == [("ack_beyond_log",)]
    assert hq_rows(hq_engine, "SELECT applied_upto FROM hq_down_cursor WHERE station_id = 'S1'"
                   " AND stream = 'catalog'") == [(0,)]
