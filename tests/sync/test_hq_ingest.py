"""HQ's ingest fed directly (the broker is not what is tested here): duplicates and reordering,
poison, tampering, replays, unsigned messages, unknown epochs."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from edge.domain.hlc import Hlc
from sync.envelope import batch_message, encode, new_message
from sync.hq.ingest import Ingest
from sync.signing import Keyring, Signer
from tests.sync.conftest import hq_rows

STATION = "S1"
EPOCH = "epoch-1"
SIGNER = Signer.generate(f"{STATION}-k1")
OTHER = Signer.generate("S2-k1")
STATE_QUERIES = (
    "SELECT idem_key, station_id, epoch, stream, seq, type, entity_id, hlc FROM hq_event ORDER BY idem_key",
    "SELECT station_id, booking_id, state, hlc, events FROM hq_booking ORDER BY booking_id",
    "SELECT station_id, epoch, stream, seq, idem_key, digest, status FROM hq_inbox ORDER BY stream, seq",
    "SELECT station_id, epoch, stream, acked_upto FROM hq_cursor ORDER BY stream",
)


def ingest(engine) -> Ingest:
    keyring = Keyring({SIGNER.kid: SIGNER.public_pem(), OTHER.kid: OTHER.public_pem()})
    hq = Ingest(engine, keyring, clock=lambda: datetime.now(UTC))
    hello = new_message("hello", station=STATION, epoch=EPOCH, applied={}, heads={})
    assert hq.handle(f"st/{STATION}/up/hello", signed(hello))[0].message["kind"] == "welcome"
    return hq


def signed(message, signer=SIGNER) -> bytes:
    return encode(signer.sign(message))


def events(stream: str, count: int, *, types=("booking.confirmed", "booking.checked_in", "booking.cancelled")):
    wall = 1_763_900_000_000
    return [{"seq": i, "type": types[i % len(types)], "entity_id": f"bk{i % 7}", "idem_key": f"{stream}-{i}",
             "hlc": Hlc(wall + i, 0).encode(), "body": {"n": i}} for i in range(1, count + 1)]


def batches(stream: str, items: list[dict], size: int) -> list[dict]:
    return [batch_message(STATION, EPOCH, stream, items[i:i + size], head=len(items), known_acked=0)
            for i in range(0, len(items), size)]


def deliver(hq: Ingest, stream: str, message: dict, signer=SIGNER) -> list:
    return hq.handle(f"st/{STATION}/up/{stream}", signed(message, signer))


def state(engine) -> list:
    return [hq_rows(engine, query) for query in STATE_QUERIES]


def alerts(engine) -> list[str]:
    return [kind for (kind,) in hq_rows(engine, "SELECT kind FROM hq_alert ORDER BY id")]


def test_duplicated_and_reordered_delivery_leaves_the_state_of_a_clean_run(hq_url, tmp_path):
    from sync.hq.db import create_schema, open_engine

    plan = {"booking": batches("booking", events("booking", 120), 10),
            "checkin": batches("checkin", events("checkin", 60, types=("booking.checked_in",)), 7)}
    clean_engine = open_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    create_schema(clean_engine)
    clean = ingest(clean_engine)
    for stream, messages in plan.items():
        for message in messages:
            deliver(clean, stream, message)

    messy_engine = open_engine(hq_url)
    create_schema(messy_engine)
    messy = ingest(messy_engine)
    rng = random.Random(3)
    deliveries = [(s, m) for s, ms in plan.items() for m in ms for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    last_ack = {}
    for stream, message in deliveries:
        for out in deliver(messy, stream, message):
            last_ack[stream] = max(last_ack.get(stream, 0), out.message["acked_upto"])
    assert last_ack == {"booking": 120, "checkin": 60}
    assert state(messy_engine) == state(clean_engine)
    assert alerts(messy_engine) == []
    clean_engine.dispose()
    messy_engine.dispose()


def test_a_batch_waits_in_the_inbox_until_the_gap_before_it_is_filled(hq_engine):
    hq = ingest(hq_engine)
    first, second = batches("booking", events("booking", 20), 10)
    assert deliver(hq, "booking", second)[0].message["acked_upto"] == 0
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_event") == [(0,)]
    assert deliver(hq, "booking", first)[0].message["acked_upto"] == 20
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_event") == [(20,)]


@pytest.mark.parametrize("payload", [b"\xff\xfe not json", b"[1, 2]", b'{"v": 1, "kind": "events"}',
                                     b'{"v": 99}'])
def test_a_poison_message_is_quarantined_and_the_stream_goes_on(hq_engine, payload):
    hq = ingest(hq_engine)
    assert hq.handle(f"st/{STATION}/up/booking", payload) == []
    assert alerts(hq_engine)[-1] in ("poison", "bad_signature")
    (message,) = batches("booking", events("booking", 5), 5)
    assert deliver(hq, "booking", message)[0].message["acked_upto"] == 5


def test_a_signed_but_malformed_batch_is_quarantined(hq_engine):
    hq = ingest(hq_engine)
    (message,) = batches("booking", events("booking", 3), 3)
    message["last"] = 9  # the batch's range does not match its events
    assert deliver(hq, "booking", message) == []
    assert alerts(hq_engine) == ["poison"]


def test_an_event_the_business_rules_refuse_is_rejected_in_the_ack_and_the_stream_moves_on(hq_engine):
    hq = ingest(hq_engine)
    items = events("booking", 4)
    items[1] = {**items[1], "type": "escrow.requested", "body": {"no": "booking id"}}
    (message,) = batches("booking", items, 4)
    (ack,) = deliver(hq, "booking", message)
    assert ack.message["acked_upto"] == 4
    assert [r["seq"] for r in ack.message["rejected"]] == [2]
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_event") == [(3,)]


def test_tampered_replayed_unsigned_foreign_and_unknown_epoch_messages_are_refused_and_alerted(hq_engine):
    hq = ingest(hq_engine)
    (good,) = batches("booking", events("booking", 3), 3)
    deliver(hq, "booking", good)
    before = state(hq_engine)

    tampered = SIGNER.sign(good)
    tampered["events"][0]["body"] = {"n": 999}
    replayed = {**good, "msg_id": "again", "events": [{**good["events"][0], "body": {"n": -1}}, *good["events"][1:]]}
    unknown_epoch = batch_message(STATION, "never-announced", "booking", events("booking", 1), head=1, known_acked=0)
    refused = [
        hq.handle(f"st/{STATION}/up/booking", encode(tampered)),
        deliver(hq, "booking", replayed),
        hq.handle(f"st/{STATION}/up/booking", encode(good)),  # no sig at all
        deliver(hq, "booking", good, signer=OTHER),  # another station's key
        deliver(hq, "booking", unknown_epoch),
    ]
    assert refused == [[]] * 5  # no ack for any of them
    assert alerts(hq_engine) == ["bad_signature", "seq_reused", "bad_signature", "bad_signature", "unknown_epoch"]
    assert state(hq_engine) == before
    # a validly signed seq with new content most likely comes from a restored database: the
    # station is told once to start a new epoch
    deliver(hq, "booking", {**replayed, "msg_id": "and-again"})
    assert hq_rows(hq_engine, "SELECT stream, type, entity_id FROM hq_downlink") == [
        ("cmd", "cmd.new_epoch", f"epoch:{EPOCH}")]
