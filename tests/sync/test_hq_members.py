"""Member balances at HQ: the fold of stations' points and prepaid entries, the snapshots it
sends down (one per member and station per transaction), and, over a real Mosquitto, a station
whose shown balance survives the round trip while a second station learns the new balance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from edge.services import ledgers
from edge.services.hq_updates import apply_member
from edge.services.members import enroll
from edge.services.station import Station, utc_now
from sync.hq import effects
from sync.hq.db import insert_ignore, transaction
from sync.hq.downlink import record_applied
from sync.hq.member_tables import HqMemberStation
from sync.hq.members import find_member, resend_snapshot
from sync.signing import Signer
from tests.stations import TEST_CONFIG, make_station
from tests.sync.conftest import (REPO, STATION_ID, backlog, hq_rows, reopen, start_hq, start_station_sync,
                                 sync_settings, wait_until)

OTHER_ID = "TST-002"


def signing_key_of(tmp_path: Path, keys, station_id: str) -> str:
    """A signing key for another station, its public key put where HQ finds the stations' keys
    (call it before HQ starts); the private key file's path, for that station's [sync] signing_key."""
    signer = Signer.generate(f"{station_id}-2026")
    private, _ = signer.save(tmp_path / f"{station_id}-keys")
    signer.publish(keys.station_pubs)
    return str(private)


def station_at(tmp_path: Path, station_id: str = STATION_ID) -> Station:
    tmp_path.mkdir(parents=True, exist_ok=True)
    made = make_station(tmp_path, config=TEST_CONFIG.replace(f'id = "{STATION_ID}"', f'id = "{station_id}"', 1))
    made.clock = utc_now
    return made


def outbox(station: Station, after: int = 0) -> list[dict]:
    """The station's member and payment events after outbox id `after`, as HQ's ingest hands them on."""
    with station.store.read() as conn:
        rows = conn.execute("SELECT id, type, entity_id, idem_key, hlc, body FROM outbox WHERE id > ? ORDER BY id",
                            (after,)).fetchall()
    return [{"id": r["id"], "type": r["type"], "entity_id": r["entity_id"], "idem_key": r["idem_key"],
             "hlc": r["hlc"], "body": json.loads(r["body"])} for r in rows]


def to_hq(engine, station_id: str, events: list[dict]) -> None:
    """Events into HQ's effects in one transaction, as one ingest group would."""
    with transaction(engine) as session:
        for event in events:
            effects.on_station_event(session, station_id, event, utc_now())


def snapshots(engine, station_id: str, after: int = 0) -> list[tuple[int, dict]]:
    rows = hq_rows(engine, "SELECT seq, body FROM hq_downlink WHERE station_id = :s AND stream = 'member'"
                           " AND seq > :a ORDER BY seq", s=station_id, a=after)
    return [(seq, body if isinstance(body, dict) else json.loads(body)) for seq, body in rows]


def apply_down(engine, station: Station, station_id: str, after: int = 0) -> int:
    """Apply HQ's member log at the station as its downlink would; the last seq applied."""
    for seq, body in snapshots(engine, station_id, after):
        with station.store.write() as conn:
            apply_member(station, conn, "member.snapshot", body, utc_now())
        after = seq
    with transaction(engine) as session:
        record_applied(session, station_id, "member", after, rewind=False)
    return after


def known_elsewhere(engine, member_id: str) -> None:
    """Another station knows the member too: HQ's snapshots go to every station that knows a
    member (one only this station knows costs no downlink: see the test of that)."""
    with transaction(engine) as session:
        insert_ignore(session, HqMemberStation.__table__,
                      [{"member_id": member_id, "station_id": OTHER_ID, "first_seen_at": utc_now()}])


def balances(station: Station, member_id: str) -> tuple[int, int]:
    with station.store.read() as conn:
        return ledgers.points_balance(conn, member_id), ledgers.prepaid_balance(conn, member_id)


def hq_balance(engine, member_id: str) -> tuple[int, int]:
    with transaction(engine) as session:
        view = find_member(session, member_id)
    return view.points, view.prepaid_minor


def member_activity(station: Station, phone: str = "13900139000") -> str:
    """Enrol, then `spend`; the member id."""
    member_id = enroll(station, phone=phone, name="Li", tier="gold").member.id
    spend(station, member_id)
    return member_id


