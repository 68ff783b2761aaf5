"""Station reports: period arithmetic, every section's figures from a real day of bookings, the CLI."""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.domain.reports import allocate, period_of
from edge.services import bookings, checkout, ledgers, members, receipts
from edge.services.reports import SECTIONS, station_report
from tests.stations import MANAGER, TEST_CONFIG, make_station, open_drawer

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
TUESDAY = date(2026, 11, 24)
# lifts can wash too, so the OIL+WASH package has a bay
REPORT_CONFIG = TEST_CONFIG.replace('bay_kinds = ["wash"]', 'bay_kinds = ["wash", "lift"]')
OPEN_ALL_DAY = REPORT_CONFIG.replace('"08:00-18:00"', '"00:00-24:00"')


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


# -- pure arithmetic --------------------------------------------------------------


def test_periods_are_local_days_monday_weeks_and_calendar_months():
    assert period_of("day", MONDAY).days() == [MONDAY]
    week = period_of("week", date(2026, 11, 29))  # a Sunday belongs to the week before it
    assert (week.first, week.last, week.label) == (MONDAY, date(2026, 11, 29), "2026-W48")
    month = period_of("month", date(2028, 2, 10))
    assert (month.first, month.last, month.label) == (date(2028, 2, 1), date(2028, 2, 29), "2028-02")
    start, end = period_of("day", MONDAY).bounds(TZ)
    assert (start, end) == (datetime(2026, 11, 22, 16, tzinfo=UTC), datetime(2026, 11, 23, 16, tzinfo=UTC))
    with pytest.raises(ValueError, match="year"):
        period_of("year", MONDAY)


def test_period_bounds_follow_daylight_saving():
    berlin = ZoneInfo("Europe/Berlin")
    start, end = period_of("week", date(2026, 3, 29)).bounds(berlin)  # clocks go forward that Sunday
    assert end - start == timedelta(days=7, hours=-1)
    start, end = period_of("month", date(2026, 10, 1)).bounds(berlin)  # and back on the 25th
    assert end - start == timedelta(days=31, hours=1)


def test_allocation_adds_up_to_the_minor_unit():
    assert allocate(39900, [31900, 8000]) == [31900, 8000]
    assert allocate(100, [1, 1, 1]) == [34, 33, 33]
    assert allocate(10, [0, 0]) == [5, 5]
    assert allocate(1001, [3000, 29900]) == [91, 910]
    assert sum(allocate(99_999, [7, 13, 29, 1])) == 99_999


# -- a day at the station -----------------------------------------------------------


def build_day(station) -> dict:
    """Monday 2026-11-23 at a forecourt, every step at a known local time.

    A  app       WASH      W1 09:00  in 08:55, bay 09:05, service 09:10, done 09:35
    B  phone     OIL       L1 09:00  member; in 08:50, bay 09:00, service 09:15, check 09:50, done 10:00
    C  terminal  PKG+TYRE  L2 10:00  in 09:40, service 10:00 (bay step skipped), done 11:30 (last cell unused)
    D  walk_in   TYRE      L1 14:00  gold member, booked 13:55; in 13:58, completed 14:30 without progress
    E  app       WASH      W1 11:00  member, no-show at 11:30
    F  phone     OIL       L1 15:00  cancelled at 12:00
    G  terminal  WASH      W1 16:00  still confirmed
    H  hq        WASH      W1 17:00  a hold that lapsed at 07:10 and was not swept yet
    I  app       WASH      W1 Tuesday 09:00, completed
    """
    early = at(7)
    gold = members.enroll(station, phone="13900000009", tier="gold", now=at(10, day=date(2026, 11, 22))).member

    def book(services, start, bay, channel, plate, **extra):
        return bookings.book(station, services=services, start=start, bay_id=bay, channel=channel, plate=plate,
                             now=early, **extra)

    a = book(["WASH"], at(9), "W1", "app", plate="沪A00001")
    b = book(["OIL"], at(9), "L1", "phone", plate="沪A00002", phone="13800000001")
    c = book(["PKG", "TYRE"], at(10), "L2", "terminal", plate="沪A00003")
    e = book(["WASH"], at(11), "W1", "app", plate="沪A00005", phone="13800000002")
    f = book(["OIL"], at(15), "L1", "phone", plate="沪A00006")
    g = book(["WASH"], at(16), "W1", "terminal", plate="沪A00007")
    h = book(["WASH"], at(17), "W1", "hq", plate="沪A00008", hold=True)
    i = book(["WASH"], at(9, day=TUESDAY), "W1", "app", plate="沪A00009")

    bookings.check_in(station, b.id, now=at(8, 50))
    bookings.check_in(station, a.id, now=at(8, 55))
    bookings.set_progress(station, b.id, "in_bay", now=at(9))
    bookings.set_progress(station, a.id, "in_bay", now=at(9, 5))
    bookings.set_progress(station, a.id, "in_service", now=at(9, 10))
    bookings.set_progress(station, b.id, "in_service", now=at(9, 15))
    bookings.complete(station, a.id, now=at(9, 35))
    bookings.check_in(station, c.id, now=at(9, 40))
    bookings.set_progress(station, b.id, "quality_check", now=at(9, 50))
    bookings.set_progress(station, b.id, "done", now=at(10))
    bookings.set_progress(station, c.id, "in_service", now=at(10))
    bookings.mark_no_show(station, e.id, now=at(11, 30))
    bookings.complete(station, c.id, now=at(11, 30))
    bookings.cancel(station, f.id, reason="customer called", now=at(12))
    d = bookings.book(station, services=["TYRE"], start=at(14), bay_id="L1", channel="walk_in",
                      plate="沪A00004", member_id=gold.id, now=at(13, 55))
    bookings.check_in(station, d.id, now=at(13, 58))
    bookings.complete(station, d.id, now=at(14, 30))
    bookings.check_in(station, i.id, now=at(9, day=TUESDAY))
    bookings.complete(station, i.id, now=at(9, 30, day=TUESDAY))
    return {"A": a, "B": b, "C": c, "D": d, "E": e, "F": f, "G": g, "H": h, "I": i}


