"""HQ's downlink adds no second copy of what is still on its way: a hello from a station that is
not behind HQ's mark does not rewind, an ack that moves the mark restarts the resend wait, and
the station says the same mark again at most every REACK_EVERY_S."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.services.station import utc_now
from sync.envelope import encode, new_message
from sync.hq.db import transaction
from sync.hq.downlink import enqueue_downlink
from sync.hq.ingest import Ingest
from sync.hq.tables import HqDownCursor
from sync.signing import Keyring, Signer
from tests.sync.conftest import hq_rows
from tests.sync.test_round_trip import CATALOG

SIGNER = Signer.generate("S1-k1")


def _hq(engine) -> Ingest:
    return Ingest(engine, Keyring({SIGNER.kid: SIGNER.public_pem()}), clock=lambda: datetime.now(UTC))


def _say(hq: Ingest, leaf: str, kind: str, **fields) -> list:
    return hq.handle(f"st/S1/up/{leaf}", encode(SIGNER.sign(new_message(kind, station="S1", **fields))))


def _logs(out: list) -> list[int]:
    return [o.message["seq"] for o in out if o.message["kind"] == "log"]


def test_a_hello_rewinds_only_a_station_behind_hqs_mark(hq_engine):
    hq = _hq(hq_engine)
    with transaction(hq_engine) as session:
        for n in range(1, 6):
            enqueue_downlink(session, "S1", "catalog", "catalog.version", f"v{n}", {**CATALOG, "version": f"v{n}"},
                             utc_now())
    assert _logs(_say(hq, "hello", "hello", epoch="e1", applied={}, heads={})) == [1, 2, 3, 4, 5]
    # connected again: the same hello, nothing applied yet; what is out is not sent a second time
    assert _logs(_say(hq, "hello", "hello", epoch="e1", applied={}, heads={})) == []
    assert _logs(_say(hq, "ack", "ack", stream="catalog", applied_upto=3)) == []
    # a station behind HQ's mark (a restored database) gets the stream again from its own mark
    assert _logs(_say(hq, "hello", "hello", epoch="e2", applied={"catalog": 1}, heads={})) == [2, 3, 4, 5]


def test_an_ack_that_moves_the_mark_restarts_the_resend_wait(hq_engine):
    hq = _hq(hq_engine)
    with transaction(hq_engine) as session:
        enqueue_downlink(session, "S1", "catalog", "catalog.version", "v1", {**CATALOG, "version": "v1"}, utc_now())
        enqueue_downlink(session, "S1", "catalog", "catalog.version", "v2", {**CATALOG, "version": "v2"}, utc_now())
    _say(hq, "hello", "hello", epoch="e1", applied={}, heads={})
    long_ago = datetime.now(UTC) - timedelta(minutes=5)
    with transaction(hq_engine) as session:
        session.execute(HqDownCursor.__table__.update().values(sent_at=long_ago))
    _say(hq, "ack", "ack", stream="catalog", applied_upto=1)
    (sent_at,), = hq_rows(hq_engine, "SELECT sent_at FROM hq_down_cursor WHERE stream = 'catalog'")
    sent_at = sent_at if isinstance(sent_at, datetime) else datetime.fromisoformat(str(sent_at))
    assert sent_at.replace(tzinfo=UTC) > long_ago + timedelta(minutes=4)


def test_the_station_says_the_same_mark_again_only_after_a_while(station):
    from sync.station.downlink import Downlink

    said: list[bytes] = []
    downlink = Downlink(station, SIGNER, lambda topic, payload: said.append(payload),
                        max_clock_ahead=timedelta(hours=1), after_epoch_change=lambda: None)
    for _ in range(5):  # the same message received five times
        downlink._ack("catalog", 3)
        downlink.flush_acks()
    assert len(said) == 1
    downlink._ack("catalog", 4)  # a new mark goes at once
    downlink.flush_acks()
    assert len(said) == 2
