"""Vehicle size classes against a real station: the config, the stored and HQ's catalogue, the car's
class, bookings and free starts for it, through the services and the real CLI.

The station below is the test station with size classes sedan (the default), suv and mpv: its
wash takes 30 minutes (one cell) and 30.00 for a sedan, 45 minutes (two cells) and 45.00 for an
SUV, and costs 40.00 for an MPV in a sedan's time.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.config import ConfigError, parse_settings
from edge.errors import InvalidInput
from edge.services import availability, bookings, disruptions, hq_updates, members, waitlist
from edge.services.setup import catalog_from_settings
from edge.store.catalog import catalog_fingerprint, load_catalog
from edge.cli.hq_commands import load_catalog_file
from edge.cli.main import main
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
SIZES = '[booking]\nsize_classes = ["sedan", "suv", "mpv"]\n'
WASH_BY_SIZE = ('bay_kinds = ["wash"]\n'
                'by_size = { suv = { duration_minutes = 45, price = 4500 }, mpv = { price = 4000 } }\n')


def sized(config: str = TEST_CONFIG) -> str:
    assert config.count('bay_kinds = ["wash"]\n') == 1 and config.count("[booking]\n") == 1
    return config.replace('bay_kinds = ["wash"]\n', WASH_BY_SIZE).replace("[booking]\n", SIZES)


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=sized())
    yield station
    station.store.close()


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def cells(station, booking_id) -> list[str]:
    with station.store.read() as conn:
        return [row[0] for row in conn.execute(
            "SELECT slot_start FROM slot_claim WHERE booking_id = ? ORDER BY slot_start", (booking_id,))]


def vehicle_size(station, plate: str) -> str | None:
    with station.store.read() as conn:
        return conn.execute("SELECT size_class FROM vehicle WHERE plate = ?", (plate,)).fetchone()[0]


def member_events(station) -> list[dict]:
    with station.store.read() as conn:
        return [json.loads(row[0]) for row in conn.execute(
            "SELECT body FROM outbox WHERE type LIKE 'member.%' ORDER BY seq")]


# -- the config --------------------------------------------------------------


def test_the_config_gives_each_service_its_class_terms_and_the_catalogue_keeps_them(station):
    settings = parse_settings(sized())
    assert settings.booking.size_classes == ("sedan", "suv", "mpv")
    wash = catalog_from_settings(settings).services["WASH"]
    assert [(t.size_class, t.duration_minutes, t.price_minor) for t in wash.by_size] == [
        ("mpv", 30, 4000), ("suv", 45, 4500)]  # what a class leaves out is the service's own
    with station.store.read() as conn:
        assert load_catalog(conn).services["WASH"] == wash  # stored and read back whole
    plain = catalog_from_settings(parse_settings(TEST_CONFIG))
    # a class's price is part of the price version bookings record
    assert catalog_fingerprint(plain) != station.catalog().version


@pytest.mark.parametrize(
    ("by_size", "classes", "key", "words"),
    [
        ("{ van = { price = 4000 } }", '["sedan", "suv"]', "services[0].by_size.van", "unknown size class 'van'"),
        ("{ sedan = { price = 4000 } }", '["sedan", "suv"]', "services[0].by_size.sedan", "the default size class"),
        ("{ suv = { } }", '["sedan", "suv"]', "services[0].by_size.suv", "give duration_minutes, price or both"),
        ("{ suv = { duration_minutes = 0 } }", '["sedan", "suv"]', "services[0].by_size.suv.duration_minutes",
         "greater than 0"),
        ("{ suv = { price = 45.5 } }", '["sedan", "suv"]', "services[0].by_size.suv.price", "minor units"),
        ("{ suv = { price = 4000 } }", "[]", "services[0].by_size.suv", "add [booking] size_classes"),
        ("{ suv = { price = 4000 } }", '["sedan", "suv", "sedan"]', "booking.size_classes[2]", "listed twice"),
    ],
)
def test_a_bad_size_setting_names_its_key_and_line(by_size, classes, key, words):
    text = (TEST_CONFIG.replace('bay_kinds = ["wash"]\n', f'bay_kinds = ["wash"]\nby_size = {by_size}\n')
            .replace("[booking]\n", f"[booking]\nsize_classes = {classes}\n"))
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="station.toml")
    err = info.value
    needle = "size_classes" if key.startswith("booking") else "by_size"
    line = next(n for n, text_line in enumerate(text.splitlines(), start=1) if needle in text_line)
    assert len(err.problems) == 1 and (err.key, err.line) == (key, line) and words in err.message


def test_a_package_an_suv_could_never_fit_in_a_day_is_refused_naming_the_class():
    text = sized().replace("duration_minutes = 45, price = 4500", "duration_minutes = 600, price = 4500")
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    assert info.value.key == "packages[0].services"
    assert "package PKG can never be booked for a car of size 'suv'" in info.value.message


# -- the car's class, bookings and free starts --------------------------------


def test_an_suv_wash_takes_two_cells_where_a_sedans_takes_one_at_the_class_price(station):
    sedan = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111")
    suv = bookings.book(station, services=["WASH"], start=at(10), plate="沪B22222", size_class="suv")
    assert cells(station, sedan.id) == ["2026-11-23T01:00:00Z"]
    assert cells(station, suv.id) == ["2026-11-23T02:00:00Z", "2026-11-23T02:30:00Z"]
    assert (sedan.price_minor, suv.price_minor) == (3000, 4500)
    assert (sedan.end_at, suv.end_at) == (at(9, 30), at(10, 45))
    # the class given is kept on the car: its next booking is an SUV's without saying so
    assert vehicle_size(station, "沪B22222") == "suv" and vehicle_size(station, "沪A11111") is None
    again = bookings.book(station, services=["WASH"], start=at(14), plate="沪B22222")
    assert (len(cells(station, again.id)), again.price_minor) == (2, 4500)
    # the reschedule plans the car's class too
    moved = bookings.reschedule(station, again.code, start=at(15))
    assert cells(station, moved.id) == ["2026-11-23T07:00:00Z", "2026-11-23T07:30:00Z"]


def test_a_package_for_an_suv_keeps_the_package_price_with_the_suvs_wash_time(station):
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪C33333", size_class="suv")
    legs = bookings.legs(station, booking.code)
    assert booking.price_minor == 31900
    assert [(leg.bay_id, leg.start_at, leg.end_at) for leg in legs] == [
        ("L1", at(9), at(9, 45)), ("W1", at(10), at(10, 45))]


def test_an_mpv_pays_its_own_price_in_a_sedans_time(station):
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪D44444", size_class="mpv")
    assert (booking.price_minor, len(cells(station, booking.id))) == (4000, 1)


def test_free_starts_answer_for_the_cars_class(station):
    def starts(**kwargs) -> list[datetime]:
        return [o.start for o in availability.free_starts(station, day=MONDAY, services=["WASH"], **kwargs)]

    sedan = starts()
    members.set_vehicle_size(station, plate="沪E55555", size_class="suv")
    by_plate, by_class = starts(plate="沪E55555"), starts(size_class="suv")
    assert by_plate == by_class and sedan[-1] == at(17, 30) and by_class[-1] == at(17)
    # a sedan's wash fits the half hour before a booking at 09:30; an SUV's does not
    bookings.book(station, services=["WASH"], start=at(9, 30), plate="沪F66666")
    assert at(9) in starts() and at(9) not in starts(size_class="suv")
    assert len(starts(size_class="suv")) < len(starts())


def test_a_waitlisted_suv_is_offered_two_free_cells_not_one(station):
    washes = {minute: bookings.book(station, services=["WASH"], start=at(minute // 60, minute % 60),
                                    plate=f"沪C{minute:05d}") for minute in range(8 * 60, 18 * 60, 30)}
    members.set_vehicle_size(station, plate="沪A12345", size_class="suv")
    entry = waitlist.join(station, services=["WASH"], day=MONDAY, plate="沪A12345")

    def state() -> str:
        return next(e for e in waitlist.entries(station, day=MONDAY) if e.id == entry.id).state

    bookings.cancel(station, washes[10 * 60].code)  # one free cell: a sedan's wash, not an SUV's
    assert state() == "waiting"
    bookings.cancel(station, washes[10 * 60 + 30].code)
    assert state() == "offered"
    held = next(e for e in waitlist.entries(station, day=MONDAY) if e.id == entry.id).offered_booking_id
    assert cells(station, held) == ["2026-11-23T02:00:00Z", "2026-11-23T02:30:00Z"]
    assert bookings.booking(station, held).price_minor == 4500


def test_an_suvs_booking_moved_off_a_broken_lift_keeps_an_suvs_cells(tmp_path):
    config = sized().replace('skill = "mechanic"\nbay_kinds = ["lift"]\n',
                             'skill = "mechanic"\nbay_kinds = ["lift"]\nby_size = { suv = { duration_minutes = 75 } }\n',
                             1)
    station = make_station(tmp_path, config=config)
    try:
        booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", size_class="suv")
        assert len(cells(station, booking.id)) == 3  # 75 minutes and the lift's 15-minute turnover
        disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak", now=at(7, 30))
        disruptions.disruptions_for(station, bay_id="L1", now=at(7, 31))
        moved = disruptions.resolve_disruption(station, booking.code, "other_bay", now=at(7, 40)).booking
        assert (moved.bay_id, moved.end_at) == ("L2", at(10, 15))
        assert cells(station, booking.id) == ["2026-11-23T01:00:00Z", "2026-11-23T01:30:00Z", "2026-11-23T02:00:00Z"]
    finally:
        station.store.close()


def test_an_unknown_class_is_refused_naming_the_classes(station):
    for call in (lambda: members.set_vehicle_size(station, plate="沪A11111", size_class="van"),
                 lambda: bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", size_class="van"),
                 lambda: availability.free_starts(station, day=MONDAY, services=["WASH"], size_class="van")):
        with pytest.raises(InvalidInput) as info:
            call()
        assert info.value.field == "size" and "sedan, suv, mpv" in str(info.value)


def test_a_members_car_class_travels_to_hq_in_the_member_event_a_walk_ins_stays_local(station):
    members.enroll(station, phone="13800138000", plates=("沪A11111",))
    sized_car = members.set_vehicle_size(station, plate="沪A11111", size_class="suv")
    members.set_vehicle_size(station, plate="沪A11111", size_class="suv")  # the same class again: no event
    walk_in = members.set_vehicle_size(station, plate="沪Z99999", size_class="mpv")
    events = member_events(station)
    assert [e["member"]["vehicle_sizes"] for e in events] == [{}, {"沪A11111": "suv"}]
    assert sized_car.member_id == events[0]["member"]["id"] and walk_in.member_id is None
    assert members.lookup(station, "沪A11111").sizes == (("沪A11111", "suv"),)


# -- HQ's catalogue ------------------------------------------------------------


def test_hqs_catalogue_carries_the_class_terms_to_the_station(station, tmp_path):
    file = tmp_path / "catalog.toml"
    file.write_text('version = "hq-7"\n\n[[services]]\ncode = "WASH"\nname_zh = "精洗"\nname_en = "Fine wash"\n'
                    'category = "wash"\nduration_minutes = 30\nprice = 5000\nbay_kinds = ["wash"]\n'
                    'by_size = { suv = { duration_minutes = 60 } }\n', encoding="utf-8")
    body = load_catalog_file(file)
    assert body["services"][0]["by_size"] == {"suv": {"duration_minutes": 60, "price_minor": 5000}}
    with station.store.write() as conn:
        hq_updates.apply_catalog(station, conn, "catalog.version", body, NOW)
    station.reload_catalog()
    plan = station.catalog().plan(["WASH"], "suv")
    assert (station.catalog().version, plan.duration_minutes, plan.price_minor) == ("hq-7", 60, 5000)
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", size_class="suv")
    assert len(cells(station, booking.id)) == 2


# -- the real CLI -------------------------------------------------------------


def cli(capsys, *args) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data_dir(tmp_path, capsys) -> Path:
    config = tmp_path / "station.toml"
    config.write_text(sized(TEST_CONFIG.split("[booking.hot_slots]")[0]).replace("horizon_days = 3",
                                                                               "horizon_days = 3650"),
                      encoding="utf-8")
    data = tmp_path / "data"
    assert cli(capsys, "--data-dir", data, "init", "--config", config)[0] == 0
    return data


def test_cli_slots_for_an_suv_show_fewer_starts_and_book_records_the_class_price(data_dir, capsys):
    def slots(*extra) -> list[str]:
        code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", "2030-01-07", "--services", "WASH",
                           "--json", *extra)
        assert code == 0
        return [option["start"] for option in json.loads(out)]

    code, out, _ = cli(capsys, "--data-dir", data_dir, "service", "list", "--json")
    wash = next(item for item in json.loads(out) if item["code"] == "WASH")
    assert wash["by_size"] == {"mpv": {"duration_minutes": 30, "price_minor": 4000},
                               "suv": {"duration_minutes": 45, "price_minor": 4500}}
    code, out, _ = cli(capsys, "--data-dir", data_dir, "vehicle", "size", "沪B22222", "suv")
    assert code == 0 and "沪B22222" in out and "suv" in out
    sedan, suv = slots(), slots("--plate", "沪B22222")
    assert len(suv) < len(sedan) and suv == slots("--size", "suv")
    assert "2030-01-07T17:30:00+08:00" in sedan and "2030-01-07T17:30:00+08:00" not in suv

    code, out, _ = cli(capsys, "--data-dir", data_dir, "book", "--start", "2030-01-07T09:00", "--services", "WASH",
                       "--plate", "沪B22222", "--json")
    booking = json.loads(out)
    assert code == 0 and booking["price_minor"] == 4500 and booking["end_at"].startswith("2030-01-07T01:45")
    code, out, _ = cli(capsys, "--data-dir", data_dir, "book", "--start", "2030-01-07T11:00", "--services", "WASH",
                       "--plate", "沪C33333", "--size", "mpv", "--json")
    assert code == 0 and json.loads(out)["price_minor"] == 4000

    code, _, err = cli(capsys, "--data-dir", data_dir, "vehicle", "size", "沪B22222", "van")
    assert code == 2 and "unknown size class 'van' (size classes: sedan, suv, mpv)" in err
    code, _, err = cli(capsys, "--data-dir", data_dir, "slots", "--date", "2030-01-07", "--services", "WASH",
                       "--size", "van")
    assert code == 2 and "argument --size" in err