def pay_for_the_day(station, scenario) -> None:
    """The completed bookings paid at the desk (the drawer open from 07:00): A in cash with
    change, B and C by WeChat Pay, D by Alipay, I in cash on Tuesday."""
    open_drawer(station, now=at(7))
    checkout.checkout(station, booking_ref=scenario["A"].code, payments=[("cash", 3000)],
                      cash_tendered_minor=5000, now=at(9, 40))
    checkout.checkout(station, booking_ref=scenario["B"].code, payments=[("wechat_pay", 29900)], now=at(10, 5))
    checkout.checkout(station, booking_ref=scenario["C"].code, payments=[("wechat_pay", 39900)], now=at(11, 35))
    checkout.checkout(station, booking_ref=scenario["D"].code, payments=[("alipay", 8000)], now=at(14, 35))
    checkout.checkout(station, booking_ref=scenario["I"].code, payments=[("cash", 3000)], now=at(9, 35, day=TUESDAY))


def without_later_tables(station) -> None:
    """The baseline of these tests: no feedback recorded. That table arrives with a later
    migration; the tests that need it create their own minimal one."""
    with station.store.write() as conn:
        conn.execute("DROP TABLE IF EXISTS feedback")


@pytest.fixture
def day_station(tmp_path):
    station = make_station(tmp_path, config=REPORT_CONFIG)
    without_later_tables(station)
    scenario = build_day(station)
    # the load of technicians decides who gets a job: the figures below depend on it
    assert [scenario[key].technician_id for key in "ABCD"] == [None, "T1", "T2", "T1"]
    pay_for_the_day(station, scenario)
    yield station
    station.store.close()


def report_of(station, kind="day", day=MONDAY, sections=SECTIONS, **options):
    options.setdefault("now", at(20))
    result = station_report(station, period_of(kind, day), sections, **options)
    return {section.key: section for section in result.sections}


def rows(section) -> list[tuple]:
    return list(section.rows)


def test_bookings_by_channel_and_state(day_station):
    section = report_of(day_station)["bookings"]
    assert [c.name for c in section.columns] == [
        "channel", "held", "confirmed", "completed", "cancelled", "no_show", "total"]
    assert rows(section) == [
        ("app", 0, 0, 1, 0, 1, 2),
        ("hq", 1, 0, 0, 0, 0, 1),
        ("phone", 0, 0, 1, 1, 0, 2),
        ("terminal", 0, 1, 1, 0, 0, 2),
        ("walk_in", 0, 0, 1, 0, 0, 1),
        ("all", 1, 1, 4, 1, 1, 8),
    ]


def test_no_show_rate_counts_only_bookings_that_were_due(day_station):
    assert rows(report_of(day_station)["no_show"]) == [
        ("app", 2, 1, 1, 0.5),
        ("hq", 0, 0, 0, None),  # a hold is not due
        ("phone", 1, 1, 0, 0.0),  # the cancellation is not a no-show
        ("terminal", 1, 1, 0, 0.0),  # the confirmed 16:00 booking is not resolved yet
        ("walk_in", 1, 1, 0, 0.0),
        ("all", 5, 4, 1, 0.2),
    ]


