"""The desk's money as the attendant and the manager handle it: change on cash, refunds by line
with a manager's PIN, receipts listed and shown, a manager's price, extra parts billed or
waived, walk-in materials, deposits, invoices."""

from __future__ import annotations

import json
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.domain.delivery import ServiceReportInput
from edge.errors import InvalidInput, PermissionDenied, RuleViolation
from edge.services import bookings, checkout, deposits, extra_parts, inventory, loyalty, members, receipts
from tests.stations import MANAGER, NOW, make_station, open_drawer
from tests.test_checkout import CONFIG, GOODS
from tests.test_inventory import MATERIALS, _with_materials
from tests.test_staff import STAFF

TZ = ZoneInfo("Asia/Shanghai")
# the oil change uses oil and a filter; a filter is also sold, at 45.00, when fitted as an extra part
DESK_CONFIG = _with_materials(CONFIG).replace(
    MATERIALS, MATERIALS.replace("initial_stock = 3\n", "initial_stock = 3\nprice = 4500\n")) + GOODS + STAFF


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ)


@pytest.fixture(autouse=True)
def managers_pin(monkeypatch):
    """The manager's PIN as a script gives it: from the environment, never an argument."""
    monkeypatch.setenv("STATION_EDGE_MANAGER_PIN", "2580")


@pytest.fixture
def desk(tmp_path):
    station = make_station(tmp_path, config=DESK_CONFIG)
    yield station
    station.store.close()


def cli(capsys, station, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["--data-dir", str(station.store.path.parent), *map(str, args)])
    out = capsys.readouterr()
    return code, out.out, out.err


def on_hand(station) -> dict[str, int]:
    return {m.sku: m.on_hand for m in inventory.stock(station)}


def test_cash_needs_the_drawer_open_and_the_receipt_keeps_the_change(desk, capsys):
    code, _, err = cli(capsys, desk, "pay", "checkout", "--services", "WASH", "--pay", "cash=30.00",
                       "--cash-tendered", "50.00")
    assert code == 6 and "no shift is open on terminal 'desk'" in err
    open_drawer(desk)
    code, out, _ = cli(capsys, desk, "pay", "checkout", "--services", "WASH", "--pay", "cash=30.00",
                       "--cash-tendered", "50.00", "--json")
    sale = json.loads(out)
    assert code == 0 and (sale["cash_tendered_minor"], sale["change_minor"]) == (5000, 2000)
    code, out, _ = cli(capsys, desk, "receipt", "show", sale["number"])
    assert code == 0 and "cash tendered" in out and "20.00 CNY" in out and "paid by cash" in out
    code, _, err = cli(capsys, desk, "pay", "checkout", "--services", "WASH", "--pay", "cash=30.00",
                       "--cash-tendered", "20.00")
    assert code == 2 and "less than the 30.00 CNY paid in cash" in err


def test_a_refund_by_line_needs_a_manager_and_gives_back_that_lines_share(desk, capsys):
    open_drawer(desk)
    members.enroll(desk, phone="13800138000", tier="gold")  # 5 % off services
    code, out, _ = cli(capsys, desk, "pay", "checkout", "--services", "OIL,WASH", "--goods", "FLUID=2",
                       "--phone", "13800138000", "--pay", "wechat_pay=200.00", "--pay", "cash=142.55", "--json")
    number = json.loads(out)["number"]  # 284.05 + 28.50 + 30.00
    assert code == 0 and on_hand(desk)["FLUID"] == 3
    code, _, err = cli(capsys, desk, "pay", "refund", number, "--line", "FLUID=1", "--reason", "leaked")
    assert code == 10 and "refund needs a manager" in err
    code, _, err = cli(capsys, desk, "--manager", "S01", "pay", "refund", number, "--line", "FLUID=3",
                       "--reason", "leaked")
    assert code == 2 and "2 of 2 left to refund, not 3" in err
    code, out, _ = cli(capsys, desk, "--manager", "S01", "pay", "refund", number, "--line", "FLUID=1",
                       "--reason", "leaked", "--json")
    refund = json.loads(out)
    # money first, in the order paid: the bottle's 15.00 comes back by WeChat Pay
    assert code == 0 and refund["money"] == [{"method": "wechat_pay", "amount_minor": 1500}]
    assert refund["state"] == "partly_refunded" and refund["authorised_by"] == "S01"
    assert on_hand(desk)["FLUID"] == 4
    code, out, _ = cli(capsys, desk, "receipt", "show", number, "--json")
    view = json.loads(out)
    assert {line["line_code"]: line["refunded_quantity"] for line in view["lines"]} == {"OIL": 0, "WASH": 0,
                                                                                         "FLUID": 1}
    assert view["state"] == "partly_refunded" and view["remaining_minor"] == 34255 - 1500
    # the rest: the wechat money left, then the cash (an open shift)
    code, out, _ = cli(capsys, desk, "--manager", "S01", "pay", "refund", number, "--reason", "customer left",
                       "--json")
    rest = json.loads(out)
    assert rest["state"] == "refunded"
    assert rest["money"] == [{"method": "wechat_pay", "amount_minor": 18500}, {"method": "cash", "amount_minor": 14255}]
    assert on_hand(desk)["FLUID"] == 5
    code, _, err = cli(capsys, desk, "--manager", "S01", "pay", "refund", number, "--reason", "again")
    assert code == 7 and "refunded" in err


