"""Bookings in legs across slot escrow, end to end against HQ's real database (SQLite file and
PostgreSQL): an app customer books the care package (a lift, then the wash bay) through HQ's
command line, the station writes it over a real Mosquitto and the car checks in at its first
leg from the station's command line; a station booking with a leg on HQ's cells waits for
HQ's answer, which confirms or rejects every leg at once, freeing every leg's cells on both sides.
"""

from __future__ import annotations

import json
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from edge.cli.main import main
from edge.domain.booking_state import BookingState
from edge.errors import RuleViolation, SlotTaken
from edge.services import bookings
from edge.services.station import utc_now
from sync.hq import escrow as hq_escrow
from sync.hq.db import open_engine, transaction
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.sync.conftest import STATION_ID, hq_rows, reopen, start_hq, start_station_sync, sync_settings, wait_until
from tests.sync.test_escrow_partition import Link, configure, confirmed_per_cell, tentative_left
from tests.test_escrow import MONDAY
from tests.test_escrow import station as escrow_station  # noqa: F401  (the fixture: a station with HQ's share)
from tests.test_escrow_legs import claims, route


def _midday_zone() -> str:
    """A fixed-offset zone where it is around noon now: the package's legs fit before midnight."""
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX sign: Etc/GMT-8 is UTC+8


@contextmanager
def transaction_of(db: str):
    engine = open_engine(db)
    try:
        with transaction(engine) as session:
            yield session
    finally:
        engine.dispose()


def hq_claims(engine, booking_id: str) -> list[tuple]:
    return hq_rows(engine, "SELECT bay_id, slot_start FROM hq_escrow_claim WHERE booking_id = :b ORDER BY slot_start",
                   b=booking_id)


def test_an_app_customer_books_the_care_package_through_hq_and_checks_in_at_the_lift(
        tmp_path, broker, keys, hq_engine, hq_url, runners, capsys):
    config = TEST_CONFIG.split("[booking.hot_slots]")[0].replace('"08:00-18:00"', '"00:00-24:00"')
    station = make_station(tmp_path, config=config.replace('"Asia/Shanghai"', f'"{_midday_zone()}"'))
    station.clock = utc_now
    try:
        # the first whole half hour from ten minutes on: the car may check in now (two hours early at most)
        step = 30 * 60
        lift = datetime.fromtimestamp(-(-int(utc_now().timestamp() + 600) // step) * step, UTC)
        wash = lift + timedelta(hours=1)  # the oil change and the lift's turnover take an hour

        code = main(["--json", "hq", "book", STATION_ID, "--leg", f"L1,{lift.isoformat()},2",
                     "--leg", f"W1,{wash.isoformat()},1", "--services", "PKG", "--plate", "沪A77777",
                     "--db", hq_url])
        made = json.loads(capsys.readouterr().out)
        # no split configured: the station owns every cell, so it decides for the whole booking
        assert code == 0 and made["state"] == "tentative"
        assert [leg["bay_id"] for leg in made["legs"]] == ["L1", "W1"]

        start_hq(runners, hq_engine, keys, broker)
        start_station_sync(runners, reopen(station), sync_settings(broker, keys))
        wait_until(lambda: hq_rows(hq_engine, "SELECT state FROM hq_escrow_booking WHERE booking_id = :b",
                                   b=made["booking_id"]) == [("confirmed",)], what="the station's answer at HQ")
        booking = bookings.booking(station, made["booking_id"])
        assert (booking.state, booking.channel, booking.bay_id) == (BookingState.CONFIRMED, "app", "L1")
        assert [(leg.bay_id, leg.start_at) for leg in bookings.legs(station, booking.id)] == [("L1", lift),
                                                                                               ("W1", wash)]

        data_dir = str(station.store.path.parent)
        # the customer calls: half an hour later, both legs move at the counter (the station owns every cell)
        later = lift + timedelta(minutes=30)
        assert main(["--data-dir", data_dir, "--json", "booking", "reschedule", booking.code,
                     "--start", later.isoformat()]) == 0
        moved = json.loads(capsys.readouterr().out)
        assert [(leg["bay_id"], leg["start_at"]) for leg in moved["legs"]] == [
            ("L1", later.strftime("%Y-%m-%dT%H:%M:%SZ")), ("W1", (later + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))]
        assert main(["--data-dir", data_dir, "--json", "checkin", "--booking", booking.code]) == 0
        capsys.readouterr()
        arrived = bookings.booking(station, booking.id)
        assert (arrived.state, arrived.bay_id, arrived.leg) == (BookingState.CHECKED_IN, "L1", 0)
    finally:
        station.store.close()


def test_a_station_booking_with_a_leg_on_hqs_cells_is_settled_whole_by_hq(escrow_station, hq_engine):
    station = escrow_station
    configure(hq_engine)
    link = Link(station, hq_engine)

    # the lift's cells are the station's, the wash cell HQ's: tentative until HQ answers
    lift, wash = route(station, "station", "hq")
    kept = bookings.book(station, services=["PKG"], start=lift, plate="沪A11111", bay_id="L1")
    assert kept.state == BookingState.TENTATIVE
    link.heal()
    assert bookings.booking(station, kept.id).state == BookingState.CONFIRMED
    assert hq_claims(hq_engine, kept.id) == [("W1", claims(station, kept.id)[0][-1][1])]

    # HQ sells a wash cell in the app while the station, not knowing, books the package onto it
    later_lift, later_wash = route(station, "station", "hq", lift_bay="L2", after=lift)
    with transaction(hq_engine) as session:
        sold = hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=later_wash, services=["WASH"],
                                  plate="沪C33333", now=NOW)
    assert sold["state"] == "confirmed"
    lost = bookings.book(station, services=["PKG"], start=later_lift, plate="沪A22222", bay_id="L2")
    assert lost.state == BookingState.TENTATIVE
    link.heal()
    assert bookings.booking(station, lost.id).state == BookingState.REJECTED
    assert hq_rows(hq_engine, "SELECT state FROM hq_escrow_booking WHERE booking_id = :b", b=lost.id) == [("rejected",)]
    # nothing of the rejected booking is held on either side: not the station's lift, not HQ's wash
    assert claims(station, lost.id) == ([], 0) and hq_claims(hq_engine, lost.id) == []
    assert bookings.booking(station, sold["booking_id"]).state == BookingState.CONFIRMED

    # the confirmed one is cancelled at the station: HQ frees its wash cell, and the app may sell it
    bookings.cancel(station, kept.code)
    link.heal()
    assert hq_claims(hq_engine, kept.id) == []
    with transaction(hq_engine) as session:
        assert hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=wash, services=["WASH"], plate="沪C44444",
                                  now=NOW)["state"] == "confirmed"


