"""Strict input: plates and phones a person types, wall times on DST days, one live booking per car,
bad argument values exiting 2 naming the argument, money shown in yuan, a closed pipe, slots per customer."""

from __future__ import annotations

import fcntl
import json
import logging
import subprocess
import sys
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import EXIT_PIPE, main
from edge.domain.phones import normalize_phone
from edge.domain.slots import resolve_wall_time
from edge.errors import InvalidInput, RuleViolation
from edge.services import availability, bookings, members, waitlist
from edge.services.station import open_station
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.test_cli import ROOT, cli, counts, data_dir  # noqa: F401  (data_dir is a fixture)
from tests.test_enterprise import make_fleet
from tests.test_escrow import ESCROW_CONFIG, cells, downlink, first_run

SHANGHAI = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
DAY = "2030-01-07"  # a Monday the CLI's real clock has not reached
AT_9 = f"{DAY}T09:00:00+08:00"


def run(capsys, data_dir, *args: str) -> tuple[int, str, str]:
    """The CLI in-process; argparse's own refusals (SystemExit) count as their exit code."""
    try:
        code = main(["--data-dir", str(data_dir), *map(str, args)])
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


def at(hh: int, mm: int = 0, *, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=SHANGHAI)


# -- plates ----------------------------------------------------------------------------------------


TYPED_PLATE_COMMANDS = [
    ("book", "--start", AT_9, "--services", "WASH"),
    ("booking", "hold", "--start", AT_9, "--services", "WASH"),
    ("member", "add", "--phone", "13800138000"),
    ("member", "vehicle", "--phone", "13800138000"),
    ("booking", "waitlist", "join", "--date", DAY, "--services", "WASH"),
    ("fleet", "vehicle", "add", "--enterprise", "ACME"),
]


@pytest.mark.parametrize("plate", ["ABC", "沪A1234567"])
@pytest.mark.parametrize("command", TYPED_PLATE_COMMANDS, ids=lambda c: " ".join(c[:2]))
def test_a_typed_plate_without_a_mainland_format_exits_2_naming_it_and_writes_nothing(data_dir, capsys, command,
                                                                                      plate):
    before = counts(data_dir)
    code, _, err = run(capsys, data_dir, *command, "--plate", plate)
    assert code == 2, err
    assert f"argument --plate: {plate!r} is not a plate" in err and "province character + letter" in err
    assert counts(data_dir) == before


def test_the_refusal_in_json_names_the_argument(data_dir, capsys):
    code, out, _ = run(capsys, data_dir, "book", "--start", AT_9, "--services", "WASH", "--plate", "ABC", "--json")
    assert code == 2
    assert json.loads(out) == {"error": "bad_argument", "argument": "--plate", "message": json.loads(out)["message"]}


def test_a_foreign_plate_is_booked_with_foreign_upper_cased_and_without_separators(data_dir, capsys):
    code, out, _ = run(capsys, data_dir, "book", "--start", AT_9, "--services", "WASH", "--plate", "b-ab 123",
                       "--foreign", "--json")
    assert code == 0 and json.loads(out)["plate"] == "BAB123"
    code, out, err = run(capsys, data_dir, "member", "add", "--phone", "13800138000", "--plate", "m-xy 99",
                         "--foreign", "--json")
    assert code == 0 and json.loads(out)["vehicles"] == ["MXY99"]


def test_a_plate_hq_sold_in_the_app_is_kept_even_if_the_counter_would_refuse_it(tmp_path, caplog):
    station = make_station(tmp_path, config=ESCROW_CONFIG)
    start = first_run(station, "L1", "hq")
    with caplog.at_level(logging.WARNING, logger="edge.services.escrow"):
        downlink(station, "app_booking.confirmed", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(start),
                                                    "services": ["OIL"], "plate": "d-ab 123", "token": 0})
    assert bookings.booking(station, "app-1").plate == "DAB123"
    assert "app-1" in caplog.text and "keeps its plate 'd-ab 123'" in caplog.text
    station.store.close()