def test_wait_and_service_times_come_from_the_outbox(day_station):
    assert rows(report_of(day_station)["wait"]) == [
        # bay, waited, avg wait, max wait, served, avg service (minutes)
        ("W1", 1, 10.0, 10.0, 1, 25.0),
        ("L1", 1, 10.0, 10.0, 1, 45.0),  # D went straight to done: measured neither way
        ("L2", 1, 20.0, 20.0, 1, 90.0),  # C skipped in_bay: waited until in_service
        ("all", 3, 13.3, 20.0, 3, 53.3),
    ]


def test_utilisation_is_claimed_over_open_cells(day_station):
    # 08:00-18:00 in 30-minute cells: 20 a bay. W1: A and G (the lapsed hold H is not load);
    # L1: B's two cells and D; L2: C's first three cells (it finished before the fourth began)
    assert rows(report_of(day_station)["utilisation"]) == [
        ("W1", "wash", 20, 2, 0.1),
        ("L1", "lift", 20, 3, 0.15),
        ("L2", "lift", 20, 3, 0.15),
        ("all", "", 60, 8, 0.1333),
    ]


def test_technician_productivity_without_feedback_reports_ratings_as_not_recorded(day_station):
    section = report_of(day_station)["technicians"]
    assert rows(section) == [
        # technician, name, jobs, services, service minutes, revenue, rating, ratings
        ("T1", "Wang", 2, 2, 45, 29900 + 8000, None, None),
        ("T2", "Li", 1, 3, 90, 39900, None, None),
    ]
    assert section.notes == ("ratings: not recorded yet",)


def test_ratings_come_from_the_feedback_table_once_it_exists(day_station):
    ids = booking_ids(day_station)
    with day_station.store.write() as conn:
        conn.execute("CREATE TABLE feedback (booking_id TEXT REFERENCES booking (id), rating INTEGER)")
        conn.executemany("INSERT INTO feedback VALUES (?, ?)",
                         [(ids["沪A00002"], 5), (ids["沪A00004"], 4), (ids["沪A00003"], 3),
                          (ids["沪A00009"], 1)])  # Tuesday's wash: another day, and no technician
    section = report_of(day_station)["technicians"]
    assert [(row[0], row[6], row[7]) for row in section.rows] == [("T1", 4.5, 2), ("T2", 3.0, 1)]
    assert section.notes == ()


def booking_ids(station) -> dict[str, str]:
    with station.store.read() as conn:
        return {row["plate"]: row["id"] for row in conn.execute("SELECT plate, id FROM booking")}


def test_revenue_comes_from_the_ledger_and_reconciles(day_station):
    assert rows(report_of(day_station)["revenue"]) == [
        # a package is its own category; the tyre rotation sold with it is maintenance
        ("category", "maintenance", None, 29900 + 8000 + 8000),
        ("category", "package", None, 31900),
        ("category", "wash", None, 3000),
        ("revenue", "all", 4, 80800),
        ("refunds", "all", 0, 0),
        ("net_revenue", "all", None, 80800),
        ("payment_method", "wechat_pay", None, 69800),
        ("payment_method", "alipay", None, 8000),
        ("payment_method", "cash", None, 3000),
        ("points", "redeemed", None, 0),
        ("prepaid", "topped_up", None, 0),
        ("prepaid", "spent", None, 0),
        ("deposits", "held", None, 0),
        ("deposits", "released", None, 0),
        ("cash", "put_in", None, 0),
        ("cash", "taken_out", None, 0),
        ("adjustments", "all", None, 0),
        ("reconciliation", "difference", None, 0),
        ("total", "all", 4, 80800),
    ]


def test_a_refund_and_a_top_up_show_apart_and_still_reconcile(day_station):
    (c_receipt,) = [r for r in receipts.list_receipts(day_station, day=MONDAY) if r.total_minor == 39900]
    checkout.refund(day_station, c_receipt.number, reason="tyre not rotated", lines=[("TYRE", 1)],
                    manager=MANAGER, now=at(15))
    member = members.lookup(day_station, "13800000001").member
    with day_station.store.write() as conn:
        ledgers.top_up(conn, day_station, member_id=member.id, amount_minor=50000, method="cash", now=at(15, 30))
    figures = {(row[0], row[1]): row[3] for row in report_of(day_station)["revenue"].rows}
    assert figures[("refunds", "all")] == 8000 and figures[("net_revenue", "all")] == 72800
    assert figures[("payment_method", "wechat_pay")] == 69800 - 8000
    assert figures[("top_up_method", "cash")] == 50000 and figures[("prepaid", "topped_up")] == 50000
    assert figures[("reconciliation", "difference")] == 0


