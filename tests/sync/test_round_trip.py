"""Station and HQ over a real Mosquitto: events up exactly once, HQ's log down exactly once."""

from __future__ import annotations

from datetime import datetime, timedelta

from edge.services import bookings
from edge.services.ledgers import earn_points, points_balance
from edge.services.members import register_member
from edge.services.station import utc_now
from edge.services.sync_status import sync_status
from sync.hq.db import transaction
from sync.hq.downlink import enqueue_downlink
from tests.stations import NOW
from tests.sync.conftest import (STATION_ID, backlog, hq_keys, hq_rows, make_events, reopen, start_hq,
                                 start_station_sync, station_keys, sync_settings, wait_until)

CATALOG = {
    "version": "hq-2026-11-24",
    "services": [
        {"code": "WASH", "name_zh": "精洗", "name_en": "Fine wash", "category": "wash", "duration_minutes": 30,
         "buffer_minutes": 0, "price_minor": 4500, "skill": None, "bay_kinds": ["wash"], "materials": {}},
        {"code": "OIL", "name_zh": "保养", "name_en": "Oil change", "category": "maintenance",
         "duration_minutes": 45, "buffer_minutes": 15, "price_minor": 31900, "skill": "mechanic",
         "bay_kinds": ["lift"], "materials": {}},
    ],
    "packages": [],
}


def test_events_reach_hq_once_in_order(station, broker, keys, hq_engine, runners):
    make_events(station, 300)
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="outbox drained")
    applied = hq_keys(hq_engine)
    assert sorted(applied) == sorted(station_keys(station))
    assert len(applied) == len(set(applied))
    for stream, count, top in hq_rows(hq_engine, "SELECT stream, count(*), max(seq) FROM hq_inbox GROUP BY stream"):
        assert count == top, stream
    status = sync_status(station)
    assert status.link == "online" and status.backlog == 0 and status.last_ack_at is not None


def test_bookings_and_check_ins_appear_at_hq_once(tmp_path, broker, keys, hq_engine, runners):
    from tests.stations import make_station

    desk = make_station(tmp_path)  # the counter works on the test day's clock
    start = datetime(2026, 11, 23, 2, 0, tzinfo=NOW.tzinfo)  # 10:00 in Shanghai
    made = [bookings.book(desk, services=["WASH"], start=start + timedelta(minutes=30 * i), plate=f"沪A1000{i}",
                          bay_id="W1") for i in range(4)]
    bookings.check_in(desk, made[0].id, now=start)
    sync_side = reopen(desk)
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, sync_side, sync_settings(broker, keys))
    wait_until(lambda: backlog(desk) == 0, what="outbox drained")
    projected = dict(((b, (s, n)) for b, s, n in hq_rows(hq_engine,
                     "SELECT booking_id, state, events FROM hq_booking WHERE station_id = :s", s=STATION_ID)))
    assert projected == {b.id: ("checked_in" if b is made[0] else "confirmed", 2 if b is made[0] else 1)
                         for b in made}
    # the same events again (a resend after a lost ack) change nothing
    before = hq_rows(hq_engine, "SELECT booking_id, state, events FROM hq_booking ORDER BY booking_id")
    with desk.store.write() as conn:
        conn.execute("UPDATE outbox SET acked_at = NULL")
        conn.execute("DELETE FROM sync_uplink")
    runners[-1].stop()
    start_station_sync(runners, reopen(desk), sync_settings(broker, keys))
    wait_until(lambda: backlog(desk) == 0, what="outbox drained again")
    assert hq_rows(hq_engine, "SELECT booking_id, state, events FROM hq_booking ORDER BY booking_id") == before
    desk.store.close()


def test_a_catalogue_version_from_hq_is_applied_once(station, broker, keys, hq_engine, runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    with transaction(hq_engine) as session:
        for _ in range(2):  # published twice: the second is the same version and changes nothing
            enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", CATALOG["version"], CATALOG,
                             utc_now())
    wait_until(lambda: station.catalog().version == CATALOG["version"], what="catalogue applied")
    catalog = station.catalog()
    assert catalog.services["WASH"].price_minor == 4500 and catalog.services["WASH"].name_en == "Fine wash"
    assert "TYRE" not in catalog.services  # HQ's catalogue is the whole catalogue
    wait_until(lambda: _down_applied(hq_engine) == (2, 2), what="HQ sees the station's acks")
    with station.store.read() as conn:
        assert conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'catalog'").fetchone()[0] == 2
        assert conn.execute("SELECT catalog_version FROM node").fetchone()[0] == CATALOG["version"]
    booking = bookings.book(station, services=["WASH"], start=_tomorrow_at(10), plate="沪A55555", bay_id="W1")
    assert (booking.price_version, booking.price_minor) == (CATALOG["version"], 4500)  # sold at HQ's price