def test_a_coupon_comes_back_only_with_the_whole_receipt_and_points_follow_the_money(desk):
    member = members.enroll(desk, phone="13800138000").member
    with desk.store.write() as conn:
        code = loyalty.issue_coupon(conn, desk, template_id="TENOFF", member_id=None, source="manual", now=NOW)
    sale = checkout.checkout(desk, services=["OIL", "WASH"], phone="13800138000", coupon_code=code,
                             payments=[("alipay", 31900)], now=at(10))
    assert [line.coupon_minor for line in sale.receipt.lines] == [909, 91]  # 10.00 over 299.00 and 30.00
    assert sale.points_earned == 30
    wash = checkout.refund(desk, sale.number, reason="wash skipped", lines=[("WASH", 1)], manager=MANAGER, now=at(11))
    assert wash.refunded_minor == 3000 - 91 and wash.points_taken_back == 30 * 2909 // 31900
    with desk.store.read() as conn:
        assert conn.execute("SELECT state FROM coupon WHERE code = ?", (code,)).fetchone()[0] == "redeemed"
    rest = checkout.refund(desk, sale.number, reason="all of it", manager=MANAGER, now=at(12))
    assert rest.refunded_minor == 29900 - 909 and wash.points_taken_back + rest.points_taken_back == 30
    with desk.store.read() as conn:
        assert conn.execute("SELECT state FROM coupon WHERE code = ?", (code,)).fetchone()[0] == "issued"
        assert conn.execute("SELECT coalesce(sum(points), 0) FROM points_entry WHERE member_id = ?",
                            (member.id,)).fetchone()[0] == 0


def test_a_managers_price_is_a_discount_and_revenue_keeps_the_list_price(desk, capsys):
    code, _, err = cli(capsys, desk, "pay", "checkout", "--services", "OIL", "--price", "OIL=250.00",
                       "--pay", "wechat_pay=250.00")
    assert code == 10 and "price override needs a manager" in err
    code, out, _ = cli(capsys, desk, "--manager", "S01", "pay", "checkout", "--services", "OIL", "--price",
                       "OIL=250.00",
                       "--pay", "wechat_pay=250.00", "--json")
    assert code == 0
    today = datetime.now(TZ).date()  # the command line's clock is the real one
    code, out, _ = cli(capsys, desk, "report", "--section", "revenue", "--date", today, "--json")
    figures = {(r["by"], r["key"]): r["revenue_minor"] for r in json.loads(out)["revenue"]["rows"]}
    assert figures[("category", "maintenance")] == 29900 and figures[("discount", "price_override")] == 4900
    assert figures[("net_revenue", "all")] == 25000 and figures[("reconciliation", "difference")] == 0
    with pytest.raises(InvalidInput, match="TYRE is not on this sale"):
        checkout.checkout(desk, services=["OIL"], price_overrides={"TYRE": 100}, manager=MANAGER,
                          payments=[("alipay", 29900)])


def _serviced_booking(station, parts):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", now=NOW)
    bookings.check_in(station, booking.code, now=at(8, 55))
    bookings.complete(station, booking.code, report=ServiceReportInput(parts=parts), now=at(9, 50))
    return booking


def test_extra_parts_are_billed_at_checkout_unless_a_manager_waives_them(tmp_path, capsys):
    (tmp_path / "billed").mkdir()
    (tmp_path / "waived").mkdir()
    station = make_station(tmp_path / "billed", config=DESK_CONFIG)
    booking = _serviced_booking(station, (("FILTER-OIL", 1),))
    assert on_hand(station)["FILTER-OIL"] == 1  # the standard filter and the extra one
    quote = checkout.quote(station, booking_ref=booking.code, now=at(10))
    assert [(line.code, line.gross_minor) for line in quote.lines] == [("OIL", 29900), ("FILTER-OIL", 4500)]
    sale = checkout.checkout(station, booking_ref=booking.code, payments=[("wechat_pay", 34400)], now=at(10))
    checkout.refund(station, sale.number, reason="filter was faulty", lines=[("FILTER-OIL", 1)], manager=MANAGER,
                    now=at(11))
    assert on_hand(station)["FILTER-OIL"] == 1  # a fitted part is on the car, not back on the shelf
    station.store.close()

    station = make_station(tmp_path / "waived", config=DESK_CONFIG)
    booking = _serviced_booking(station, (("FILTER-OIL", 1),))
    code, _, err = cli(capsys, station, "service", "waive-parts", booking.code, "--reason", "our mistake")
    assert code == 10 and "waive parts needs a manager" in err
    code, out, _ = cli(capsys, station, "--manager", "S01", "service", "waive-parts", booking.code,
                       "--reason", "our mistake")
    assert code == 0 and "FILTER-OIL x1" in out and "S01" in out
    assert [line.code for line in checkout.quote(station, booking_ref=booking.code, now=at(10)).lines] == ["OIL"]
    with station.store.read() as conn:
        assert extra_parts.is_waived(conn, booking.id)
    station.store.close()