def test_top_services_rank_by_bookings_then_revenue(day_station):
    assert rows(report_of(day_station)["top_services"]) == [
        (1, "TYRE", "Tyre rotation", "maintenance", 2, 16000),
        (2, "PKG", "Care package", "package", 1, 31900),
        (3, "OIL", "Oil change", "maintenance", 1, 29900),
        (4, "WASH", "Wash", "wash", 1, 3000),
    ]
    assert [row[1] for row in report_of(day_station, top=2)["top_services"].rows] == ["TYRE", "PKG"]


def test_members_by_tier(day_station):
    # the gold member enrolled on Sunday; the two regulars came with their phone bookings on Monday
    assert rows(report_of(day_station)["members"]) == [
        ("regular", 2, 2, 1),  # E did not come
        ("gold", 1, 0, 1),
        ("all", 3, 2, 2),
    ]


def test_a_week_adds_tuesday_and_counts_seven_days_of_cells(day_station):
    report = report_of(day_station, "week", TUESDAY)
    assert rows(report["bookings"])[-1] == ("all", 1, 1, 5, 1, 1, 9)
    assert rows(report["utilisation"])[0] == ("W1", "wash", 140, 3, 0.0214)
    assert rows(report["revenue"])[-1] == ("total", "all", 5, 83800)
    assert rows(report["members"])[-1] == ("all", 3, 2, 2)
    assert rows(report_of(day_station, "month", TUESDAY)["members"])[-1] == ("all", 3, 3, 2)


def test_sections_come_in_the_order_asked(day_station):
    result = station_report(day_station, period_of("day", MONDAY), ["revenue", "wait", "revenue"], now=at(20))
    assert [s.key for s in result.sections] == ["revenue", "wait"]
    with pytest.raises(ValueError, match="nope"):
        station_report(day_station, period_of("day", MONDAY), ["nope"])


def test_an_empty_period_reports_zeros_and_nothing_to_measure(station):
    without_later_tables(station)
    report = report_of(station, "week", MONDAY)
    assert rows(report["bookings"]) == [("all", 0)]
    assert rows(report["no_show"]) == [("all", 0, 0, 0, None)]
    assert rows(report["wait"])[-1] == ("all", 0, None, None, 0, None)
    assert rows(report["utilisation"])[-1] == ("all", "", 3 * 140, 0, 0.0)
    assert rows(report["technicians"]) == [("T1", "Wang", 0, 0, 0, 0, None, None), ("T2", "Li", 0, 0, 0, 0, None, None)]
    assert rows(report["revenue"])[-2:] == [("reconciliation", "difference", None, 0), ("total", "all", 0, 0)]
    assert rows(report["top_services"]) == []
    assert rows(report["members"]) == [("regular", 0, 0, 0), ("gold", 0, 0, 0), ("all", 0, 0, 0)]


# -- local-time edges of weeks and months ----------------------------------------


def test_week_and_month_edges_are_station_local_midnights(tmp_path):
    station = make_station(tmp_path, config=OPEN_ALL_DAY)
    starts = [
        at(23, 30, date(2026, 10, 31)),  # Saturday before November
        at(0, 30, date(2026, 11, 1)),  # 16:30 UTC on 31 October, yet November locally
        at(23, 30, date(2026, 11, 22)),  # Sunday night: the week before
        at(0, 30, date(2026, 11, 23)),  # Monday 00:30: 16:30 UTC on the Sunday
        at(23, 30, date(2026, 11, 29)),  # Sunday 23:30: still this week
        at(0, 30, date(2026, 11, 30)),  # next Monday
        at(23, 30, date(2026, 11, 30)),  # last evening of November
        at(0, 30, date(2026, 12, 1)),  # December
    ]
    for n, start in enumerate(starts):
        bookings.book(station, services=["WASH"], start=start, bay_id="W1", channel="app",
                      plate=f"沪B1000{n}", now=start - timedelta(hours=1))
    week = report_of(station, "week", date(2026, 11, 25), now=at(12, day=date(2026, 12, 2)))
    assert rows(week["bookings"])[-1] == ("all", 2, 2)
    assert rows(week["utilisation"])[0] == ("W1", "wash", 7 * 48, 2, 0.006)
    month = report_of(station, "month", date(2026, 11, 15), now=at(12, day=date(2026, 12, 2)))
    assert rows(month["bookings"])[-1] == ("all", 6, 6)
    assert rows(month["utilisation"])[0] == ("W1", "wash", 30 * 48, 6, 0.0042)
    station.store.close()