def spend(station: Station, member_id: str) -> None:
    """Earn 100, redeem 30, top up 5000, pay 1200 from prepaid: 70 points and 38.00 left."""
    now = utc_now()
    with station.store.write() as conn:
        ledgers.earn_points(conn, station, member_id=member_id, points=100, now=now)
        ledgers.redeem_points(conn, station, member_id=member_id, points=30, now=now)
        ledgers.prepaid_entry(conn, station, member_id=member_id, kind="top_up", amount_minor=5000, now=now)
        ledgers.prepaid_entry(conn, station, member_id=member_id, kind="debit", amount_minor=-1200, now=now)


# -- the fold, without a broker --------------------------------------------------------------------


def test_hq_folds_a_stations_entries_and_the_snapshot_leaves_its_balance_unchanged(tmp_path, hq_engine):
    station = station_at(tmp_path)
    member_id = member_activity(station)
    known_elsewhere(hq_engine, member_id)
    before = balances(station, member_id)
    to_hq(hq_engine, STATION_ID, outbox(station))
    assert hq_balance(hq_engine, member_id) == before == (70, 3800)
    (seq, body), = snapshots(hq_engine, STATION_ID)  # one snapshot for the whole transaction
    assert (body["phone"], body["name"], body["tier"]) == ("13900139000", "Li", "gold")
    assert len(body["counted_points"]) == 2 and len(body["counted_prepaid"]) == 2
    apply_down(hq_engine, station, STATION_ID)
    assert balances(station, member_id) == before
    with station.store.read() as conn:
        uncounted = conn.execute("SELECT (SELECT count(*) FROM points_entry WHERE NOT counted_by_hq)"
                                 " + (SELECT count(*) FROM prepaid_entry WHERE NOT counted_by_hq)").fetchone()[0]
        snapshot = tuple(conn.execute("SELECT points_snapshot, prepaid_snapshot_minor FROM member_balance"
                                      " WHERE member_id = ?", (member_id,)).fetchone())
    assert uncounted == 0 and snapshot == (70, 3800)
    station.store.close()


def test_replayed_events_change_nothing(tmp_path, hq_engine):
    station = station_at(tmp_path)
    member_id = member_activity(station)
    known_elsewhere(hq_engine, member_id)
    events = outbox(station)
    to_hq(hq_engine, STATION_ID, events)
    state = hq_rows(hq_engine, "SELECT points, prepaid_minor, version FROM hq_member")
    to_hq(hq_engine, STATION_ID, [e for e in events if e["type"] != "member.created"])  # entries again
    assert hq_rows(hq_engine, "SELECT points, prepaid_minor, version FROM hq_member") == state
    assert len(snapshots(hq_engine, STATION_ID)) == 1
    assert hq_balance(hq_engine, member_id) == (70, 3800)
    station.store.close()


def test_later_entries_are_counted_in_the_next_snapshot_and_the_station_keeps_its_balance(tmp_path, hq_engine):
    station = station_at(tmp_path)
    member_id = member_activity(station)
    known_elsewhere(hq_engine, member_id)
    to_hq(hq_engine, STATION_ID, outbox(station))
    applied = apply_down(hq_engine, station, STATION_ID)
    last = max(e["id"] for e in outbox(station))
    now = utc_now()
    with station.store.write() as conn:
        ledgers.earn_points(conn, station, member_id=member_id, points=40, now=now)
        ledgers.prepaid_entry(conn, station, member_id=member_id, kind="refund", amount_minor=200, now=now)
    before = balances(station, member_id)
    to_hq(hq_engine, STATION_ID, outbox(station, last))
    (_, body), = snapshots(hq_engine, STATION_ID, applied)
    # only what the station has not marked yet: the earlier entries were in the applied snapshot
    assert len(body["counted_points"]) == 1 and len(body["counted_prepaid"]) == 1
    apply_down(hq_engine, station, STATION_ID, applied)
    assert balances(station, member_id) == before == hq_balance(hq_engine, member_id) == (110, 4000)
    station.store.close()


