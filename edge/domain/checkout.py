"""Checkout arithmetic: receipt lines, tier discount, coupon, points, prepaid, remainder.

Order of application, each on what the previous steps left:
    1. tier discount, per service line, as a percentage (goods keep their price);
    2. one coupon, on the discounted lines it is eligible for;
    3. points, in whole redemption units, never more than is left to pay;
    4. prepaid (stored-value) balance, never more than is left to pay;
    5. a deposit held for the booking, never more than is left to pay;
    6. the remainder is paid by cash, bank card, WeChat Pay or Alipay.
A price override (a manager's) changes a line's unit price; the line keeps its list price,
so the difference is a discount (or, for a higher price, extra revenue) of its own.
Rounding: every percentage is rounded down to the minor unit, line by line, so a discount
never exceeds its stated rate; all amounts are integer minor units.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from edge.domain.coupons import Coupon, CouponKind, SaleLine, coupon_discount
from edge.domain.money import allocate, yuan
from edge.errors import InvalidInput, RuleViolation

PAYMENT_METHODS = ("cash", "bank_card", "wechat_pay", "alipay", "enterprise")
GOODS_CATEGORY = "goods"  # the category of goods sold over the counter and parts billed
PACKAGE_CATEGORY = "package"  # a package is sold at a bundle price: a category of its own


@dataclass(frozen=True, slots=True)
class Item:
    code: str
    name: str
    category: str
    unit_minor: int
    quantity: int = 1
    tier_discount: bool = True  # goods sold over the counter keep their price
    list_unit_minor: int | None = None  # the catalogue price when `unit_minor` was overridden
    fitted: bool = False  # a part fitted during service: already out of stock, never back on the shelf


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
    unit_minor: int  # the price charged for one unit
    gross_minor: int  # unit × quantity
    tier_discount_minor: int
    list_unit_minor: int = 0  # the catalogue price of one unit (= unit_minor unless overridden)
    coupon_minor: int = 0  # this line's share of the coupon
    line_code: str = ""  # unique on its receipt: the code, or code#2 for a second line of it
    fitted: bool = False  # an extra part fitted during service (see Item)

    @property
    def net_minor(self) -> int:
        """After the tier discount: what a coupon may take from."""
        return self.gross_minor - self.tier_discount_minor

    @property
    def due_minor(self) -> int:
        """What the line costs the customer after every discount."""
        return self.net_minor - self.coupon_minor

    @property
    def override_minor(self) -> int:
        """List price less the price charged, for the whole line (negative for a higher price)."""
        return (self.list_unit_minor - self.unit_minor) * self.quantity


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
    deposit_minor: int = 0  # a deposit held for the booking, applied to the bill

    @property
    def total_minor(self) -> int:
        """What the customer owes after discounts: paid by points, prepaid and the remainder."""
        return self.subtotal_minor - self.tier_discount_minor - self.coupon_discount_minor

    @property
    def paid_in_money_minor(self) -> int:
        """Prepaid, a deposit applied and the remainder: the spend that earns points and growth."""
        return self.prepaid_minor + self.deposit_minor + self.remainder_minor


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
    deposit_held_minor: int = 0,
    now: datetime,
    money: Callable[[int], str] = yuan,
) -> Receipt:
    """The receipt for `items` with the customer's discounts and chosen ways to pay."""
    if not items:
        raise RuleViolation("nothing to check out")
    if not 0 <= tier_discount_pct <= 100:
        raise RuleViolation(f"tier discount {tier_discount_pct}% is outside 0-100")
    lines = []
    codes = line_codes([item.code for item in items])
    for item, line_code in zip(items, codes, strict=True):
        if item.quantity <= 0 or item.unit_minor < 0:
            raise RuleViolation(f"line {item.code}: quantity must be positive and price not negative")
        gross = item.unit_minor * item.quantity
        discount = gross * tier_discount_pct // 100 if item.tier_discount else 0
        list_unit = item.unit_minor if item.list_unit_minor is None else item.list_unit_minor
        lines.append(ReceiptLine(item.code, item.name, item.category, item.quantity, item.unit_minor, gross, discount,
                                 list_unit, 0, line_code, item.fitted))
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
        shares = coupon_shares(coupon, lines, coupon_minor)
        lines = [replace(line, coupon_minor=share) for line, share in zip(lines, shares, strict=True)]

    points_used, points_minor = _points(points, points_balance, redemption, left)
    left -= points_minor

    if prepaid_minor < 0:
        raise RuleViolation("the prepaid amount cannot be negative")
    if prepaid_minor > prepaid_balance:
        raise RuleViolation(f"prepaid balance is {money(prepaid_balance)}; cannot take {money(prepaid_minor)}")
    prepaid_used = min(prepaid_minor, left)
    left -= prepaid_used
    deposit_used = min(deposit_held_minor, left)
    left -= deposit_used

    return Receipt(
        lines=tuple(lines), subtotal_minor=subtotal, tier_discount_minor=tier_discount,
        coupon_code=coupon.code if coupon else None, coupon_discount_minor=coupon_minor,
        points_redeemed=points_used, points_minor=points_minor, prepaid_minor=prepaid_used,
        remainder_minor=left, deposit_minor=deposit_used,
    )