def test_hq_book_names_a_malformed_leg_and_refuses_a_leg_sold_already(tmp_path, capsys):
    db = str(tmp_path / "hq.db")

    def cli(*args: str) -> tuple[int, str]:
        try:
            code = main(["--json", "hq", "book", STATION_ID, *args, "--services", "PKG", "--plate", "沪A1",
                         "--db", db])
        except SystemExit as stopped:  # argparse's own refusal of a malformed argument
            code = stopped.code
        out, err = capsys.readouterr()
        return code, out + err

    code, out = cli("--leg", "L1,tomorrow,2")
    assert code == 2 and "argument --leg: 'tomorrow' is not a time" in out
    code, out = cli("--leg", "L1,2026-11-24T09:00+08:00")
    assert code == 2 and "is not BAY,START,CELLS" in out
    code, out = cli("--leg", "L1,2026-11-24T09:00,2")
    assert code == 2 and "--leg" in out and "offset" in out
    code, out = cli("--leg", "L1,2026-11-24T09:00+08:00,2", "--start", "2026-11-24T09:00+08:00")
    assert code == 2 and "--start goes with --bay" in out
    legs = ("--leg", "L1,2026-11-24T09:00+08:00,2", "--leg", "W1,2026-11-24T10:00+08:00,1")
    assert cli(*legs)[0] == 0
    code, out = cli("--leg", "L2,2026-11-24T09:00+08:00,2", "--leg", "W1,2026-11-24T10:00+08:00,1")
    assert code == 6 and "already sold" in out
    with transaction_of(db) as session:
        assert session.execute(text("SELECT count(*) FROM hq_escrow_claim WHERE bay_id = 'L2'")).scalar() == 0


def test_both_sides_sell_the_care_package_while_cut_off_and_converge_without_double_booking(escrow_station,
                                                                                            hq_engine):
    station = escrow_station
    configure(hq_engine)
    link = Link(station, hq_engine)
    made_here, made_at_hq = [], []
    for i, start in enumerate(cell.start for cell in station.grid(MONDAY)):
        # a side refusing a start (taken, closing, no mechanic free) is an outcome this test expects
        with suppress(SlotTaken, RuleViolation):
            made_here.append(bookings.book(station, services=["PKG"], start=start, plate=f"沪S{i:04d}0",
                                           bay_id="L1", channel="walk_in"))
        # HQ's customers wash 90 minutes after the lift starts, every other one an hour after: the
        # wash cell the station takes for its own package then
        wash = start + timedelta(minutes=60 if i % 4 else 90)
        legs = [hq_escrow.AppLeg("L2", start, 2), hq_escrow.AppLeg("W1", wash, 1)]
        with transaction(hq_engine) as session, suppress(hq_escrow.EscrowRefused):
            made_at_hq.append(hq_escrow.book_app(session, STATION_ID, legs=legs, services=["PKG"],
                                                 plate=f"沪H{i:04d}0", now=NOW))
    assert {b.state for b in made_here} == {BookingState.CONFIRMED, BookingState.TENTATIVE}
    assert made_at_hq
    link.heal()

    assert tentative_left(station, hq_engine) == 0
    assert all(len(booked) == 1 for booked in confirmed_per_cell(station, hq_engine).values())
    # what HQ counts as sold in the app stands at the station with both its legs
    app = dict(hq_rows(hq_engine, "SELECT booking_id, state FROM hq_escrow_booking WHERE origin = 'app'"))
    assert set(app.values()) == {"confirmed", "rejected"}
    for booking_id in (b for b, state in app.items() if state == "confirmed"):
        assert bookings.booking(station, booking_id).state == BookingState.CONFIRMED
        assert [leg.bay_id for leg in bookings.legs(station, booking_id)] == ["L2", "W1"]