# -- phones ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "normal"), [
    ("13800138000", "13800138000"), ("+86 138-0013-8000", "13800138000"), ("0086 13800138000", "13800138000"),
    ("8613800138000", "13800138000"), ("(139) 0000 0000", "13900000000"),
])
def test_mainland_mobile_numbers_have_one_normal_form(typed, normal):
    assert normalize_phone(typed) == normal


@pytest.mark.parametrize("typed", ["12345", "12800138000", "1380013800", "138001380001", "+4915112345678", "call me"])
def test_anything_else_is_refused_naming_the_phone_unless_foreign_numbers_are_allowed(typed):
    with pytest.raises(InvalidInput, match="expected a mainland mobile number: 11 digits") as caught:
        normalize_phone(typed)
    assert caught.value.field == "phone"


def test_foreign_numbers_pass_where_the_station_allows_them():
    assert normalize_phone("+49 151 1234 5678", foreign_allowed=True) == "+4915112345678"
    with pytest.raises(InvalidInput, match="another country's number"):
        normalize_phone("call me", foreign_allowed=True)


def test_a_member_enrolled_with_plus_86_is_found_without_it(data_dir, capsys):
    code, out, _ = run(capsys, data_dir, "member", "add", "--phone", "+86 138 0013 8000", "--json")
    assert code == 0 and json.loads(out)["phone"] == "13800138000"
    code, out, _ = run(capsys, data_dir, "member", "show", "13800138000", "--json")
    assert code == 0 and json.loads(out)["phone"] == "13800138000"


@pytest.mark.parametrize("command", [
    ("member", "add"),
    ("book", "--start", AT_9, "--services", "WASH", "--plate", "沪A12345"),
    ("booking", "waitlist", "join", "--date", DAY, "--services", "WASH", "--plate", "沪A12345"),
], ids=lambda c: c[0])
def test_a_phone_that_is_no_mainland_mobile_exits_2_naming_it(data_dir, capsys, command):
    before = counts(data_dir)
    code, _, err = run(capsys, data_dir, *command, "--phone", "12345")
    assert code == 2 and "argument --phone: '12345' is not a phone number" in err
    assert counts(data_dir) == before


def test_foreign_phones_in_the_config_let_other_numbers_enrol(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.replace("[booking]\n", "[booking]\nforeign_phones = true\n"), encoding="utf-8")
    data = tmp_path / "data"
    assert run(capsys, data, "init", "--config", config)[0] == 0
    code, out, err = run(capsys, data, "member", "add", "--phone", "+49 151 1234 5678", "--json")
    assert code == 0, err
    assert json.loads(out)["phone"] == "+4915112345678"


def test_foreign_phones_must_be_true_or_false_and_the_error_names_its_line(tmp_path, capsys):
    text = TEST_CONFIG.replace("[booking]\n", '[booking]\nforeign_phones = "yes"\n')
    config = tmp_path / "station.toml"
    config.write_text(text, encoding="utf-8")
    line = text.splitlines().index('foreign_phones = "yes"') + 1
    code, _, err = cli(capsys, "--data-dir", tmp_path / "data", "init", "--config", config)
    assert code == 3 and f"{config}:{line}: booking.foreign_phones:" in err


# -- wall times on DST days ------------------------------------------------------------------------


def test_a_repeated_wall_time_is_its_first_occurrence_and_a_skipped_one_is_refused():
    assert resolve_wall_time(datetime(2027, 10, 31, 2, 30), BERLIN) == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    second = datetime(2027, 10, 31, 2, 30, tzinfo=ZoneInfo("Etc/GMT-1"))  # the user's +01:00: the second one
    assert resolve_wall_time(second, BERLIN) == datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
    with pytest.raises(InvalidInput, match="on 2027-03-28 the clock skips from 02:00 to 03:00") as caught:
        resolve_wall_time(datetime(2027, 3, 28, 2, 30), BERLIN)
    assert caught.value.field == "start"
    assert resolve_wall_time(datetime(2027, 3, 28, 3, 0), BERLIN) == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)