def test_a_snapshot_not_yet_applied_is_listed_again_so_compaction_cannot_lose_a_count(tmp_path, hq_engine):
    station = station_at(tmp_path)
    member_id = member_activity(station)
    known_elsewhere(hq_engine, member_id)
    events = outbox(station)
    payments = [e for e in events if e["type"].startswith("prepaid.")]
    to_hq(hq_engine, STATION_ID, [e for e in events if e not in payments])  # the profile, earned, redeemed
    to_hq(hq_engine, STATION_ID, payments)  # the prepaid entries, in another transaction
    (_, first), (_, second) = snapshots(hq_engine, STATION_ID)
    assert len(first["counted_points"]) == 2 and not first["counted_prepaid"]
    assert len(second["counted_points"]) == 2 and len(second["counted_prepaid"]) == 2
    with station.store.write() as conn:  # the station gets only the survivor of a compacted log
        apply_member(station, conn, "member.snapshot", second, utc_now())
    assert balances(station, member_id) == (70, 3800)
    station.store.close()


def test_prepaid_before_the_profile_waits_for_it_then_is_counted(tmp_path, hq_engine):
    station = station_at(tmp_path)
    member_id = member_activity(station)
    known_elsewhere(hq_engine, member_id)
    events = outbox(station)
    payments = [e for e in events if e["type"].startswith("prepaid.")]  # the payment stream drains first
    to_hq(hq_engine, STATION_ID, payments)
    assert snapshots(hq_engine, STATION_ID) == []  # no phone and tier yet: nothing the station could apply
    assert hq_balance(hq_engine, member_id) == (0, 3800)
    to_hq(hq_engine, STATION_ID, [e for e in events if e not in payments])
    (_, body), = snapshots(hq_engine, STATION_ID)
    assert (body["points"], body["prepaid_minor"]) == (70, 3800) and len(body["counted_prepaid"]) == 2
    station.store.close()


def test_another_station_that_knows_the_member_gets_the_new_balance(tmp_path, hq_engine):
    home, other = station_at(tmp_path / "a"), station_at(tmp_path / "b", OTHER_ID)
    member_id = member_activity(home)
    home_events = outbox(home)
    profile = [e for e in home_events if e["type"] == "member.created"]
    to_hq(hq_engine, STATION_ID, profile)  # the profile; HQ then re-sends it to the other station
    with transaction(hq_engine) as session:
        resend_snapshot(session, member_id, utc_now(), OTHER_ID)
    applied = apply_down(hq_engine, other, OTHER_ID)
    now = utc_now()
    with other.store.write() as conn:
        ledgers.earn_points(conn, other, member_id=member_id, points=15, now=now)
    to_hq(hq_engine, OTHER_ID, outbox(other))
    applied = apply_down(hq_engine, other, OTHER_ID, applied)  # its own earn, counted
    to_hq(hq_engine, STATION_ID, [e for e in home_events if e not in profile])
    (_, body), = snapshots(hq_engine, OTHER_ID, applied)
    assert (body["points"], body["prepaid_minor"]) == (85, 3800)
    assert body["counted_points"] == [] and body["counted_prepaid"] == []
    apply_down(hq_engine, other, OTHER_ID, applied)
    apply_down(hq_engine, home, STATION_ID)
    assert balances(other, member_id) == balances(home, member_id) == hq_balance(hq_engine, member_id) == (85, 3800)
    home.store.close()
    other.store.close()


def test_a_balance_taken_below_zero_is_applied_and_alerted(hq_engine):
    known_elsewhere(hq_engine, "m-1")
    profile = {"type": "member.created", "entity_id": "m-1", "hlc": "1", "body": {
        "member": {"id": "m-1", "phone": "13700137000", "name": "", "tier": "guest", "version": 1}}}
    spend = {"type": "points.redeemed", "entity_id": "m-1", "hlc": "2",
             "body": {"entry_id": "p-1", "member_id": "m-1", "points": -50}}
    to_hq(hq_engine, STATION_ID, [profile, spend])
    assert hq_balance(hq_engine, "m-1") == (-50, 0)
    (kind, detail), = hq_rows(hq_engine, "SELECT kind, detail FROM hq_alert")
    assert kind == "member_overdrawn" and "p-1" in detail
    assert snapshots(hq_engine, STATION_ID)[-1][1]["points"] == -50


