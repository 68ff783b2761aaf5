"""Checkout, refunds, invoices, points, prepaid, coupons and tiers against a real station database."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation
from edge.services import bookings, checkout, deposits, ledgers, loyalty, members
from tests.stations import MANAGER, NOW, TEST_CONFIG, make_station, open_drawer

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
LOYALTY = """
[loyalty]
points_per_step = 10
points_step_minor = 10000
birthday_multiplier = 2
points_valid_days = 365
redeem_points_per_unit = 100
redeem_unit_minor = 100
growth_per_major_unit = 1
growth_per_visit = 10
tier_period_months = 12
low_balance_minor = 5000

[[coupon_templates]]
id = "FREEWASH"
kind = "free_service"
value = 0
service = "WASH"
valid_days = 90

[[coupon_templates]]
id = "TENOFF"
kind = "amount_off"
value = 1000
min_spend_minor = 20000
valid_days = 30
"""
CONFIG = TEST_CONFIG.replace(
    "growth_threshold = 1000", 'growth_threshold = 600\ndiscount_pct = 5\nupgrade_reward = "FREEWASH"'
) + LOYALTY


@pytest.fixture
def shop(tmp_path):
    station = make_station(tmp_path, config=CONFIG)
    open_drawer(station)
    yield station
    station.store.close()


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ)


def events(station, prefix):
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, stream, body FROM outbox WHERE type LIKE ? ORDER BY stream, seq",
                            (prefix + "%",))
        return [(r["type"], r["stream"], json.loads(r["body"])) for r in rows]


def test_checkout_of_a_booking_earns_points_and_growth(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", phone="13800138000")
    result = checkout.checkout(shop, booking_ref=booking.code, payments=[("wechat_pay", 29900)], now=at(10))
    assert result.receipt.total_minor == 29900 and result.points_earned == 20
    with shop.store.read() as conn:
        assert ledgers.points_balance(conn, booking.member_id) == 20
        growth = conn.execute("SELECT growth FROM member_balance").fetchone()[0]
        assert growth == 299 + 10
        assert [tuple(r) for r in conn.execute("SELECT detail, amount_minor FROM ledger_entry WHERE account = 'tender'"
                                               )] == [("wechat_pay", 29900)]
    (paid,) = events(shop, "payment.")
    assert paid[1] == "payment" and paid[2]["receipt"]["total_minor"] == 29900
    with pytest.raises(InvalidTransition, match="paid already"):
        checkout.checkout(shop, booking_ref=booking.code, payments=[("cash", 29900)], now=at(10))


def test_upgrade_on_growth_gives_the_reward_coupon_and_the_tier_discount_applies_next_time(shop):
    booking = bookings.book(shop, services=["OIL"], start=at(9), plate="沪A12345", phone="13800138000")
    checkout.checkout(shop, booking_ref=booking.code, payments=[("cash", 29900)], now=at(10))
    second = checkout.checkout(shop, services=["OIL"], phone="13800138000", payments=[("cash", 29900)], now=at(11))
    assert second.receipt.tier_discount_minor == 0  # still regular while paying: 618 growth after this sale
    member = members.lookup(shop, "13800138000").member
    assert member.tier == "gold"
    (changed,) = [e for e in events(shop, "tier.changed")]
    assert changed[2]["from"] == "regular" and changed[2]["to"] == "gold"
    with shop.store.read() as conn:
        code = conn.execute("SELECT code FROM coupon WHERE member_id = ?", (member.id,)).fetchone()[0]
    third = checkout.checkout(shop, services=["OIL", "WASH"], phone="13800138000", coupon_code=code,
                              payments=[("cash", 28405)], now=at(12))
    # gold: 5% off each line (1495 + 150), then the free wash (3000 - 150 = 2850 after the tier discount)
    assert third.receipt.tier_discount_minor == 1645 and third.receipt.coupon_discount_minor == 2850
    with pytest.raises(RuleViolation, match="is redeemed"):
        checkout.checkout(shop, services=["WASH"], phone="13800138000", coupon_code=code,
                          payments=[("cash", 2850)], now=at(13))


def test_points_and_prepaid_pay_part_and_a_refund_puts_everything_back(shop):
    profile = members.enroll(shop, phone="13800138000", name="Li")
    member_id = profile.member.id
    with shop.store.write() as conn:
        ledgers.adjust_points(conn, shop, member_id=member_id, points=1000, reason="welcome", now=NOW)
        ledgers.prepaid_entry(conn, shop, member_id=member_id, kind="top_up", amount_minor=10000, now=NOW)
    result = checkout.checkout(shop, services=["OIL"], phone="13800138000", points=1000, prepaid_minor=10000,
                               payments=[("alipay", 18900)], now=at(10))
    r = result.receipt
    assert (r.points_minor, r.prepaid_minor, r.remainder_minor) == (1000, 10000, 18900)
    assert result.points_earned == 20  # on 289.00 paid in money
    low = events(shop, "prepaid.low_balance")
    assert len(low) == 1 and low[0][2]["balance_minor"] == 0
    refund = checkout.refund(shop, result.number, reason="customer complaint", manager=MANAGER, now=at(11))
    assert refund.refunded_minor == 28900 and refund.points_returned == 1000
    with shop.store.read() as conn:
        assert ledgers.points_balance(conn, member_id) == 1000
        assert ledgers.prepaid_balance(conn, member_id) == 10000
        assert conn.execute("SELECT sum(amount_minor) FROM ledger_entry WHERE account = 'tender'").fetchone()[0] == 0
        assert conn.execute("SELECT state FROM receipt").fetchone()[0] == "refunded"
    with pytest.raises(InvalidTransition, match="refunded"):
        checkout.refund(shop, result.number, reason="again", manager=MANAGER, now=at(12))


def test_points_expire_per_lot(shop):
    member_id = members.enroll(shop, phone="13800138000").member.id
    checkout.checkout(shop, services=["OIL"], phone="13800138000", payments=[("cash", 29900)], now=at(10))
    with shop.store.write() as conn:
        assert ledgers.expire_points(conn, shop, now=at(10) + timedelta(days=364)) == 0
        assert ledgers.expire_points(conn, shop, now=at(10) + timedelta(days=366)) == 20
        assert ledgers.points_balance(conn, member_id) == 0
        assert ledgers.expire_points(conn, shop, now=at(10) + timedelta(days=400)) == 0


def test_downgrade_at_period_end(shop):
    member = members.enroll(shop, phone="13800138000", tier="gold").member
    with shop.store.write() as conn:
        ledgers.ensure_balance_row(conn, shop, member.id, NOW)
    assert loyalty.close_tier_periods(shop, now=NOW + timedelta(days=200)) == []
    (changed,) = loyalty.close_tier_periods(shop, now=NOW + timedelta(days=366))
    assert changed.tier == "regular"


def test_invoice_request_and_double_use_conflict(shop):
    result = checkout.checkout(shop, services=["WASH"], payments=[("cash", 3000)], now=at(10))
    with pytest.raises(InvalidInput, match="unified social credit code") as refused:
        checkout.request_invoice(shop, result.number, buyer_name="上海某物流有限公司", tax_id="91310000mA1", now=at(10))
    assert refused.value.field == "tax_id"
    invoice = checkout.request_invoice(shop, result.number, buyer_name="上海某物流有限公司",
                                       tax_id="91310000ma1fl0xx2k", now=at(10))
    assert invoice["tax_id"] == "91310000MA1FL0XX2K" and invoice["amount_minor"] == 3000
    with pytest.raises(RuleViolation, match="e-invoice request already"):
        checkout.request_invoice(shop, result.number, buyer_name="Li Na", now=at(10))
    with shop.store.write() as conn:
        code = loyalty.issue_coupon(conn, shop, template_id="TENOFF", member_id=None, source="manual", now=NOW)
    loyalty.report_double_use(shop, code, detail={"station": "SH-PD-002", "used_at": "2026-11-23T02:00:00Z"})
    with shop.store.read() as conn:
        assert [tuple(r) for r in conn.execute("SELECT kind, entity_id FROM conflict")] == [("coupon_double_use", code)]
    with pytest.raises(NotFound, match="no receipt"):
        checkout.request_invoice(shop, "NOPE", buyer_name="x")


def test_checkout_errors_name_the_problem(shop):
    with pytest.raises(RuleViolation, match="add up to 10.00 CNY; 30.00 CNY is due"):
        checkout.checkout(shop, services=["WASH"], payments=[("cash", 1000)], now=at(10))
    with pytest.raises(RuleViolation, match="need a member"):
        checkout.checkout(shop, services=["WASH"], points=100, payments=[("cash", 2900)], now=at(10))
    members.enroll(shop, phone="13800138000")
    with pytest.raises(RuleViolation, match="has 0 points"):
        checkout.checkout(shop, services=["WASH"], phone="13800138000", points=100,
                          payments=[("cash", 2900)], now=at(10))
    with pytest.raises(NotFound, match="no coupon 'FAKE'"):
        checkout.checkout(shop, services=["WASH"], coupon_code="FAKE", payments=[("cash", 3000)], now=at(10))


def test_birthday_points_count_double(shop):
    members.enroll(shop, phone="13800138000", birthday="11-23")
    result = checkout.checkout(shop, services=["OIL"], phone="13800138000", payments=[("cash", 29900)], now=at(10))
    assert result.points_earned == 40
    with pytest.raises(InvalidInput, match="not MM-DD"):
        members.enroll(shop, phone="13900000000", birthday="23-11")


def _member_with_score(station, score):
    member = members.enroll(station, phone="13800138000", plates=("沪A12345",)).member
    with station.store.write() as conn:
        conn.execute("UPDATE member SET credit_score = ? WHERE id = ?", (score, member.id))
    return member


@pytest.mark.parametrize(
    ("score", "hold", "day_offset", "deposit", "refusal"),
    [
        (85, True, 1, 0, None),
        (75, True, 1, 0, "too low to hold"),
        (75, False, 1, 0, None),
        (55, False, 1, 0, "deposit of 50.00 CNY is required"),
        (55, False, 1, 5000, None),
        (35, False, 1, 5000, "only for today"),
        (35, False, 0, 5000, None),
    ],
)
def test_credit_score_narrows_booking_rights(shop, score, hold, day_offset, deposit, refusal):
    member = _member_with_score(shop, score)
    start = at(9) + timedelta(days=day_offset)
    book = lambda: bookings.book(shop, services=["WASH"], start=start, plate="沪A12345", hold=hold,  # noqa: E731
                                 deposit_minor=deposit)
    if refusal:
        with pytest.raises(RuleViolation, match=refusal):
            book()
        return
    booking = book()
    assert booking.member_id == member.id  # found by the plate
    with shop.store.read() as conn:
        assert ledgers.prepaid_balance(conn, member.id) == 0  # a deposit is held by the station, not prepaid
        assert deposits.held(conn, booking.id) == (deposit, "wechat_pay" if deposit else "")


def test_payments_show_in_the_revenue_report_by_method_net_of_refunds(shop):
    from edge.domain.reports import period_of
    from edge.services.reports import station_report

    checkout.checkout(shop, services=["OIL"], payments=[("wechat_pay", 20000), ("cash", 9900)], now=at(10))
    refunded = checkout.checkout(shop, services=["WASH"], payments=[("cash", 3000)], now=at(11))
    checkout.refund(shop, refunded.number, reason="wrong car", manager=MANAGER, now=at(12))
    report = station_report(shop, period_of("day", MONDAY), ["revenue"], now=at(13))
    (revenue,) = report.sections
    by_method = {r["key"]: r["revenue_minor"] for r in revenue.records() if r["by"] == "payment_method"}
    assert by_method == {"wechat_pay": 20000, "cash": 9900}


GOODS = """
[[materials]]
sku = "FLUID"
name_zh = "玻璃水"
name_en = "Screen wash 2 L"
unit = "bottle"
reorder_level = 2
initial_stock = 5
price = 1500