@pytest.fixture
def berlin_dir(tmp_path, capsys):
    """A station in Berlin whose wash is open round the clock on Sundays (DST changes on Sundays)."""
    config = tmp_path / "station.toml"
    text = (TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650")
            .replace('timezone = "Asia/Shanghai"', 'timezone = "Europe/Berlin"')
            .replace('sun = ["08:00-18:00"]', 'sun = ["00:00-24:00"]'))
    config.write_text(text, encoding="utf-8")
    data = tmp_path / "data"
    assert run(capsys, data, "init", "--config", config)[0] == 0
    return data


def test_the_repeated_hour_is_listed_twice_and_a_time_without_offset_books_the_first(berlin_dir, capsys):
    code, out, _ = run(capsys, berlin_dir, "slots", "--date", "2027-10-31", "--services", "WASH", "--bay", "W1",
                       "--json")
    starts = [o["start"] for o in json.loads(out)]
    assert code == 0 and {"2027-10-31T02:30:00+02:00", "2027-10-31T02:30:00+01:00"} <= set(starts)
    code, out, err = run(capsys, berlin_dir, "book", "--start", "2027-10-31T02:30", "--services", "WASH",
                         "--plate", "沪A12345", "--json")
    assert code == 0, err
    assert json.loads(out)["start_at"] == "2027-10-31T00:30:00Z"
    code, out, err = run(capsys, berlin_dir, "book", "--start", "2027-10-31T02:30+01:00", "--services", "WASH",
                         "--plate", "沪B12345", "--json")
    assert code == 0, err
    assert json.loads(out)["start_at"] == "2027-10-31T01:30:00Z"


def test_a_skipped_wall_time_is_refused_saying_the_clock_skips_it(berlin_dir, capsys):
    before = counts(berlin_dir)
    code, _, err = run(capsys, berlin_dir, "book", "--start", "2027-03-28T02:30", "--services", "WASH",
                       "--plate", "沪A12345")
    assert code == 2
    assert ("argument --start: 2027-03-28 02:30 does not exist in Europe/Berlin: on 2027-03-28 the clock skips "
            "from 02:00 to 03:00") in err
    assert counts(berlin_dir) == before


# -- one live booking per car ----------------------------------------------------------------------


def test_a_car_cannot_hold_two_overlapping_live_bookings(station):
    first = bookings.book(station, services=["WASH"], start=at(9), plate="沪A12345", bay_id="W1")
    # the package's lift, then its wash from 09:30 (W1 is taken at 09:00): the car would be here until 10:00
    for services, start in ((["OIL"], at(9)), (["OIL"], at(8, 30)), (["PKG"], at(8))):
        with pytest.raises(RuleViolation, match=f"沪A12345 already has booking {first.code} \\(confirmed\\) from "
                                                "2026-11-23 09:00 to 09:30"):
            bookings.book(station, services=services, start=start, plate="沪A12345")
    with pytest.raises(RuleViolation, match=first.code):
        bookings.book(station, services=["OIL"], start=at(8, 30), plate="沪A12345", hold=True)
    # back to back is no overlap; another car is not this car
    assert bookings.book(station, services=["TYRE"], start=at(9, 30), plate="沪A12345", bay_id="L1")
    assert bookings.book(station, services=["OIL"], start=at(9), plate="沪B12345", bay_id="L2")


def test_a_released_booking_no_longer_blocks_its_car(station):
    first = bookings.book(station, services=["WASH"], start=at(9), plate="沪A12345", bay_id="W1")
    bookings.cancel(station, first.code)
    assert bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345").state == "confirmed"


def test_a_move_onto_the_cars_other_booking_is_refused(station):
    bookings.book(station, services=["WASH"], start=at(9), plate="沪A12345", bay_id="W1")
    other = bookings.book(station, services=["TYRE"], start=at(11), plate="沪A12345", bay_id="L1")
    with pytest.raises(RuleViolation, match="already has booking"):
        bookings.reschedule(station, other.code, start=at(9))
    assert bookings.reschedule(station, other.code, start=at(11, 30)).start_at == at(11, 30)