def test_a_walk_in_sale_uses_materials_as_a_booking_does(desk):
    before = on_hand(desk)
    sale = checkout.checkout(desk, services=["OIL", "WASH"], payments=[("bank_card", 32900)], now=at(10))
    after = on_hand(desk)
    assert (before["OIL-5W30"] - after["OIL-5W30"], before["FILTER-OIL"] - after["FILTER-OIL"]) == (4, 1)
    assert before["CHEM-SHAMPOO"] - after["CHEM-SHAMPOO"] == 1
    moves = inventory.movements(desk, sku="OIL-5W30")
    assert moves[0].reason == f"used by walk-in sale {sale.number} (OIL)"


def test_deposits_are_held_applied_forfeited_and_returned_in_the_ledger(desk):
    member = members.enroll(desk, phone="13800138000", plates=("沪A12345",)).member
    with pytest.raises(RuleViolation, match="no shift is open"):
        bookings.book(desk, services=["WASH"], start=at(9), plate="沪A12345", deposit_minor=5000,
                      deposit_method="cash", now=NOW)
    paid = bookings.book(desk, services=["WASH"], start=at(9), plate="沪A12345", deposit_minor=5000, now=NOW)
    sale = checkout.checkout(desk, booking_ref=paid.code, now=at(10))  # 30.00 of the 50.00 pays it all
    assert sale.receipt.deposit_minor == 3000 and sale.receipt.payments == ()
    missed = bookings.book(desk, services=["WASH"], start=at(11), plate="沪A12345", deposit_minor=5000, now=at(10))
    bookings.mark_no_show(desk, missed.code, now=at(11, 31))
    kept = bookings.book(desk, services=["WASH"], start=at(14), plate="沪A12345", deposit_minor=5000, now=at(12))
    bookings.cancel(desk, kept.code, now=at(13, 30))  # late: forfeited
    timely = bookings.book(desk, services=["WASH"], start=at(16), plate="沪A12345", deposit_minor=5000, now=at(12))
    bookings.cancel(desk, timely.code, now=at(12, 5))
    with desk.store.read() as conn:
        assert all(deposits.held(conn, b.id)[0] == 0 for b in (paid, missed, kept, timely))
        rows = conn.execute("SELECT kind, sum(amount_minor) FROM ledger_entry WHERE account = 'tender'"
                            " GROUP BY kind ORDER BY kind").fetchall()
        forfeit = conn.execute("SELECT sum(amount_minor) FROM ledger_entry WHERE account = 'forfeit'").fetchone()[0]
    assert [tuple(r) for r in rows] == [("deposit", 20000), ("deposit_return", -7000)]  # 20.00 + 50.00 back
    assert forfeit == -10000
    with desk.store.read() as conn:
        assert conn.execute("SELECT coalesce(sum(amount_minor), 0) FROM prepaid_entry WHERE member_id = ?",
                            (member.id,)).fetchone()[0] == 0  # not on the member's prepaid balance


def test_invoices_personal_or_for_a_company_never_twice_nor_for_a_refund(desk, capsys):
    sale = checkout.checkout(desk, services=["OIL", "WASH"], payments=[("wechat_pay", 32900)], now=at(10))
    checkout.refund(desk, sale.number, reason="no wash", lines=[("WASH", 1)], manager=MANAGER, now=at(11))
    code, out, _ = cli(capsys, desk, "pay", "invoice", sale.number, "--buyer", "李娜", "--json")
    invoice = json.loads(out)
    assert code == 0 and invoice["personal"] and invoice["amount_minor"] == 29900  # what was kept
    code, _, err = cli(capsys, desk, "pay", "invoice", sale.number, "--buyer", "上海某公司", "--tax-id",
                       "91310115MA1K4ABC1X")
    assert code == 6 and "already" in err
    other = checkout.checkout(desk, services=["WASH"], payments=[("alipay", 3000)], now=at(12))
    code, _, err = cli(capsys, desk, "pay", "invoice", other.number, "--buyer", "上海某公司", "--tax-id", "123")
    assert code == 2 and "--tax-id" in err
    checkout.refund(desk, other.number, reason="wrong car", manager=MANAGER, now=at(13))
    code, _, err = cli(capsys, desk, "pay", "invoice", other.number, "--buyer", "李娜")
    assert code == 6 and "refunded" in err
    code, out, _ = cli(capsys, desk, "receipt", "list", "--date", "2026-11-23", "--json")
    listed = json.loads(out)
    assert [(r["number"], r["state"], r["invoice"]) for r in listed] == [
        (other.number, "refunded", "none"), (sale.number, "partly_refunded", "requested")]
    code, out, _ = cli(capsys, desk, "receipt", "list", "--search", sale.number[-5:])
    assert code == 0 and sale.number in out and other.number not in out
    with pytest.raises(PermissionDenied):
        checkout.refund(desk, sale.number, reason="x")