[[materials]]
sku = "SHAMPOO"
name_zh = "香波"
name_en = "Shampoo dose"
unit = "dose"
reorder_level = 10
initial_stock = 50
"""


def test_goods_sold_at_checkout_leave_stock_keep_their_price_and_come_back_on_refund(tmp_path):
    from edge.services import inventory

    station = make_station(tmp_path, config=CONFIG + GOODS)
    open_drawer(station)
    members.enroll(station, phone="13800138000", tier="gold")  # 5% off services, not goods
    result = checkout.checkout(station, services=["WASH"], goods=[("FLUID", 2)], phone="13800138000",
                               payments=[("cash", 2850 + 3000)], now=at(10))
    goods_line = next(line for line in result.receipt.lines if line.code == "FLUID")
    assert (goods_line.gross_minor, goods_line.tier_discount_minor) == (3000, 0)
    assert {m.sku: m.on_hand for m in inventory.stock(station)}["FLUID"] == 3
    checkout.refund(station, result.number, reason="customer changed mind", manager=MANAGER, now=at(11))
    assert {m.sku: m.on_hand for m in inventory.stock(station)}["FLUID"] == 5
    with pytest.raises(RuleViolation, match="SHAMPOO is not sold over the counter"):
        checkout.checkout(station, goods=[("SHAMPOO", 1)], payments=[("cash", 100)], now=at(12))
    with pytest.raises(RuleViolation, match="only 5 bottle"):
        checkout.checkout(station, goods=[("FLUID", 6)], payments=[("cash", 9000)], now=at(12))
    station.store.close()


def test_members_are_reminded_once_before_points_expire(shop):
    member_id = members.enroll(shop, phone="13800138000").member.id
    checkout.checkout(shop, services=["OIL"], phone="13800138000", payments=[("cash", 29900)], now=at(10))
    with shop.store.write() as conn:
        assert ledgers.remind_expiring_points(conn, shop, now=at(10) + timedelta(days=300)) == 0
        assert ledgers.remind_expiring_points(conn, shop, now=at(10) + timedelta(days=340)) == 1
        assert ledgers.remind_expiring_points(conn, shop, now=at(10) + timedelta(days=350)) == 0
    (reminder,) = events(shop, "points.expiring")
    assert reminder[2]["member_id"] == member_id and reminder[2]["points"] == 20


def test_payment_references_are_recorded(shop):
    checkout.checkout(shop, services=["OIL"], payments=[("wechat_pay", 20000, "4200001234"), ("cash", 9900)],
                      now=at(10))
    with shop.store.read() as conn:
        rows = [tuple(r) for r in conn.execute(
            "SELECT detail, reference FROM ledger_entry WHERE account = 'tender' ORDER BY detail")]
    assert rows == [("cash", ""), ("wechat_pay", "4200001234")]