def test_the_waitlist_offers_a_car_no_time_it_is_booked_for_already(station):
    washes = {hh_mm: bookings.book(station, services=["WASH"], start=at(*hh_mm), plate=f"沪C0000{n}", bay_id="W1")
              for n, hh_mm in enumerate(((8, 0), (8, 30), (9, 0), (9, 30)))}
    bookings.book(station, services=["TYRE"], start=at(9), plate="沪B99999", bay_id="L1")
    entry = waitlist.join(station, services=["WASH"], day=date(2026, 11, 23), plate="沪B99999",
                          earliest=time(8), latest=time(10))
    bookings.cancel(station, washes[(9, 0)].code)
    assert [e.state for e in waitlist.entries(station, day=date(2026, 11, 23))] == ["waiting"]
    bookings.cancel(station, washes[(8, 0)].code)
    (offered,) = waitlist.entries(station, day=date(2026, 11, 23))
    assert offered.id == entry.id and bookings.booking(station, offered.offered_booking_id).start_at == at(8)


def test_the_overlap_refusal_exits_6_naming_the_other_booking(data_dir, capsys):
    code, out, _ = run(capsys, data_dir, "book", "--start", AT_9, "--services", "WASH", "--plate", "沪A12345",
                       "--json")
    first = json.loads(out)["code"]
    before = counts(data_dir)
    code, _, err = run(capsys, data_dir, "book", "--start", AT_9, "--services", "OIL", "--plate", "沪A12345")
    assert code == 6 and f"already has booking {first} (confirmed) from {DAY} 09:00 to 09:30" in err
    assert counts(data_dir) == before


def test_a_fleet_may_allow_an_overlap_and_the_booking_records_it(station, tmp_path, capsys):
    fleet = make_fleet(station, with_rules=False)
    first = bookings.book(station, services=["WASH"], start=at(9), plate="沪A12345", sub_account_id=fleet.driver)
    with pytest.raises(RuleViolation, match=first.code):
        bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", sub_account_id=fleet.driver)
    second = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", sub_account_id=fleet.driver,
                           allow_overlap=True)
    assert second.overlap_allowed and not first.overlap_allowed
    with station.store.read() as conn:
        body = json.loads(conn.execute("SELECT body FROM outbox WHERE entity_id = ?", (second.id,)).fetchone()[0])
    assert body["booking"]["overlap_allowed"] is True
    assert main(["--data-dir", str(tmp_path / "data"), "booking", "show", second.code]) == 0
    assert "overlap allowed" in capsys.readouterr().out
    with pytest.raises(InvalidInput, match="only a fleet booking") as caught:
        bookings.book(station, services=["TYRE"], start=at(9), plate="沪A12345", allow_overlap=True)
    assert caught.value.field == "allow_overlap"


# -- bad argument values exit 2 naming the argument; money in yuan ---------------------------------


