"""Roster exceptions reach HQ as any station event does: HQ keeps them in its generic event log
(`hq_inbox` holds each event whole, `hq_event` its type once per idem_key); no table of their own."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

from edge.services import roster
from edge.store.outbox import pending_events
from sync.envelope import batch_message, encode, new_message
from sync.hq.ingest import Ingest
from sync.signing import Keyring, Signer
from tests.stations import MANAGER, make_station
from tests.sync.conftest import hq_rows


def test_hq_keeps_the_roster_events_whole_in_its_event_log(tmp_path, sqlite_hq):
    station = make_station(tmp_path)
    try:
        roster.set_exception(station, "T1", day=date(2026, 11, 24), kind="sick", note="flu", manager=MANAGER)
        roster.remove_exception(station, "T1", day=date(2026, 11, 24), manager=MANAGER)
        with station.store.read() as conn:
            ops = [e for e in pending_events(conn) if e["stream"] == "ops"]
        sid, epoch = station.settings.station.id, station.epoch
    finally:
        station.store.close()
    signer = Signer.generate(f"{sid}-k1")
    hq = Ingest(sqlite_hq, Keyring({signer.kid: signer.public_pem()}), clock=lambda: datetime.now(UTC))
    send = lambda kind, message: hq.handle(f"st/{sid}/up/{kind}", encode(signer.sign(message)))  # noqa: E731
    send("hello", new_message("hello", station=sid, epoch=epoch, applied={}, heads={}))
    items = [{"seq": e["seq"], "type": e["type"], "entity_id": e["entity_id"], "idem_key": e["idem_key"],
              "hlc": e["hlc"], "body": json.loads(e["body"])} for e in ops]
    send("ops", batch_message(sid, epoch, "ops", items, head=len(items), known_acked=0))

    stored = hq_rows(sqlite_hq, "SELECT status, event FROM hq_inbox WHERE stream = 'ops' ORDER BY seq")
    assert [status for status, _ in stored] == ["applied", "applied"]
    set_event, removed_event = (json.loads(event) for _, event in stored)
    assert set_event["type"] == "roster.exception_set" and removed_event["type"] == "roster.exception_removed"
    assert set_event["body"]["kind"] == "sick" and set_event["body"]["note"] == "flu"
    assert set_event["body"]["date"] == "2026-11-24" and set_event["entity_id"] == "T1"
    assert hq_rows(sqlite_hq, "SELECT type FROM hq_event WHERE stream = 'ops' ORDER BY seq") == [
        ("roster.exception_set",), ("roster.exception_removed",)]