def test_a_points_event_without_its_entry_is_refused(hq_engine):
    from sync.hq.members import MemberEventInvalid

    with pytest.raises(MemberEventInvalid, match="entry_id"):
        to_hq(hq_engine, STATION_ID, [{"type": "points.earned", "entity_id": "m-1", "body": {"points": 5}}])


def test_one_snapshot_per_transaction_from_what_it_kept(hq_engine):
    known_elsewhere(hq_engine, "m-1")
    from sync.hq.db import Driver

    profile = {"type": "member.created", "entity_id": "m-1", "hlc": "1", "body": {
        "member": {"id": "m-1", "phone": "13700137000", "name": "", "tier": "guest", "version": 1}}}
    earns = [{"type": "points.earned", "entity_id": "m-1", "hlc": "2",
              "body": {"entry_id": f"p-{i}", "member_id": "m-1", "points": 10}} for i in range(3)]
    driver = Driver(hq_engine)
    with transaction(hq_engine) as session:
        effects.on_station_event(session, STATION_ID, profile, utc_now())
        for i, earn in enumerate(earns):  # each in a savepoint, as the ingest applies them; the second fails
            with pytest.raises(RuntimeError) if i == 1 else _nothing(), driver.savepoint(driver.cursor(session)):
                effects.on_station_event(session, STATION_ID, earn, utc_now())
                if i == 1:
                    raise RuntimeError("this event's effect failed")
    (_, body), = snapshots(hq_engine, STATION_ID)
    assert (body["points"], body["counted_points"]) == (20, ["p-0", "p-2"])
    with transaction(hq_engine) as session:  # a transaction that changes no member queues nothing
        effects.on_station_event(session, STATION_ID, earns[0], utc_now())
    assert len(snapshots(hq_engine, STATION_ID)) == 1


def _nothing():
    from contextlib import nullcontext

    return nullcontext()

def test_hq_member_show_and_snapshot_from_the_command_line(tmp_path, sqlite_hq):
    station = station_at(tmp_path / "station")
    member_id = member_activity(station)
    to_hq(sqlite_hq, STATION_ID, outbox(station))
    db = ["--db", str(tmp_path / "hq.db")]

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "edge.cli.main", *args], cwd=REPO, capture_output=True,
                              text=True, timeout=60)

    shown = cli("hq", "member", "show", "13900139000", "--json", *db)
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == {"member_id": member_id, "phone": "13900139000", "name": "Li", "tier": "gold",
                                        "points": 70, "prepaid_minor": 3800, "version": 5, "stations": [STATION_ID]}
    text_out = cli("hq", "member", "show", member_id, *db)
    assert text_out.returncode == 0 and "38.00" in text_out.stdout and STATION_ID in text_out.stdout
    resent = cli("hq", "member", "snapshot", "13900139000", "--station", OTHER_ID, "--json", *db)
    assert resent.returncode == 0, resent.stderr
    assert json.loads(resent.stdout)["queued"] == {OTHER_ID: 1}
    (_, body), = snapshots(sqlite_hq, OTHER_ID)
    assert (body["points"], body["prepaid_minor"], body["counted_points"]) == (70, 3800, [])
    missing = cli("hq", "member", "show", "13000000000", *db)
    assert missing.returncode == 4 and "no member" in missing.stderr
    station.store.close()


# -- over a real Mosquitto --------------------------------------------------------------------------


def member_row(station: Station, member_id: str) -> tuple | None:
    with station.store.read() as conn:
        row = conn.execute("SELECT m.phone, b.points_snapshot, b.prepaid_snapshot_minor FROM member m"
                           " JOIN member_balance b ON b.member_id = m.id WHERE m.id = ?", (member_id,)).fetchone()
    return None if row is None else tuple(row)


def uncounted(station: Station, member_id: str) -> int:
    with station.store.read() as conn:
        return conn.execute("SELECT (SELECT count(*) FROM points_entry WHERE member_id = ? AND NOT counted_by_hq)"
                            " + (SELECT count(*) FROM prepaid_entry WHERE member_id = ? AND NOT counted_by_hq)",
                            (member_id, member_id)).fetchone()[0]