@pytest.mark.parametrize(("args", "named"), [
    (("book", "--start", AT_9, "--services", "WASH", "--plate", "沪A12345", "--channel", "fax"),
     "argument --channel: invalid choice: 'fax'"),
    (("book", "--start", AT_9, "--services", "WASH", "--plate", "沪A12345", "--deposit", "fifty"),
     "argument --deposit: 'fifty' is not an amount"),
    (("book", "--start", AT_9, "--services", "WASH", "--plate", "沪A12345", "--deposit", "50.001"),
     "argument --deposit: '50.001' has more than 2 decimals"),
    (("booking", "progress", "ZZZZZZ", "polishing"), "argument stage: invalid choice: 'polishing'"),
    (("member", "prepaid", "top-up", "--phone", "13800138000", "--amount", "50", "--method", "bitcoin"),
     "argument --method: invalid choice: 'bitcoin'"),
    (("member", "prepaid", "top-up", "--phone", "13800138000", "--amount", "lots", "--method", "cash"),
     "argument --amount: 'lots' is not an amount"),
    (("pay", "checkout", "--services", "WASH", "--pay", "bitcoin=30.00"),
     "argument --pay: unknown payment method 'bitcoin'"),
    (("pay", "checkout", "--services", "WASH", "--pay", "cash"), "argument --pay: 'cash': write METHOD=AMOUNT"),
    (("pay", "checkout", "--services", "WASH", "--pay", "cash=3O.00"), "argument --pay: '3O.00' is not an amount"),
    (("pay", "checkout", "--services", "WASH", "--prepaid", "x"), "argument --prepaid: 'x' is not an amount"),
    (("pay", "checkout", "--services", "WASH", "--goods", "WAX"), "argument --goods: 'WAX': write SKU=QUANTITY"),
    (("slots", "--date", DAY, "--services", "WASH", "--tier", "platinum"), "argument --tier: unknown tier 'platinum'"),
    (("member", "add", "--phone", "13800138000", "--tier", "platinum"), "argument --tier: unknown tier 'platinum'"),
    (("member", "add", "--phone", "13800138000", "--birthday", "31-12"), "argument --birthday: '31-12' is not MM-DD"),
    (("service", "disruptions", "resolve", "ZZZZZZ", "--choice", "refund"),
     "argument --choice: 'refund' is not a choice"),
    (("service", "disruptions", "resolve", "ZZZZZZ", "--choice", "neighbour"),
     "argument --choice: 'neighbour' is not a choice"),
    (("service", "feedback", "ZZZZZZ", "--rating", "7"), "argument --rating: invalid choice: 7"),
    (("fleet", "statement", "--enterprise", "ACME", "--month", "2026-13"),
     "argument --month: '2026-13' is not a month"),
    (("fleet", "add", "--id", "ACME", "--name", "Acme", "--tax-id", "91310000ABC", "--credit-limit", "lots"),
     "argument --credit-limit: 'lots' is not an amount"),
])
def test_a_bad_argument_value_exits_2_naming_the_argument(data_dir, capsys, args, named):
    before = counts(data_dir)
    code, _, err = run(capsys, data_dir, *args)
    assert code == 2 and named in err, err
    assert counts(data_dir) == before


def test_money_in_a_refusal_is_in_yuan_not_fen(data_dir, capsys):
    code, _, err = run(capsys, data_dir, "pay", "checkout", "--services", "WASH", "--pay", "cash=20.00")
    assert code == 6 and "payments add up to 20.00 CNY; 30.00 CNY is due" in err
    assert run(capsys, data_dir, "member", "add", "--phone", "13800138000")[0] == 0
    code, _, err = run(capsys, data_dir, "pay", "checkout", "--services", "WASH", "--phone", "13800138000",
                       "--prepaid", "10.00")
    assert code == 6 and "prepaid balance is 0.00 CNY; cannot take 10.00 CNY" in err


# -- a reader that closes the pipe -----------------------------------------------------------------


F_SETPIPE_SZ = 1031  # fcntl's constant for a pipe's capacity (Linux)