def _tomorrow_at(hour: int) -> datetime:
    """`hour` o'clock of the next working day in Shanghai (Saturday mornings are hot slots kept
    for gold members: a walk-in booking there would be refused on the day the suite runs)."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo("Asia/Shanghai")
    day = (utc_now().astimezone(zone) + timedelta(days=1)).date()
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=zone)


def _down_applied(engine):
    rows = hq_rows(engine, "SELECT last_seq, applied_upto FROM hq_down_cursor WHERE stream = 'catalog'")
    return rows[0] if rows else None


def test_a_member_snapshot_replaces_the_balance_and_counts_the_stations_entries(station, broker, keys, hq_engine,
                                                                              runners):
    now = utc_now()
    with station.store.write() as conn:
        member = register_member(conn, station, phone="13800138000", now=now)
        counted = earn_points(conn, station, member_id=member.id, points=100, now=now)
        uncounted = earn_points(conn, station, member_id=member.id, points=7, now=now)
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    # HQ folds the station's entries; the member is this station's alone, so nothing comes back
    wait_until(lambda: backlog(station) == 0, what="the entries at HQ")
    wait_until(lambda: hq_rows(hq_engine, "SELECT points FROM hq_member") == [(107,)], what="HQ's balance")
    assert _counted(station) == 0 and _points(station, member.id) == 107
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_downlink WHERE stream = 'member'") == [(0,)]
    # a later snapshot (another station's deltas, a correction at HQ) replaces the balance; the
    # entry it does not list as counted stays on top of it
    snapshot = {"member_id": member.id, "phone": "13800138000", "name": "Zhang", "tier": "gold", "points": 1100,
                "prepaid_minor": 5000, "counted_points": [counted], "counted_prepaid": []}
    with transaction(hq_engine) as session:
        enqueue_downlink(session, STATION_ID, "member", "member.snapshot", member.id, snapshot, utc_now())
    wait_until(lambda: _points(station, member.id) == 1107, what="snapshot applied")
    assert _counted(station) == 1 and uncounted
    with station.store.read() as conn:
        assert conn.execute("SELECT tier, name FROM member WHERE id = ?", (member.id,)).fetchone()[:] == ("gold",
                                                                                                          "Zhang")


def _counted(station):
    with station.store.read() as conn:
        return conn.execute("SELECT count(*) FROM points_entry WHERE counted_by_hq").fetchone()[0]


def _points(station, member_id):
    with station.store.read() as conn:
        return points_balance(conn, member_id)


def test_an_app_booking_from_hq_appears_at_the_station_once_and_hq_learns_the_answer(station, broker, keys,
                                                                                     hq_engine, runners):
    from sync.hq import escrow as hq_escrow

    start = _tomorrow_at(10)
    with transaction(hq_engine) as session:
        made = hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=start, cells=1, services=["WASH"],
                                  plate="沪A77777", now=utc_now())
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    hq_state = "SELECT state FROM hq_escrow_booking WHERE booking_id = :b"
    wait_until(lambda: hq_rows(hq_engine, hq_state, b=made["booking_id"]) == [("confirmed",)],
               what="the station's answer reached HQ")
    with station.store.read() as conn:
        rows = conn.execute("SELECT channel, state, plate FROM booking WHERE id = ?", (made["booking_id"],)).fetchall()
    assert [tuple(r) for r in rows] == [("app", "confirmed", "沪A77777")]


def test_enterprise_accounts_and_rules_from_hq_are_written_as_hqs(station, broker, keys, hq_engine, runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    messages = [
        ("enterprise.account", "account:E1", {"id": "E1", "name": "顺风物流", "tax_id": "91310000X",
                                              "credit_limit_minor": 5_000_000, "verified": True}),
        ("enterprise.rule", "rule:R1", {"id": "R1", "enterprise_id": "E1", "category": "maintenance",
                                        "above_minor": 100_000, "approver_role": "fleet_manager"}),
        ("enterprise.balance", "balance:E1", {"enterprise_id": "E1", "outstanding_minor": 250_000,
                                              "counted_charges": []}),
    ]
    with transaction(hq_engine) as session:
        for message_type, entity_id, body in messages:
            enqueue_downlink(session, STATION_ID, "enterprise", message_type, entity_id, body, utc_now())

    def applied():
        with station.store.read() as conn:
            row = conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'enterprise'").fetchone()
            return row and row[0]

    wait_until(lambda: applied() == 3, what="enterprise log applied")
    with station.store.read() as conn:
        account = conn.execute("SELECT name, credit_limit_minor, outstanding_snapshot_minor FROM enterprise_account"
                               " WHERE id = 'E1'").fetchone()
        rules = conn.execute("SELECT id, above_minor FROM approval_rule").fetchall()
        conflicts = conn.execute("SELECT count(*) FROM conflict").fetchone()[0]
        sent_back = conn.execute("SELECT count(*) FROM outbox WHERE type = 'enterprise.updated'").fetchone()[0]
    assert tuple(account) == ("顺风物流", 5_000_000, 250_000)
    assert [tuple(r) for r in rules] == [("R1", 100_000)]
    assert conflicts == 0 and sent_back == 0


def test_an_event_hq_refuses_becomes_a_conflict_row_and_the_queue_moves_on(station, broker, keys, hq_engine,
                                                                           runners):
    from edge.store.outbox import append_event

    make_events(station, 5, types=("booking.confirmed",), prefix="before")
    with station.store.write() as conn:  # an escrow request without the cells HQ needs
        append_event(conn, event_type="escrow.requested", entity_id="bk-broken",
                     idem_key="broken", body={"booking_id": "bk-broken"}, now=utc_now())
    make_events(station, 5, types=("booking.confirmed",), prefix="after")
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="drained past the refused event")
    with station.store.read() as conn:
        rows = conn.execute("SELECT kind, entity_id, detail FROM conflict").fetchall()
    assert [(r["kind"], r["entity_id"]) for r in rows] == [("sync_rejected", "bk-broken")]
    assert "broken" in rows[0]["detail"]
    assert sorted(hq_keys(hq_engine)) == sorted([f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(5)])