def hq_ledger(engine) -> list[tuple]:
    return hq_rows(engine, "SELECT member_id, points, prepaid_minor, version FROM hq_member ORDER BY member_id") + \
        hq_rows(engine, "SELECT station_id, stream, last_seq FROM hq_down_cursor ORDER BY station_id, stream") + \
        hq_rows(engine, "SELECT count(*) FROM hq_member_entry")


def test_offline_points_and_prepaid_reach_hq_and_come_back_as_a_snapshot_to_both_stations(
        tmp_path, broker, keys, hq_engine, runners):
    home, other = station_at(tmp_path / "home"), station_at(tmp_path / "other", OTHER_ID)
    other_key = signing_key_of(tmp_path, keys, OTHER_ID)  # before HQ starts: it loads the stations' keys then
    start_hq(runners, hq_engine, keys, broker)
    home_sync = start_station_sync(runners, home, sync_settings(broker, keys))
    other_sync = start_station_sync(runners, other, sync_settings(broker, keys, signing_key=other_key))

    member_id = enroll(home, phone="13900139000", name="Li", tier="gold").member.id
    wait_until(lambda: member_row(home, member_id) == ("13900139000", 0, 0) and backlog(home) == 0
               and hq_rows(hq_engine, "SELECT phone FROM hq_member") == [("13900139000",)], what="member at HQ")
    with transaction(hq_engine) as session:  # HQ introduces the member to the second station
        resend_snapshot(session, "13900139000", utc_now(), OTHER_ID)
    wait_until(lambda: member_row(other, member_id) == ("13900139000", 0, 0), what="member at the other station")

    broker.stop()
    wait_until(lambda: not home_sync.link.connected and not other_sync.link.connected, what="stations offline")
    spend(home, member_id)
    shown = balances(home, member_id)
    assert shown == (70, 3800) and uncounted(home, member_id) == 4 and backlog(home) > 0
    broker.start()

    wait_until(lambda: uncounted(home, member_id) == 0, what="HQ's snapshot counted the station's entries")
    assert hq_balance(hq_engine, member_id) == shown
    assert member_row(home, member_id) == ("13900139000", 70, 3800)
    assert balances(home, member_id) == shown  # the snapshot changed what the station shows by nothing
    wait_until(lambda: member_row(other, member_id) == ("13900139000", 70, 3800), what="the other station's snapshot")
    assert balances(other, member_id) == shown
    wait_until(lambda: backlog(home) == 0, what="home drained")

    # every event again (a resend after lost acks): HQ's ledger and the downlink stay as they are
    before = hq_ledger(hq_engine)
    runners.remove(home_runner := runners[1])
    home_runner.stop()
    with home.store.write() as conn:
        conn.execute("UPDATE outbox SET acked_at = NULL")
        conn.execute("DELETE FROM sync_uplink")
    start_station_sync(runners, reopen(home), sync_settings(broker, keys))
    wait_until(lambda: backlog(home) == 0, what="the resent events acked again")
    assert hq_ledger(hq_engine) == before
    assert balances(home, member_id) == balances(other, member_id) == shown


def test_a_member_only_one_station_knows_costs_no_downlink_until_its_database_starts_a_new_epoch(
        tmp_path, hq_engine):
    from datetime import UTC, datetime

    from sync.envelope import encode, new_message
    from sync.hq.ingest import Ingest
    from sync.signing import Keyring

    station = station_at(tmp_path)
    members = [member_activity(station, phone=f"1390013900{i}") for i in range(3)]
    to_hq(hq_engine, STATION_ID, outbox(station))
    assert snapshots(hq_engine, STATION_ID) == []  # the station wrote everything HQ holds of them
    assert hq_balance(hq_engine, members[0]) == balances(station, members[0]) == (70, 3800)
    # the station's database is restored and announces a new epoch: it gets what HQ counted
    signer = Signer.generate(f"{STATION_ID}-k9")
    hq = Ingest(hq_engine, Keyring({signer.kid: signer.public_pem()}), clock=lambda: datetime.now(UTC))
    for epoch in ("epoch-before", "epoch-after-restore"):
        hq.handle(f"st/{STATION_ID}/up/hello", encode(signer.sign(
            new_message("hello", station=STATION_ID, epoch=epoch, applied={}, heads={}))))
    assert sorted(body["member_id"] for _, body in snapshots(hq_engine, STATION_ID)) == sorted(members)
    station.store.close()