# -- the command line --------------------------------------------------------------


def cli(capsys, *args) -> tuple[int, str, str]:
    try:
        code = main([str(a) for a in args])
    except SystemExit as exit_:  # argparse exits on its own with 2
        code = exit_.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data_dir(day_station, tmp_path):
    return tmp_path / "data"


def test_report_json_is_one_object_keyed_by_section(data_dir, capsys):
    code, out, _ = cli(capsys, "--data-dir", data_dir, "report", "--period", "day", "--date", "2026-11-23", "--json")
    assert code == 0
    document = json.loads(out)
    assert set(document) == {"station", "currency", "period", *SECTIONS}
    assert document["period"] == {"kind": "day", "label": "2026-11-23", "first": "2026-11-23", "last": "2026-11-23"}
    assert (document["station"], document["currency"]) == ("TST-001", "CNY")
    assert document["no_show"]["rows"][-1] == {"channel": "all", "due": 5, "arrived": 4, "no_show": 1,
                                               "no_show_rate": 0.2}
    assert document["revenue"]["rows"][-1] == {"by": "total", "key": "all", "count": 4, "revenue_minor": 80800}
    assert document["technicians"]["rows"][0]["rating"] is None
    assert document["technicians"]["notes"] == ["ratings: not recorded yet"]

    code, out, _ = cli(capsys, "--data-dir", data_dir, "report", "--date", "2026-11-23", "--section", "wait",
                       "--section", "members", "top_services", "--json")
    assert code == 0 and list(json.loads(out)) == ["station", "currency", "period", "wait", "members", "top_services"]


def test_report_tables_format_money_rates_and_hours(data_dir, capsys):
    code, out, _ = cli(capsys, "--data-dir", data_dir, "report", "--period", "week", "--date", "2026-11-25")
    assert code == 0
    assert out.startswith("station TST-001 · week 2026-W48 (2026-11-23 .. 2026-11-29)")
    for title in ("Bookings by channel and state", "No-show rate", "Wait from check-in to bay", "Bay utilisation",
                  "Technician productivity", "Revenue", "Top services", "Members by tier"):
        assert f"\n\n{title}" in out
    assert "838.00 CNY" in out  # the week's revenue
    assert "16.7%" in out  # the no-show rate: 1 of 6 due
    assert "1:30" in out  # T2's time in service
    assert "not recorded yet" in out and "n/a" in out  # no ratings; nothing to measure


def test_report_csv_writes_one_parseable_file_per_section(data_dir, tmp_path, capsys):
    target = tmp_path / "reports" / "monday"
    code, out, _ = cli(capsys, "--data-dir", data_dir, "report", "--date", "2026-11-23", "--csv", target)
    assert code == 0
    paths = out.split()
    assert paths == [str(target / f"{name}_2026-11-23.csv") for name in SECTIONS]
    tables = {}
    for name in SECTIONS:
        with open(target / f"{name}_2026-11-23.csv", encoding="utf-8", newline="") as handle:
            tables[name] = list(csv.DictReader(handle))
    assert tables["revenue"][-1] == {"by": "total", "key": "all", "count": "4", "revenue_minor": "80800"}
    assert tables["bookings"][-1]["total"] == "8"
    assert tables["technicians"][1] == {"technician": "T2", "name": "Li", "jobs": "1", "services": "3",
                                        "service_minutes": "90", "revenue_minor": "39900", "rating": "",
                                        "ratings": ""}

    code, out, _ = cli(capsys, "--data-dir", data_dir, "report", "--date", "2026-11-23", "--section", "members",
                       "--csv", target, "--json")
    assert code == 0 and json.loads(out) == {"members": str(target / "members_2026-11-23.csv")}


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--period", "year"], "--period"),
        (["--date", "2026-13-01"], "--date"),
        (["--date", "monday"], "--date"),
        (["--section", "profit"], "--section"),
        (["--top", "0"], "--top"),
    ],
)
def test_bad_arguments_name_the_argument(data_dir, capsys, args, named):
    code, out, err = cli(capsys, "--data-dir", data_dir, "report", *args)
    assert code == 2 and named in err and out == ""


def test_an_unwritable_csv_directory_names_the_argument(data_dir, tmp_path, capsys):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x", encoding="utf-8")
    code, _, err = cli(capsys, "--data-dir", data_dir, "report", "--date", "2026-11-23", "--csv", blocker)
    assert code == 2 and "--csv" in err and str(blocker) in err