def line_codes(codes: Sequence[str]) -> list[str]:
    """Each line's key on its receipt: its code, or `code#2`, `code#3` for repeats."""
    seen: dict[str, int] = {}
    keys = []
    for code in codes:
        seen[code] = seen.get(code, 0) + 1
        keys.append(code if seen[code] == 1 else f"{code}#{seen[code]}")
    return keys


def coupon_shares(coupon: Coupon, lines: Sequence[ReceiptLine], coupon_minor: int) -> list[int]:
    """The coupon's discount split over the lines it applies to, adding up exactly: a free
    service on its line, any other coupon over the eligible lines by what they cost after the
    tier discount. A line refunded later gives back its share."""
    if coupon.kind == CouponKind.FREE_SERVICE:
        target = next(i for i, line in enumerate(lines) if line.code == coupon.service_code)
        return [coupon_minor if i == target else 0 for i in range(len(lines))]
    weights = [line.net_minor if coupon.category is None or line.category == coupon.category else 0
               for line in lines]
    return allocate(coupon_minor, weights) if any(weights) else [0] * len(lines)


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


def change_due(receipt: Receipt, cash_tendered_minor: int | None, *, money: Callable[[int], str] = yuan) -> int:
    """The change on cash handed over for the receipt's cash payment (0 when not given)."""
    if cash_tendered_minor is None:
        return 0
    cash = sum(amount for method, amount in receipt.payments if method == "cash")
    if not cash:
        raise InvalidInput("cash_tendered", "cash tendered, but nothing is paid in cash")
    if cash_tendered_minor < cash:
        raise InvalidInput("cash_tendered", f"{money(cash_tendered_minor)} tendered is less than the"
                                            f" {money(cash)} paid in cash")
    return cash_tendered_minor - cash


def with_overrides(items: Sequence[Item], overrides: dict[str, int], *, money: Callable[[int], str] = yuan) -> list[Item]:
    """Items with a manager's unit prices (by code); each keeps its list price beside it."""
    unknown = sorted(set(overrides) - {item.code for item in items})
    if unknown:
        raise InvalidInput("price_overrides", f"{unknown[0]} is not on this sale")
    for code, unit in overrides.items():
        if unit < 0:
            raise InvalidInput("price_overrides", f"{code}: a price cannot be negative, not {money(unit)}")
    return [replace(item, unit_minor=overrides[item.code], list_unit_minor=item.unit_minor)
            if item.code in overrides else item for item in items]


# a company's tax id: the 18-character unified social credit code (digits and capital letters)
_TAX_ID = re.compile(r"[0-9A-Z]{18}")


def check_invoice_buyer(buyer_name: str, tax_id: str) -> tuple[str, str]:
    """The buyer's name and tax id as invoiced: a person's invoice has no tax id; a company's
    needs one that looks like a unified social credit code."""
    name, tax = buyer_name.strip(), tax_id.strip().upper()
    if not name:
        raise InvalidInput("buyer_name", "an e-invoice needs the buyer's name (a person's or a company's)")
    if tax and not _TAX_ID.fullmatch(tax):
        raise InvalidInput("tax_id", f"{tax_id.strip()!r} is not a unified social credit code"
                                     " (18 letters and digits); leave it empty for a personal invoice")
    return name, tax
