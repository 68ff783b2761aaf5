"""HQ under a burst: many received messages handled as one group in one transaction (each in
its own savepoint), and the stations' ack timer that backs off while HQ makes no progress."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from edge.domain.hlc import Hlc
from sync.envelope import batch_message, encode, new_message
from sync.hq.ingest import Ingest
from sync.signing import Keyring, Signer
from sync.station.uplink import AckTimer, Uplink, UplinkLimits
from tests.sync.conftest import hq_rows, make_events, open_epoch

SIGNERS = {sid: Signer.generate(f"{sid}-k1") for sid in ("S1", "S2", "S3")}
EPOCH = "epoch-1"


def hq(engine) -> Ingest:
    keyring = Keyring({s.kid: s.public_pem() for s in SIGNERS.values()})
    ingest = Ingest(engine, keyring, clock=lambda: datetime.now(UTC))
    hellos = [message(sid, "hello", new_message("hello", station=sid, epoch=EPOCH, applied={}, heads={}))
              for sid in SIGNERS]
    assert [o.message["kind"] for o in ingest.handle_many(hellos)] == ["welcome"] * len(SIGNERS)
    return ingest


def message(station: str, leaf: str, body: dict, signer: Signer | None = None) -> tuple[str, bytes]:
    return f"st/{station}/up/{leaf}", encode((signer or SIGNERS[station]).sign(body))


def batch(station: str, first: int, last: int, *, epoch: str = EPOCH, content: int = 0) -> dict:
    wall = 1_763_900_000_000
    events = [{"seq": n, "type": ("booking.confirmed", "booking.checked_in")[n % 2], "entity_id": f"bk{n % 3}",
               "idem_key": f"{station}-{n}", "hlc": Hlc(wall + n, 0).encode(), "body": {"n": n + content}}
              for n in range(first, last + 1)]
    return batch_message(station, epoch, "booking", events, head=30, known_acked=0)


def acks(out: list) -> dict[str, int]:
    marks: dict[str, int] = {}
    for o in out:
        if o.message["kind"] == "ack":
            station = o.message["station"]
            marks[station] = max(marks.get(station, 0), o.message["acked_upto"])
    return marks


def state(engine) -> list:
    return [hq_rows(engine, "SELECT idem_key, station_id, seq, type FROM hq_event ORDER BY idem_key"),
            hq_rows(engine, "SELECT station_id, booking_id, state, hlc, events FROM hq_booking"
                            " ORDER BY station_id, booking_id"),
            hq_rows(engine, "SELECT station_id, stream, seq, status FROM hq_inbox ORDER BY station_id, seq"),
            hq_rows(engine, "SELECT station_id, stream, acked_upto FROM hq_cursor ORDER BY station_id")]


def test_one_group_applies_its_good_messages_and_alerts_each_bad_one_alone(hq_engine):
    ingest = hq(hq_engine)
    tampered = SIGNERS["S1"].sign(batch("S1", 21, 30))
    tampered["events"][0]["body"] = {"n": -1}
    refused_event = batch("S3", 1, 3)
    refused_event["events"][1] = {**refused_event["events"][1], "type": "escrow.requested", "body": {}}
    group = [
        message("S2", "booking", batch("S2", 11, 20)),  # before the batch it continues: waits in the inbox
        message("S1", "booking", batch("S1", 1, 10)),
        ("st/S1/up/booking", b"\xff not json"),
        ("st/S1/up/booking", encode(tampered)),
        message("S2", "booking", batch("S2", 1, 10)),
        message("S1", "booking", batch("S1", 11, 20, epoch="never-announced")),
        message("S1", "booking", {**batch("S1", 1, 10, content=5), "msg_id": "replay"}),
        message("S2", "booking", batch("S2", 1, 10), SIGNERS["S1"]),  # S1's key on S2's topic
        message("S3", "booking", refused_event),
    ]
    out = ingest.handle_many(group)

    assert acks(out) == {"S1": 10, "S2": 20, "S3": 3}
    s2 = [o.message["acked_upto"] for o in out if o.message.get("station") == "S2"]
    assert s2 == [0, 20]  # the early batch is acked at the old mark, its predecessor carries both
    (s3,) = [o.message for o in out if o.message.get("station") == "S3"]
    assert [r["seq"] for r in s3["rejected"]] == [2]
    assert sorted(kind for (kind,) in hq_rows(hq_engine, "SELECT kind FROM hq_alert")) == [
        "bad_signature", "bad_signature", "poison", "seq_reused", "unknown_epoch"]
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_event") == [(10 + 20 + 2,)]
    assert hq_rows(hq_engine, "SELECT station_id, count(*) FROM hq_inbox GROUP BY station_id ORDER BY station_id"
                   ) == [("S1", 10), ("S2", 20), ("S3", 3)]  # nothing of the refused messages stayed
    assert hq_rows(hq_engine, "SELECT station_id, type FROM hq_downlink") == [("S1", "cmd.new_epoch")]


def test_groups_of_any_size_and_order_leave_the_state_of_one_message_at_a_time(hq_engine, tmp_path):
    from sync.hq.db import create_schema, open_engine

    plan = [message(sid, "booking", batch(sid, first, first + 4)) for sid in SIGNERS for first in range(1, 30, 5)]
    clean_engine = open_engine(f"sqlite:///{tmp_path / 'clean.db'}")
    create_schema(clean_engine)
    clean = hq(clean_engine)
    for topic, payload in plan:
        clean.handle(topic, payload)

    grouped = hq(hq_engine)
    rng = random.Random(5)
    deliveries = [m for m in plan for _ in range(rng.randint(1, 3))]
    rng.shuffle(deliveries)
    marks: dict[str, int] = {}
    while deliveries:
        size = rng.randint(1, 12)
        group, deliveries = deliveries[:size], deliveries[size:]
        for station, mark in acks(grouped.handle_many(group)).items():
            marks[station] = max(marks.get(station, 0), mark)
    assert marks == {"S1": 30, "S2": 30, "S3": 30}
    assert state(hq_engine) == state(clean_engine)
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_alert") == [(0,)]
    clean_engine.dispose()


def test_the_ack_timer_doubles_its_wait_up_to_the_cap_and_starts_over_at_progress():
    timer = AckTimer(10, cap=35, jitter=lambda: 0.0)
    timer.arm(0)
    assert not timer.expired(9.9) and timer.expired(10)
    waits = []
    for now in (10, 30, 70, 105):
        timer.back_off(now)
        waits.append(timer.wait)
    assert waits == [20, 35, 35, 35]
    assert not timer.expired(139.9) and timer.expired(140)
    timer.progress(141)
    assert timer.wait == 10 and not timer.expired(150.9) and timer.expired(151)
    stretched = AckTimer(10, jitter=lambda: 1.0)  # the most jitter: a quarter longer
    stretched.arm(0)
    assert not stretched.expired(12.4) and stretched.expired(12.5)


def test_a_station_that_hq_does_not_answer_resends_less_and_less_often(station):
    sent: list[dict] = []
    clock = [1000.0]
    signer = Signer.generate("TST-001-k1")
    uplink = Uplink(station, signer, lambda topic, payload: sent.append({"topic": topic, "payload": payload}),
                    UplinkLimits(batch_max_events=50, window_messages=2, ack_timeout_s=10),
                    monotonic=lambda: clock[0])
    make_events(station, 300, types=("payment.received",))
    uplink.hello()
    assert uplink.on_welcome({"epoch": open_epoch(station), "uplink": {}})

    def sends_at(now: float) -> int:
        clock[0] = now
        before = len(sent)
        uplink.pump()
        return len(sent) - before

    assert sends_at(1000) == 2  # the window
    # the first wait is the ack timeout plus the time the bytes ahead take to cross (at an assumed
    # goodput before any ack measured it): then twice as long, and twice again
    base = uplink._timers["payment"].base
    assert base > 10
    t = 1000.0
    for wait in (base, 2 * base, 4 * base):
        assert [sends_at(t + wait - 0.1), sends_at(t + wait * 1.25 + 0.1)] == [0, 2]
        t += wait * 1.25 + 0.1
    # an ack that moves the mark: the wait starts over from its base
    uplink.on_ack({"stream": "payment", "epoch": open_epoch(station), "acked_upto": uplink._window[0].last})
    acked_at = clock[0]
    assert sends_at(acked_at) == 1  # the freed place in the window
    base = uplink._timers["payment"].base
    assert [sends_at(acked_at + base - 0.1), sends_at(acked_at + base * 1.25 + 0.1)] == [0, 2]


def test_batches_paho_still_holds_are_not_handed_to_it_again(station):
    """On a slow link the broker has not taken the window yet when the ack is due: nothing is
    piled on top of it, and once the broker has it and HQ still says nothing, it goes again."""
    class Info:
        published = False

        def is_published(self) -> bool:
            return self.published

    handed: list[Info] = []
    clock = [1000.0]

    def publish(topic: str, payload: bytes) -> Info:
        handed.append(Info())
        return handed[-1]

    uplink = Uplink(station, Signer.generate("TST-001-k1"), publish,
                    UplinkLimits(batch_max_events=50, window_messages=2, ack_timeout_s=10), monotonic=lambda: clock[0])
    make_events(station, 300, types=("payment.received",))
    uplink.hello()
    assert uplink.on_welcome({"epoch": open_epoch(station), "uplink": {}})
    clock[0] = 1000.0
    uplink.pump()
    assert len(handed) == 3  # the hello and two batches
    for later in (100, 200, 400):  # long overdue, but paho still holds both: nothing more
        clock[0] = 1000.0 + later
        uplink.pump()
    assert len(handed) == 3
    for info in handed:
        info.published = True  # the broker has them now, and HQ never answers
    clock[0] = 1000.0 + 10_000
    uplink.pump()
    assert len(handed) == 5
