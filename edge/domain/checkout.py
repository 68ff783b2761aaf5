"""Checkout arithmetic: receipt lines, tier discount, coupon, points, prepaid, remainder.

Order of application, each on what the previous steps left:
    1. tier discount, per service line, as a percentage (goods keep their price);
    2. one coupon, on the discounted lines it is eligible for;
    3. points, in whole redemption units, never more than is left to pay;
    4. prepaid (stored-value) balance, never more than is left to pay;
    5. the remainder is paid by cash, bank card, WeChat Pay or Alipay.
Rounding: every percentage is rounded down to the minor unit, line by line, so a discount
never exceeds its stated rate; all amounts are integer minor units.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from edge.domain.coupons import Coupon, SaleLine, coupon_discount
from edge.domain.money import yuan
from edge.errors import InvalidInput, RuleViolation

PAYMENT_METHODS = ("cash", "bank_card", "wechat_pay", "alipay", "enterprise")


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    category: str
    unit_minor: int
    quantity: int = 1
    tier_discount: bool = True  # goods sold over the counter keep their price


@dataclass(frozen=True, slots=True)
class RedemptionRule:
    """`points_per_unit` points pay `unit_minor` (e.g. 100 points = 1.00)."""

    points_per_unit: int = 100
    unit_minor: int = 100


@dataclass(frozen=True, slots=True)
class ReceiptLine:
    code: str
    name: str
    category: str
    quantity: int
    unit_minor: int
    gross_minor: int
    tier_discount_minor: int

    @property
    def net_minor(self) -> int:
        return self.gross_minor - self.tier_discount_minor


@dataclass(frozen=True, slots=True)
class Receipt:
    lines: tuple[ReceiptLine, ...]
    subtotal_minor: int
    tier_discount_minor: int
    coupon_code: str | None
    coupon_discount_minor: int
    points_redeemed: int
    points_minor: int
    prepaid_minor: int
    remainder_minor: int
    payments: tuple[tuple[str, int], ...] = field(default=())

    @property
    def total_minor(self) -> int:
        """What the customer owes after discounts: paid by points, prepaid and the remainder."""
        return self.subtotal_minor - self.tier_discount_minor - self.coupon_discount_minor

    @property
    def paid_in_money_minor(self) -> int:
        """Prepaid plus the remainder: the spend that earns points and growth."""
        return self.prepaid_minor + self.remainder_minor


def price(
    items: Sequence[Item],
    *,
    tier_discount_pct: int = 0,
    tier_rank: int = 0,
    coupon: Coupon | None = None,
    points: int = 0,
    points_balance: int = 0,
    redemption: RedemptionRule = RedemptionRule(),
    prepaid_minor: int = 0,
    prepaid_balance: int = 0,
    now: datetime,
    money: Callable[[int], str] = yuan,
) -> Receipt:
    """The receipt for `items` with the customer's discounts and chosen ways to pay."""
    if not items:
        raise RuleViolation("nothing to check out")
    if not 0 <= tier_discount_pct <= 100:
        raise RuleViolation(f"tier discount {tier_discount_pct}% is outside 0-100")
    lines = []
    for item in items:
        if item.quantity <= 0 or item.unit_minor < 0:
            raise RuleViolation(f"line {item.code}: quantity must be positive and price not negative")
        gross = item.unit_minor * item.quantity
        discount = gross * tier_discount_pct // 100 if item.tier_discount else 0
        lines.append(ReceiptLine(item.code, item.name, item.category, item.quantity, item.unit_minor, gross, discount))
    subtotal = sum(line.gross_minor for line in lines)
    tier_discount = sum(line.tier_discount_minor for line in lines)
    left = subtotal - tier_discount

    coupon_minor = 0
    if coupon is not None:
        sale_lines = [
            SaleLine(line.code, line.category, line.net_minor, line.net_minor // line.quantity) for line in lines
        ]
        coupon_minor = min(left, coupon_discount(coupon, sale_lines, tier_rank=tier_rank, now=now, money=money))
        left -= coupon_minor

    points_used, points_minor = _points(points, points_balance, redemption, left)
    left -= points_minor

    if prepaid_minor < 0:
        raise RuleViolation("the prepaid amount cannot be negative")
    if prepaid_minor > prepaid_balance:
        raise RuleViolation(f"prepaid balance is {money(prepaid_balance)}; cannot take {money(prepaid_minor)}")
    prepaid_used = min(prepaid_minor, left)
    left -= prepaid_used

    return Receipt(
        lines=tuple(lines), subtotal_minor=subtotal, tier_discount_minor=tier_discount,
        coupon_code=coupon.code if coupon else None, coupon_discount_minor=coupon_minor,
        points_redeemed=points_used, points_minor=points_minor, prepaid_minor=prepaid_used,
        remainder_minor=left,
    )


def _points(points: int, balance: int, rule: RedemptionRule, left: int) -> tuple[int, int]:
    if points < 0:
        raise RuleViolation("points to redeem cannot be negative")
    if points % rule.points_per_unit:
        raise RuleViolation(f"points are redeemed in steps of {rule.points_per_unit}")
    if points > balance:
        raise RuleViolation(f"the member has {balance} points; cannot redeem {points}")
    # never pay more with points than is left: keep the unused points on the card
    units = min(points // rule.points_per_unit, left // rule.unit_minor)
    return units * rule.points_per_unit, units * rule.unit_minor


def settle(receipt: Receipt, payments: Sequence[tuple[str, int]], *, money: Callable[[int], str] = yuan) -> Receipt:
    """Attach how the remainder was paid; the amounts must add up to it exactly."""
    for method, amount in payments:
        if method not in PAYMENT_METHODS:
            raise InvalidInput("pay", f"unknown payment method {method!r} (one of {', '.join(PAYMENT_METHODS)})")
        if amount <= 0:
            raise InvalidInput("pay", f"payment by {method} must be positive, not {money(amount)}")
    paid = sum(amount for _method, amount in payments)
    if paid != receipt.remainder_minor:
        raise RuleViolation(f"payments add up to {money(paid)}; {money(receipt.remainder_minor)} is due")
    return replace(receipt, payments=tuple(payments))
