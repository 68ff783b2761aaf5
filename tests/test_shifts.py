"""Shifts and the cash drawer: the float, cash in and out, the X report, the counted close and its variance."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from edge.domain.money_ledger import CASH, Account, Kind, Posting
from edge.domain.shifts import (
    DENOMINATIONS, LedgerLine, counted_from_denominations, drawer_figures, expected_cash, parse_count, variance,
)
from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import money_ledger, shifts
from tests.stations import NOW


def _sale(station, method: str, amount: int, *, kind: Kind = Kind.SALE) -> None:
    """A movement as checkout writes it: money received against revenue."""
    with station.store.write() as conn:
        money_ledger.post(conn, station, kind, [Posting(Account.TENDER, amount, method),
                                                Posting(Account.SALES, -amount, "wash")], now=station.clock())


def _events(station, event_type: str) -> list[dict]:
    with station.store.read() as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT body FROM outbox WHERE type = ? ORDER BY seq",
                                                       (event_type,))]


def test_the_drawer_arithmetic() -> None:
    assert counted_from_denominations({"100": 3, "50": 2, "0.5": 4, "0.1": 3}) == 40230
    assert sum(1 for _ in DENOMINATIONS) == 8
    assert parse_count("100=3") == ("100", 3) and parse_count("0.50=4") == ("0.5", 4)
    assert expected_cash(20000, [3000, -500]) == 22500
    assert variance(22000, 22500) == -500
    for bad in ("3=1", "100", "100=x", "abc=1"):
        with pytest.raises(InvalidInput):
            parse_count(bad)
    with pytest.raises(InvalidInput):
        counted_from_denominations({"100": -1})
    figures = drawer_figures([
        ("t1", LedgerLine("sale", "tender", "cash", 3000)), ("t1", LedgerLine("sale", "sales", "wash", -3000)),
        ("t2", LedgerLine("sale", "tender", "wechat_pay", 5000)),
        ("t3", LedgerLine("refund", "tender", "cash", -1000)),
        ("t4", LedgerLine("cash_out", "tender", "cash", -2000)), ("t4", LedgerLine("cash_out", "drawer", "", 2000)),
        ("t5", LedgerLine("top_up", "tender", "alipay", 10000)),
    ])
    assert figures.sales_by_method == {"cash": 3000, "wechat_pay": 5000}
    assert figures.refunds_by_method == {"cash": -1000}
    assert figures.cash_out_minor == 2000 and figures.cash_in_minor == 0
    assert figures.cash_postings_minor == 0 and figures.transactions == 5
    assert figures.taken_by_method == {"alipay": 10000, "cash": 2000, "wechat_pay": 5000}


def test_a_shift_opens_once_per_terminal_with_the_last_counted_cash_as_its_float(station) -> None:
    assert shifts.current_shift(station) is None and shifts.default_float(station) == 0
    opened = shifts.open_shift(station, float_minor=20000)
    assert opened.is_open and opened.float_minor == 20000 and opened.expected_minor == 20000
    assert opened.terminal == "desk" and opened.opened_by == "cli"
    with pytest.raises(RuleViolation, match="already open on terminal 'desk'"):
        shifts.open_shift(station)
    station.terminal = "till-2"  # another terminal has its own drawer
    assert shifts.open_shift(station).float_minor == 0
    station.terminal = "desk"
    shifts.close_shift(station, counted_minor=18800)
    assert shifts.default_float(station) == 18800
    assert shifts.open_shift(station, now=NOW + timedelta(hours=1)).float_minor == 18800
    assert _events(station, "shift.opened")[0]["float_minor"] == 20000


def test_cash_needs_an_open_shift_and_a_reason(station) -> None:
    with pytest.raises(RuleViolation, match="no shift is open"):
        shifts.cash_movement(station, direction="in", amount_minor=5000, reason="change from the safe")
    shifts.open_shift(station, float_minor=20000)
    with pytest.raises(InvalidInput) as err:
        shifts.cash_movement(station, direction="out", amount_minor=5000, reason=" ")
    assert err.value.field == "reason"
    with pytest.raises(InvalidInput):
        shifts.cash_movement(station, direction="in", amount_minor=0, reason="nothing")
    view = shifts.cash_movement(station, direction="in", amount_minor=5000, reason="change from the safe")
    assert view.expected_minor == 25000
    view = shifts.cash_movement(station, direction="out", amount_minor=12000, reason="banked")
    assert view.expected_minor == 13000
    with station.store.read() as conn:
        rows = conn.execute("SELECT kind, account, detail, amount_minor, reason FROM ledger_entry ORDER BY created_at,"
                            " kind, account").fetchall()
    assert [tuple(r) for r in rows] == [
        ("cash_in", "drawer", "", -5000, "change from the safe"), ("cash_in", "tender", "cash", 5000, "change from the safe"),
        ("cash_out", "drawer", "", 12000, "banked"), ("cash_out", "tender", "cash", -12000, "banked"),
    ]


def test_the_x_report_sums_the_shift_and_changes_nothing(station) -> None:
    shifts.open_shift(station, float_minor=20000)
    _sale(station, CASH, 3000)
    _sale(station, "wechat_pay", 29900)
    _sale(station, CASH, -3000, kind=Kind.REFUND)
    _sale(station, "alipay", 50000, kind=Kind.TOP_UP)
    shifts.cash_movement(station, direction="out", amount_minor=10000, reason="banked")
    with station.store.read() as conn:
        before = conn.execute("SELECT count(*) FROM outbox").fetchone()[0], station.store.data_version()
    report = shifts.x_report(station)
    with station.store.read() as conn:
        assert (conn.execute("SELECT count(*) FROM outbox").fetchone()[0], station.store.data_version()) == before
    assert not report.final and report.counted_minor is None
    assert report.sales_by_method == {"cash": 3000, "wechat_pay": 29900} and report.sales_minor == 32900
    assert report.refunds_minor == -3000 and report.top_ups_by_method == {"alipay": 50000}
    assert report.cash_out_minor == 10000 and report.cash_in_minor == 0
    assert report.expected_minor == 20000 + 3000 - 3000 - 10000
    assert report.transactions == 5
    assert shifts.current_shift(station).taken_by_method == {"alipay": 50000, "cash": 0, "wechat_pay": 29900}


def test_the_close_counts_the_drawer_stores_the_variance_and_tells_hq(station) -> None:
    with pytest.raises(RuleViolation):
        shifts.close_shift(station, counted_minor=0)
    opened = shifts.open_shift(station, float_minor=20000)
    _sale(station, CASH, 3000)
    with pytest.raises(InvalidInput):
        shifts.close_shift(station)
    with pytest.raises(InvalidInput):
        shifts.close_shift(station, counted_minor=1, denominations={"100": 1})
    with pytest.raises(InvalidInput):
        shifts.close_shift(station, denominations={"3": 1})
    report = shifts.close_shift(station, denominations={"100": 2, "20": 1, "5": 1, "1": 2, "0.5": 1},
                                note="short a few coins", now=NOW + timedelta(hours=8))
    assert report.final and report.expected_minor == 23000
    assert report.counted_minor == 22750 and report.variance_minor == -250
    assert report.denominations == {"100": 2, "20": 1, "5": 1, "1": 2, "0.5": 1}
    assert report.closed_by == "cli" and report.note == "short a few coins"
    assert shifts.current_shift(station) is None
    assert shifts.shift_report(station, opened.id) == report
    [event] = _events(station, "shift.closed")
    assert event == report.to_json() and event["report"] == "Z" and event["variance_minor"] == -250
    [closed] = shifts.list_shifts(station, day=station.local(NOW).date())
    assert closed.variance_minor == -250 and not closed.is_open
    with pytest.raises(NotFound):
        shifts.shift_report(station, "nope")
    with pytest.raises(RuleViolation, match="no shift is open"):
        _sale(station, CASH, 100)
