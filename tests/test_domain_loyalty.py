"""Pure loyalty and checkout rules: points, coupons, growth and tiers, receipt arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.domain.checkout import Item, RedemptionRule, price, settle
from edge.domain.coupons import Coupon, CouponKind, SaleLine, coupon_discount
from edge.domain.growth import GrowthRule, growth_for, rank_after_growth, rank_at_period_end
from edge.domain.points import Lot, PointsRule, allocate, lapsed, points_for
from edge.errors import InvalidInput, RuleViolation

NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
RULE = PointsRule(points=10, per_amount_minor=10_000)


def coupon(kind=CouponKind.AMOUNT_OFF, value=2000, **kw):
    fields = dict(code="C1", kind=kind, value=value, service_code=None, min_spend_minor=0, category=None,
                  min_tier_rank=None, valid_from=NOW - timedelta(days=1), valid_until=NOW + timedelta(days=30),
                  state="issued")
    fields.update(kw)
    return Coupon(**fields)


def test_points_earned_in_whole_steps_and_double_on_birthdays():
    assert points_for(29_900, RULE) == 20
    assert points_for(9_999, RULE) == 0
    assert points_for(29_900, RULE, birthday=True) == 40
    assert points_for(-100, RULE) == 0


def test_redemption_takes_from_hq_balance_then_soonest_expiring_lots():
    lots = [Lot("late", 50, NOW + timedelta(days=300)), Lot("soon", 30, NOW + timedelta(days=5)),
            Lot("hq", 20, None), Lot("gone", 100, NOW - timedelta(days=1))]
    assert allocate(lots, 60, NOW) == [("hq", 20), ("soon", 30), ("late", 10)]
    with pytest.raises(RuleViolation, match="only 100 points usable; cannot redeem 101"):
        allocate(lots, 101, NOW)
    assert lapsed(lots, NOW) == [("gone", 100)]


def test_growth_upgrades_at_once_and_downgrades_one_tier_at_period_end():
    thresholds = [0, 500, 2000, 5000]
    assert growth_for(29_900, visits=1, rule=GrowthRule()) == 299 + 10
    assert rank_after_growth(thresholds, 0, 2100) == 2
    assert rank_after_growth(thresholds, 3, 100) == 3  # never down within a period
    assert rank_at_period_end(thresholds, 3, 100) == 2  # missed: one tier down
    assert rank_at_period_end(thresholds, 2, 2000) == 2
    assert rank_at_period_end(thresholds, 1, 6000) == 3


@pytest.mark.parametrize(
    ("kwargs", "lines", "tier", "expected"),
    [
        ({}, [SaleLine("OIL", "maintenance", 29900, 29900)], 0, 2000),
        ({"value": 50000}, [SaleLine("OIL", "maintenance", 29900, 29900)], 0, 29900),
        ({"kind": CouponKind.PERCENT_OFF, "value": 15}, [SaleLine("WASH", "wash", 3333, 3333)], 0, 499),
        ({"kind": CouponKind.FREE_SERVICE, "value": 0, "service_code": "WASH"},
         [SaleLine("WASH", "wash", 6000, 3000), SaleLine("OIL", "maintenance", 29900, 29900)], 0, 3000),
        ({"category": "wash"}, [SaleLine("WASH", "wash", 1500, 1500), SaleLine("OIL", "maintenance", 29900, 29900)],
         0, 1500),
    ],
)
def test_coupon_discounts(kwargs, lines, tier, expected):
    assert coupon_discount(coupon(**kwargs), lines, tier_rank=tier, now=NOW) == expected


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_spend_minor": 50000}, "needs a spend of 500.00 CNY; eligible is 299.00 CNY"),
        ({"category": "film"}, "applies to film services"),
        ({"min_tier_rank": 2}, "higher member tier"),
        ({"valid_until": NOW}, "valid"),
        ({"state": "redeemed"}, "is redeemed"),
        ({"kind": CouponKind.FREE_SERVICE, "service_code": "FILM"}, "free FILM"),
    ],
)
def test_coupon_conditions_say_which_one_fails(kwargs, message):
    with pytest.raises(RuleViolation, match=message):
        coupon_discount(coupon(**kwargs), [SaleLine("OIL", "maintenance", 29900, 29900)], tier_rank=0, now=NOW)


OIL = Item("OIL", "Oil change", "maintenance", 29900)
WASH = Item("WASH", "Wash", "wash", 3500, quantity=2)


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        # (subtotal, tier, coupon, points used, points money, prepaid, remainder)
        ({}, (36900, 0, 0, 0, 0, 0, 36900)),
        ({"tier_discount_pct": 5}, (36900, 1495 + 350, 0, 0, 0, 0, 35055)),
        ({"tier_discount_pct": 5, "coupon": coupon(value=2000)}, (36900, 1845, 2000, 0, 0, 0, 33055)),
        ({"tier_discount_pct": 5, "coupon": coupon(), "points": 1000, "points_balance": 1500},
         (36900, 1845, 2000, 1000, 1000, 0, 32055)),
        ({"tier_discount_pct": 5, "coupon": coupon(), "points": 1000, "points_balance": 1000,
          "prepaid_minor": 20000, "prepaid_balance": 25000}, (36900, 1845, 2000, 1000, 1000, 20000, 12055)),
        # points worth more than is left: only what is needed, in whole units, is taken
        ({"coupon": coupon(value=36000), "points": 2000, "points_balance": 2000}, (36900, 0, 36000, 900, 900, 0, 0)),
        # prepaid asked beyond what is due: only what is due is debited
        ({"prepaid_minor": 50000, "prepaid_balance": 60000}, (36900, 0, 0, 0, 0, 36900, 0)),
    ],
)
def test_checkout_arithmetic(kwargs, expected):
    receipt = price([OIL, WASH], now=NOW, redemption=RedemptionRule(100, 100), **kwargs)
    got = (receipt.subtotal_minor, receipt.tier_discount_minor, receipt.coupon_discount_minor,
           receipt.points_redeemed, receipt.points_minor, receipt.prepaid_minor, receipt.remainder_minor)
    assert got == expected
    assert receipt.total_minor == receipt.points_minor + receipt.prepaid_minor + receipt.remainder_minor


def test_checkout_refuses_what_the_customer_does_not_have():
    with pytest.raises(RuleViolation, match="has 500 points; cannot redeem 1000"):
        price([OIL], points=1000, points_balance=500, now=NOW)
    with pytest.raises(RuleViolation, match="steps of 100"):
        price([OIL], points=150, points_balance=500, now=NOW)
    with pytest.raises(RuleViolation, match="prepaid balance is 1.00 CNY; cannot take 2.00 CNY"):
        price([OIL], prepaid_minor=200, prepaid_balance=100, now=NOW)


def test_settle_needs_the_exact_remainder_by_known_methods():
    receipt = price([OIL], now=NOW)
    assert settle(receipt, [("wechat_pay", 20000), ("cash", 9900)]).payments == (("wechat_pay", 20000), ("cash", 9900))
    with pytest.raises(RuleViolation, match="add up to 290.00 CNY; 299.00 CNY is due"):
        settle(receipt, [("cash", 29000)])
    with pytest.raises(InvalidInput, match="unknown payment method 'bitcoin'"):
        settle(receipt, [("bitcoin", 29900)])