def test_a_reader_closing_the_pipe_after_one_line_gets_no_traceback(data_dir):
    station = open_station(data_dir)
    day = date(2030, 1, 7)
    for n in range(120):  # a few days of washes: JSON far larger than a pipe's buffer
        start = datetime.combine(day + timedelta(days=n // 20), datetime.min.time(), SHANGHAI) + timedelta(
            hours=8, minutes=30 * (n % 20))
        bookings.book(station, services=["WASH"], start=start, plate=f"沪A{n:05d}", bay_id="W1")
    station.store.close()
    for args in (["bookings", "--date", DAY, "--json"], ["services", "--json"]):
        process = subprocess.Popen([sys.executable, "-m", "edge.cli.main", "--data-dir", str(data_dir), *args],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT)
        # the smallest pipe Linux allows (one page), set before the command has started up: the day's
        # JSON cannot all fit in it, so the command is still writing when the reader leaves
        fcntl.fcntl(process.stdout.fileno(), F_SETPIPE_SZ, 4096)
        assert process.stdout.readline().strip() == b"["
        process.stdout.close()  # as `| head -1` does
        err = process.stderr.read().decode()
        code = process.wait()
        process.stderr.close()
        assert "Traceback" not in err and "BrokenPipe" not in err, err
        assert code in (0, EXIT_PIPE)  # a small answer may be written whole before the reader leaves
        if args[0] == "bookings":
            assert code == EXIT_PIPE


# -- slots for a customer --------------------------------------------------------------------------


WEDNESDAY = date(2026, 11, 25)
HOT_WEDNESDAY = TEST_CONFIG.replace('windows = [{ days = ["sat"]', 'windows = [{ days = ["wed"]')


@pytest.fixture
def hot_station(tmp_path):
    """Wednesday 09:00-12:00 is kept for gold members; a regular and a gold member, each with a car."""
    station = make_station(tmp_path, config=HOT_WEDNESDAY)
    members.enroll(station, phone="13800000001", tier="regular", plates=("沪R00001",), now=NOW)
    members.enroll(station, phone="13800000002", tier="gold", plates=("沪G00002",), now=NOW)
    yield station
    station.store.close()


def _book_each(station, options, **customer) -> list[str]:
    """Book every listed start for the customer (cancelling it again); the refusals' reasons."""
    refusals = []
    for option in options:
        try:
            made = bookings.book(station, services=["WASH"], start=option.start, bay_id=option.bay_id, **customer)
        except RuleViolation as err:
            refusals.append(str(err))
        else:
            bookings.cancel(station, made.code)
    return refusals


def test_slots_for_a_customer_lists_only_starts_book_then_takes(hot_station):
    everyone = availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"])
    regular = availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13800000001")
    gold = availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], plate="沪G00002")
    hot = {o.start for o in everyone if 9 <= hot_station.local(o.start).hour < 12}
    assert len(hot) == 6 and not hot & {o.start for o in regular}
    assert {o.start for o in gold} == {o.start for o in everyone}
    assert _book_each(hot_station, regular, plate="沪R00001", phone="13800000001") == []
    assert _book_each(hot_station, gold, plate="沪G00002", phone="13800000002") == []
    # what the unfiltered list offers, book refuses the regular for the tier
    refused = _book_each(hot_station, [o for o in everyone if o.start in hot], plate="沪R00001", phone="13800000001")
    assert len(refused) == 6 and all("hot slot kept for gold" in reason for reason in refused)


def test_a_new_phone_gets_the_guest_list_and_a_same_day_only_member_no_other_day(hot_station):
    guest = availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13900000009",
                                     plate="沪G00002")  # a phone book would enrol: a guest, whatever the car
    assert not any(9 <= hot_station.local(o.start).hour < 12 for o in guest)
    with hot_station.store.write() as conn:
        conn.execute("UPDATE member SET credit_score = 10 WHERE phone = '13800000001'")
    assert availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13800000001") == []
    assert availability.free_starts(hot_station, day=date(2026, 11, 23), services=["WASH"], phone="13800000001")


def test_slots_to_hold_are_none_for_a_customer_who_may_not_hold(hot_station):
    with hot_station.store.write() as conn:  # below no_hold_below (80), above deposit_below (60)
        conn.execute("UPDATE member SET credit_score = 70 WHERE phone = '13800000001'")
    may_book = availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13800000001")
    assert may_book and _book_each(hot_station, may_book[:1], plate="沪R00001", phone="13800000001") == []
    assert availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13800000001",
                                    hold=True) == []
    with pytest.raises(RuleViolation, match="too low to hold"):
        bookings.book(hot_station, services=["WASH"], start=may_book[0].start, plate="沪R00001",
                      phone="13800000001", hold=True)
    assert availability.free_starts(hot_station, day=WEDNESDAY, services=["WASH"], phone="13800000002", hold=True)


def test_slots_of_a_past_day_say_it_is_past(data_dir, capsys):
    code, _, err = run(capsys, data_dir, "slots", "--date", "2020-01-06", "--services", "WASH")
    assert code == 6 and "2020-01-06 is past" in err
    code, out, _ = run(capsys, data_dir, "slots", "--date", DAY, "--services", "WASH", "--phone", "13800138000",
                       "--json")
    assert code == 0 and json.loads(out)
