"""The audit trail reaches HQ on its own stream over a real Mosquitto: every entry of a few actions,
once each (a resend changes nothing), and HQ's copy of the station's chain verifies. HQ's staff
accounts reach the station and sign in there."""

from __future__ import annotations

import json
from datetime import datetime, time, timedelta

from edge.domain.pins import hash_pin
from edge.services import audit, bookings, members, staff
from edge.services.station import utc_now
from sync.hq import audit as hq_audit
from sync.hq.db import transaction
from tests.stations import MANAGER, NOW
from tests.sync.conftest import STATION_ID, backlog, hq_rows, reopen, start_hq, start_station_sync, sync_settings, \
    wait_until


def hq_trail(engine) -> list[tuple[int, str]]:
    return [(seq, action) for seq, action in hq_rows(
        engine, "SELECT seq, action FROM hq_audit_entry WHERE station_id = :s ORDER BY seq", s=STATION_ID)]


def station_trail(station) -> list[tuple[int, str]]:
    return [(e.seq, e.action) for e in reversed(audit.entries(station, limit=1000))]


def test_hq_receives_every_audit_entry_once_and_its_copy_of_the_chain_verifies(station, broker, keys, hq_engine,
                                                                               runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))

    tomorrow = station.local(utc_now()).date() + timedelta(days=1)
    booking = bookings.book(station, services=["WASH"], start=datetime.combine(tomorrow, time(14), tzinfo=station.tz),
                            plate="沪A12345", bay_id="W1")
    bookings.cancel(station, booking.code, reason="customer called")
    members.enroll(station, phone="13900139000", name="Li")
    members.override_credit(station, phone="13900139000", score=90, reason="no-show forgiven", manager=MANAGER)
    expected = station_trail(station)
    assert [action for _, action in expected][:2] == ["booking.confirmed", "booking.cancelled"]
    assert "member.credit_override" in {action for _, action in expected}

    wait_until(lambda: backlog(station) == 0 and hq_trail(hq_engine) == expected, what="the trail at HQ")
    with transaction(hq_engine) as session:
        assert hq_audit.verify_station(session, STATION_ID) == (len(expected), None)
        override = [e for e in hq_audit.station_trail(session, STATION_ID) if e["action"] == "member.credit_override"]
    assert override[0]["authorised_by"] == "S01" and override[0]["after"]["credit_score"] == 90

    # every event again (acks lost): HQ keeps each entry once
    runners.remove(station_runner := runners[1])
    station_runner.stop()
    with station.store.write() as conn:
        conn.execute("UPDATE outbox SET acked_at = NULL")
        conn.execute("DELETE FROM sync_uplink")
    start_station_sync(runners, reopen(station), sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="the resent events acked again")
    assert hq_trail(hq_engine) == expected

    # an entry altered at HQ afterwards is found by the same check
    with transaction(hq_engine) as session:
        session.execute(hq_audit.A.update().where(hq_audit.A.c.station_id == STATION_ID, hq_audit.A.c.seq == 2)
                        .values(actor_name="someone else"))
    with transaction(hq_engine) as session:
        count, broken = hq_audit.verify_station(session, STATION_ID)
    assert count == len(expected) and broken is not None and broken.seq == 2


def test_hq_staff_accounts_reach_the_station_and_sign_in_there(station, broker, keys, hq_engine,
                                                                           runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: hq_rows(hq_engine, "SELECT station_id FROM hq_station") != [], what="the station at HQ")
    with transaction(hq_engine) as session:
        hq_audit.set_staff(session, "*", [{"id": "S09", "name": "钱芳", "role": "manager", "card_id": "CARD-9",
                                           "pin_hash": hash_pin("8642")}], NOW)
        hq_audit.set_staff(session, STATION_ID, [{"id": "S10", "name": "吴军", "role": "attendant",
                                                  "pin_hash": hash_pin("1122")}], NOW)
        hq_audit.push_staff(session, STATION_ID, NOW)
    wait_until(lambda: {m.id for m in staff.list_staff(station)} >= {"S09", "S10"}, what="HQ's accounts applied")
    assert staff.sign_in(station, "钱芳", "8642").role == "manager"
    assert staff.sign_in(station, "CARD-9", "8642").id == "S09"
    snapshot = [e for e in audit.entries(station) if e.action == "staff.snapshot"]
    assert snapshot and snapshot[0].actor_id == "hq" and snapshot[0].after == {"accounts": ["S09", "S10"]}


def test_hq_staff_and_audit_commands(tmp_path, sqlite_hq, station, capsys):
    from edge.cli.main import main
    from sync.hq import effects
    from tests.test_staff import STAFF

    accounts = tmp_path / "staff.toml"
    accounts.write_text(STAFF, encoding="utf-8")
    db = ["--db", str(tmp_path / "hq.db")]
    assert main(["hq", "staff", "set", "--station", "*", "--file", str(accounts), *db]) == 0
    assert main(["--json", "hq", "staff", "push", "--station", STATION_ID, *db]) == 0
    assert '"TST-001": 1' in capsys.readouterr().out
    (body,) = [b for (b,) in hq_rows(sqlite_hq, "SELECT body FROM hq_downlink WHERE stream = 'cmd'")]
    assert [a["id"] for a in (body if isinstance(body, dict) else json.loads(body))["accounts"]] == [
        "S01", "S02"]
    accounts.write_text("[[staff]]\nid = 'S05'\n", encoding="utf-8")
    assert main(["hq", "staff", "set", "--station", "*", "--file", str(accounts), *db]) == 2

    members.enroll(station, phone="13900139000", name="Li")
    members.override_credit(station, phone="13900139000", score=80, reason="forgiven", manager=MANAGER)
    with station.store.read() as conn:
        events = [{"type": r["type"], "entity_id": r["entity_id"], "body": json.loads(r["body"])}
                  for r in conn.execute("SELECT type, entity_id, body FROM outbox WHERE stream = 'audit'")]
    with transaction(sqlite_hq) as session:
        for event in events + events:  # twice: kept once
            effects.on_station_event(session, STATION_ID, event, NOW)
    capsys.readouterr()
    assert main(["hq", "audit", "verify", "--station", STATION_ID, *db]) == 0
    assert "TST-001: hash chain verified, 1 held" in capsys.readouterr().out
