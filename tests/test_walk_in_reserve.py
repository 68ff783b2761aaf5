"""The walk-in reserve against a real station: the phone and the app kept off reserved cells until
the cut-off, walk-ins and the counter never; availability, placement, app requests and the CLI.

The test station opens 08:00-18:00 (20 cells a bay). With wash = 0.25 and lift = 0.2 the
reserved cells are W1 09:00, 11:00, 13:00, 15:00, 17:00 and L1 08:30, 11:00, 13:30, 16:00,
L2 09:30, 12:00, 14:30, 17:00 (tests/test_domain_walk_in_reserve.py shows why).
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from edge.config import ConfigError, parse_settings
from edge.errors import RuleViolation
from edge.services import availability, bookings, walk_in_reserve
from edge.services.escrow import apply_downlink
from edge.store.types import to_db_time
from tests.stations import TEST_CONFIG, make_station
from tests.test_cli import cli

TZ = ZoneInfo("Asia/Shanghai")
TUESDAY = date(2026, 11, 24)
RESERVE = "\n[booking.walk_in_reserve]\ncutoff_minutes = 120\nshares = { wash = 0.25, lift = 0.2 }\n"
RESERVE_CONFIG = TEST_CONFIG + RESERVE


def at(hh: int, mm: int = 0, day: date = TUESDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def station(tmp_path):
    # Monday 07:00: every reserved cell of Tuesday is before its cut-off
    station = make_station(tmp_path, config=RESERVE_CONFIG)
    yield station
    station.store.close()


def starts(options, bay: str | None = None) -> set[datetime]:
    return {o.start for o in options if bay is None or o.bay_id == bay}


def test_the_station_reserves_its_configured_share_of_each_kind(station):
    cells = walk_in_reserve.reserved_cells(station, TUESDAY)
    assert {start for bay, start in cells if bay == "W1"} == {at(h) for h in (9, 11, 13, 15, 17)}
    assert {start for bay, start in cells if bay == "L1"} == {at(8, 30), at(11), at(13, 30), at(16)}
    assert {start for bay, start in cells if bay == "L2"} == {at(9, 30), at(12), at(14, 30), at(17)}


def test_a_phone_booking_on_a_reserved_cell_is_refused_before_the_cutoff_and_accepted_after(station):
    with pytest.raises(RuleViolation, match=r"bay W1 at 2026-11-24 09:00 is reserved for walk-ins until 07:00"):
        bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", channel="phone")
    with pytest.raises(RuleViolation, match="reserved for walk-ins"):
        bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", channel="app",
                      now=at(6, 59))
    # from 07:00 (two hours before) the cell is open to every channel
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", channel="phone", now=at(7))
    assert (booking.bay_id, booking.start_at) == ("W1", at(9))


def test_walk_ins_and_the_counter_take_reserved_cells_at_any_time(station):
    walk_in = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", channel="walk_in")
    counter = bookings.book(station, services=["WASH"], start=at(11), plate="沪A22222")
    assert (walk_in.bay_id, walk_in.start_at, counter.start_at) == ("W1", at(9), at(11))


def test_a_phone_booking_takes_another_bay_of_the_kind_when_its_first_is_reserved(station):
    # OIL takes 08:30 and 09:00 (45 minutes and the lift's turnover): L1's 08:30 is reserved, L2 is free
    booking = bookings.book(station, services=["OIL"], start=at(8, 30), plate="沪A11111", channel="phone")
    assert booking.bay_id == "L2"
    # the bay asked for is kept to: on it the reserve refuses
    with pytest.raises(RuleViolation, match="bay L1 at 2026-11-24 08:30 is reserved"):
        bookings.book(station, services=["OIL"], start=at(8, 30), plate="沪A22222", channel="phone", bay_id="L1")


def test_a_multi_leg_phone_booking_avoids_reserved_cells_else_is_refused(station):
    # lift 08:00-09:00 on L2 (L1's 08:30 is reserved), then the wash: 09:00 is reserved, 09:30 is taken
    booking = bookings.book(station, services=["PKG"], start=at(8), plate="沪A11111", channel="phone")
    legs = bookings.legs(station, booking.code)
    assert [(leg.bay_id, leg.start_at) for leg in legs] == [("L2", at(8)), ("W1", at(9, 30))]
    bookings.cancel(station, booking.code)
    # with the wash at 09:30 and 10:00 taken, only the reserved 09:00 is left within the wait
    for hh, mm in ((9, 30), (10, 0)):
        bookings.book(station, services=["WASH"], start=at(hh, mm), plate=f"沪B{hh:02d}{mm:02d}0", channel="walk_in")
    with pytest.raises(RuleViolation, match="bay W1 at 2026-11-24 09:00 is reserved for walk-ins until 07:00"):
        bookings.book(station, services=["PKG"], start=at(8), plate="沪A11111", channel="phone")
    walk_in = bookings.book(station, services=["PKG"], start=at(8), plate="沪A11111", channel="walk_in")
    assert [leg.start_at for leg in bookings.legs(station, walk_in.code)] == [at(8), at(9)]


def test_a_phone_booking_moved_at_the_counter_stays_off_the_reserve(station):
    booking = bookings.book(station, services=["WASH"], start=at(8), plate="沪A11111", channel="phone")
    with pytest.raises(RuleViolation, match="bay W1 at 2026-11-24 11:00 is reserved"):
        bookings.reschedule(station, booking.code, start=at(11))
    assert bookings.booking(station, booking.code).start_at == at(8)  # it stays where it was
    assert bookings.reschedule(station, booking.code, start=at(10)).start_at == at(10)


def test_a_phone_caller_is_not_offered_reserved_cells_until_their_cutoff(station):
    counter = availability.free_starts(station, day=TUESDAY, services=["WASH"])
    phone = availability.free_starts(station, day=TUESDAY, services=["WASH"], channel="phone")
    assert starts(counter) - starts(phone) == {at(h) for h in (9, 11, 13, 15, 17)}
    # on Tuesday at 10:00 the 11:00 cell is inside its cut-off; 13:00 is not yet
    later = availability.free_starts(station, day=TUESDAY, services=["WASH"], channel="app", now=at(10))
    assert at(11) in starts(later) and at(13) not in starts(later)
    # a multi-leg start is offered to the phone only where no leg lands on a reserved cell
    routes = availability.free_starts(station, day=TUESDAY, services=["PKG"], channel="phone")
    held = walk_in_reserve.held_back(station, TUESDAY, now=station.clock())
    assert routes and not any(walk_in_reserve.touches(o, held) for o in routes)


def test_an_app_request_for_a_reserved_cell_is_rejected_with_the_reason(station):
    with station.store.write() as conn:
        apply_downlink(station, conn, "app_booking.requested",
                       {"booking_id": "app-1", "bay_id": "W1", "cells": [to_db_time(at(9))], "services": ["WASH"],
                        "plate": "沪C33333"}, station.clock())
        row = conn.execute("SELECT body FROM outbox WHERE type = 'escrow.answered'").fetchone()
    answer = json.loads(row[0])
    assert answer["decision"] == "rejected" and "reserved for walk-ins until 07:00" in answer["reason"]


def test_a_bad_reserve_names_the_key_and_line():
    for shares, problem in (("{ wash = 1.5 }", "must be at most 1.0, got 1.5"), ("{ film = 0.2 }", "no bay of kind 'film'")):
        text = TEST_CONFIG + f"\n[booking.walk_in_reserve]\nshares = {shares}\n"
        with pytest.raises(ConfigError) as err:
            parse_settings(text, source="station.toml")
        line = text.splitlines().index(f"shares = {shares}") + 1
        assert err.value.line == line and err.value.key.startswith("booking.walk_in_reserve.shares")
        assert problem in err.value.message


# -- the command line ----------------------------------------------------------------------------


@pytest.fixture
def data_dir(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650")
                      + RESERVE, encoding="utf-8")
    data = tmp_path / "data"
    assert cli(capsys, "--data-dir", data, "init", "--config", config)[0] == 0
    return data


def test_slots_marks_reserved_starts_and_a_phone_channel_does_not_see_them(data_dir, capsys):
    day = "2030-01-07"  # far ahead: every reserved cell is before its cut-off
    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", day, "--services", "WASH")
    assert code == 0 and "09:00*" in out and "08:30 " in out and "08:30*" not in out
    assert "* on the walk-in reserve" in out and "from 120 minutes before its start" in out

    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", day, "--services", "WASH",
                       "--channel", "phone")
    assert code == 0 and "09:00" not in out and "08:30" in out and "*" not in out

    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", day, "--services", "WASH", "--json")
    flags = {o["start"][11:16]: o["reserved"] for o in json.loads(out)}
    assert flags["09:00"] is True and flags["08:30"] is False
    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", day, "--services", "WASH", "--json",
                       "--channel", "phone")
    assert code == 0 and "09:00" not in {o["start"][11:16] for o in json.loads(out)}

    code, _, err = cli(capsys, "--data-dir", data_dir, "book", "--start", f"{day}T09:00", "--services", "WASH",
                       "--plate", "沪A12345", "--channel", "phone")
    assert code != 0 and "reserved for walk-ins" in err
    code, out, _ = cli(capsys, "--data-dir", data_dir, "book", "--start", f"{day}T09:00", "--services", "WASH",
                       "--plate", "沪A12345", "--channel", "walk_in")
    assert code == 0 and "booked" in out
    # a booked reserved cell is no longer free, so no longer marked
    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", day, "--services", "WASH")
    assert "09:00" not in out and "11:00*" in out

