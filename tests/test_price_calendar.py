"""The price calendar: holiday and time-window prices per service, from the config or HQ's catalogue;
quoted when booking, shown by `slots`, charged at checkout."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.config import ConfigError, parse_settings
from edge.domain.price_calendar import PriceRule, price_at, rule_for
from edge.services import bookings, checkout, hq_updates, shifts
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
HOLIDAY = date(2026, 11, 23)  # the test station's Monday, made a holiday below
# the wash costs 3000 usually, 4500 on the holiday; weekday mornings 07:00-09:00 a fifth off
RULES = """
[[price_rules]]
services = ["WASH", "PKG"]
dates = ["2026-11-23"]
price = 4500

[[price_rules]]
services = ["WASH", "OIL"]
weekdays = ["mon", "tue"]
hours = "08:00-09:00"
discount_pct = 20
"""


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def test_the_first_rule_by_specificity_decides_the_price() -> None:
    new_year, saturday, monday = date(2027, 1, 1), date(2027, 1, 2), date(2027, 1, 4)
    rules = (
        PriceRule(frozenset({"WASH"}), hours=(7 * 60, 9 * 60), discount_pct=10),  # every day, early
        PriceRule(frozenset({"WASH"}), weekdays=frozenset({5, 6}), price_minor=4000),  # weekends
        PriceRule(frozenset({"WASH"}), weekdays=frozenset({5}), price_minor=3800),  # a later, equal weekday rule
        PriceRule(frozenset({"WASH", "OIL"}), dates=frozenset({new_year}), discount_pct=50),
        PriceRule(frozenset({"WASH"}), dates=frozenset({new_year}), hours=(8 * 60, 10 * 60), price_minor=9900),
    )
    table = [  # (code, local time, price): the usual wash is 3000, the oil change 29900
        ("WASH", local(monday, 10), 3000),  # no rule
        ("WASH", local(monday, 7, 30), 2700),  # every day's early bird
        ("WASH", local(monday, 9), 3000),  # the window's end is not in it
        ("WASH", local(saturday, 8), 4000),  # a weekday rule beats an every-day rule; the first weekday rule wins
        ("WASH", local(new_year, 9), 1500),  # a date beats the rest; the first dated rule of the two
        ("OIL", local(new_year, 12), 14950),  # half off
        ("OIL", local(saturday, 12), 29900),  # not a weekend rule's service
        ("TYRE", local(new_year, 9), 8000),  # named by no rule
    ]
    usual = {"WASH": 3000, "OIL": 29900, "TYRE": 8000}
    assert [price_at(rules, code, usual[code], when) for code, when, _ in table] == [p for _, _, p in table]
    assert rule_for(rules, "WASH", local(saturday, 8)) is rules[1]
    assert price_at((PriceRule(frozenset({"X"}), discount_pct=33),), "X", 1001, local(monday, 8)) == 671  # half up
    with pytest.raises(ValueError):
        PriceRule(frozenset({"WASH"}), price_minor=1, discount_pct=1)
    with pytest.raises(ValueError):
        PriceRule(frozenset({"WASH"}), dates=frozenset({new_year}), weekdays=frozenset({0}), price_minor=1)


@pytest.mark.parametrize("rule, key, words", [
    ('services = ["WASH"]\nprice = 1000\ndiscount_pct = 10', "price_rules[0].price", "either price"),
    ('services = ["WASH"]', "price_rules[0].price", "either price"),
    ('services = ["WASH"]\ndates = ["2027-01-01"]\nweekdays = ["sat"]\nprice = 1000', "price_rules[0].weekdays",
     "dates or weekdays"),
    ('services = ["NOPE"]\nprice = 1000', "price_rules[0].services[0]", "unknown service or package code 'NOPE'"),
    ('services = ["WASH"]\nhours = "09:00-08:00"\nprice = 1000', "price_rules[0].hours", "after the start"),
    ('services = ["WASH"]\nprice = 35.00', "price_rules[0].price", "integer minor units"),
    ('services = ["WASH"]\ndiscount_pct = 0', "price_rules[0].discount_pct", "at least 1"),
    ('services = ["WASH"]\nweekdays = ["sunday"]\nprice = 1000', "price_rules[0].weekdays[0]", "'mon'"),
    ('services = ["WASH"]\ndates = ["2027-13-01"]\nprice = 1000', "price_rules[0].dates[0]", "date"),
])
def test_a_bad_rule_names_its_key_and_line(rule: str, key: str, words: str) -> None:
    text = TEST_CONFIG + "\n[[price_rules]]\n" + rule + "\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="station.toml")
    err = info.value
    assert err.key == key and words in err.message
    assert err.line is not None and err.line > TEST_CONFIG.count("\n")


@pytest.fixture
def holiday_station(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + RULES)
    yield station
    station.store.close()


def test_a_booking_at_a_holiday_time_is_quoted_and_charged_the_holiday_price(holiday_station):
    station = holiday_station
    wash = bookings.book(station, services=["WASH"], start=local(HOLIDAY, 10), plate="沪A12345")
    care = bookings.book(station, services=["PKG"], start=local(HOLIDAY, 11), plate="沪A12346")
    oil = bookings.book(station, services=["OIL", "TYRE"], start=local(date(2026, 11, 24), 8, 30), plate="沪A12347")
    assert wash.price_minor == 4500 and care.price_minor == 4500  # a date rule for the package too
    assert oil.price_minor == 23920 + 8000  # Tuesday's early bird on the oil change, the tyres as usual
    shifts.open_shift(station, float_minor=0)
    paid = checkout.checkout(station, booking_ref=wash.code, payments=[("cash", 4500)], now=local(HOLIDAY, 10, 30))
    assert paid.receipt.total_minor == wash.price_minor == 4500
    # a walk-in is priced at the sale: the holiday, but before the weekday's early-bird hour
    walk_in = checkout.quote(station, services=["WASH", "OIL"], now=local(HOLIDAY, 7, 30))
    assert [line.unit_minor for line in walk_in.lines] == [4500, 29900]
    assert checkout.quote(station, services=["OIL"], now=local(HOLIDAY, 8, 15)).total_minor == 23920


def test_hqs_catalogue_carries_the_price_calendar(tmp_path):
    station = make_station(tmp_path)
    try:
        catalog = station.catalog()
        body = {"version": "hq-2", "services": [
            {"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en, "category": s.category,
             "duration_minutes": s.duration_minutes, "price_minor": s.price_minor, "bay_kinds": sorted(s.bay_kinds),
             "skill": s.skill} for s in catalog.services.values()],
            "price_rules": [{"services": ["WASH"], "dates": [], "weekdays": ["mon"], "hours": "09:00-12:00",
                             "price_minor": None, "discount_pct": 50}]}
        with station.store.write() as conn:
            hq_updates.apply_catalog(station, conn, "catalog.version", body, NOW)
        station.reload_catalog()
        assert station.catalog().price_rules == (
            PriceRule(frozenset({"WASH"}), weekdays=frozenset({0}), hours=(540, 720), discount_pct=50),)
        assert bookings.book(station, services=["WASH"], start=local(HOLIDAY, 10), plate="沪A12345").price_minor == 1500
    finally:
        station.store.close()


def test_hq_publishes_price_rules_checked_like_the_config(tmp_path, capsys):
    catalogue = tmp_path / "catalogue.toml"
    service = ('[[services]]\ncode = "WASH"\nname_zh = "洗车"\nname_en = "Wash"\ncategory = "wash"\n'
               'duration_minutes = 30\nprice = 3000\nbay_kinds = ["wash"]\n')
    catalogue.write_text('version = "v2"\n' + service + '[[price_rules]]\nservices = ["WASH"]\n'
                         'dates = [2027-01-01]\nprice = 5000\n', encoding="utf-8")
    db = f"sqlite:///{tmp_path / 'hq.db'}"
    assert main(["hq", "publish-catalog", str(catalogue), "--db", db, "--station", "TST-001", "--json"]) == 0
    capsys.readouterr()
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    with engine.connect() as conn:
        body = conn.execute(text("SELECT body FROM hq_catalog")).scalar_one()
    engine.dispose()
    body = body if isinstance(body, dict) else json.loads(body)
    assert body["price_rules"] == [{"services": ["WASH"], "dates": ["2027-01-01"], "weekdays": [], "hours": None,
                                    "price_minor": 5000, "discount_pct": None}]
    catalogue.write_text('version = "v3"\n' + service + '[[price_rules]]\nservices = ["OIL"]\nprice = 5000\n',
                         encoding="utf-8")
    assert main(["hq", "publish-catalog", str(catalogue), "--db", db]) == 2
    assert "price_rules[0].services: unknown service or package code 'OIL'" in capsys.readouterr().err


def test_slots_mark_the_starts_the_calendar_prices(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650")
                      + RULES.replace("2026-11-23", "2030-01-07"), encoding="utf-8")
    data = tmp_path / "data"
    assert main(["--data-dir", str(data), "init", "--config", str(config)]) == 0
    capsys.readouterr()
    # 2030-01-07 is a Monday and the holiday: every wash start at 45.00; 2030-01-08 the early bird
    assert main(["--data-dir", str(data), "slots", "--date", "2030-01-07", "--services", "WASH"]) == 0
    out = capsys.readouterr().out
    assert "08:00$" in out and "17:30$" in out
    assert "$ priced by the price calendar: 45.00 CNY (usually 30.00 CNY)" in out
    assert main(["--data-dir", str(data), "slots", "--date", "2030-01-08", "--services", "WASH", "--json"]) == 0
    starts = {s["start"][11:16]: (s["price_minor"], s["calendar_price"]) for s in json.loads(capsys.readouterr().out)}
    assert starts["08:00"] == starts["08:30"] == (2400, True) and starts["09:00"] == (3000, False)
    assert main(["--data-dir", str(data), "slots", "--date", "2030-01-09", "--services", "WASH"]) == 0
    assert "$" not in capsys.readouterr().out
