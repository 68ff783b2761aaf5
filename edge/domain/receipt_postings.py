"""A receipt as money-ledger postings: the sale, and the share of it a refund by lines reverses.

A sale posts, per line, its revenue at list price (−SALES by category, −GOODS by SKU) and
the discounts that line was given (+DISCOUNT tier, coupon, price_override); then how the
bill was settled: +POINTS, +PREPAID, +DEPOSIT (a deposit held for the booking, by the method
it was taken with) and +TENDER per payment method.

A refund of some units of a line reverses that many units' share of each of the line's
postings. Shares are cumulative (units refunded so far and now, times the amount, over the
line's quantity, rounded down, less what earlier refunds took), so refunding a line in
parts gives back exactly what refunding it at once would. The value given back is paid out
in this order: the receipt's money (its payment methods as listed, a deposit applied by the
method it was taken with), then prepaid balance, then points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from edge.domain.checkout import GOODS_CATEGORY, Receipt
from edge.domain.money_ledger import Account, Posting
from edge.errors import InvalidInput

TIER, COUPON, PRICE_OVERRIDE = "tier", "coupon", "price_override"


def sale_postings(receipt: Receipt, references: Sequence[str], *, deposit_method: str = "") -> list[Posting]:
    """The balanced postings of a settled receipt (`references` line up with its payments)."""
    postings: list[Posting] = []
    for line in receipt.lines:
        revenue = max(line.list_unit_minor * line.quantity, line.gross_minor)
        if line.category == GOODS_CATEGORY:
            postings.append(Posting(Account.GOODS, -revenue, line.code, line.line_code, line.quantity))
        else:
            postings.append(Posting(Account.SALES, -revenue, line.category, line.line_code, line.quantity))
        for detail, amount in ((PRICE_OVERRIDE, max(line.override_minor, 0)), (TIER, line.tier_discount_minor),
                               (COUPON, line.coupon_minor)):
            if amount:
                postings.append(Posting(Account.DISCOUNT, amount, detail, line.line_code))
    if receipt.points_minor:
        postings.append(Posting(Account.POINTS, receipt.points_minor))
    if receipt.prepaid_minor:
        postings.append(Posting(Account.PREPAID, receipt.prepaid_minor))
    if receipt.deposit_minor:
        postings.append(Posting(Account.DEPOSIT, receipt.deposit_minor, deposit_method))
    for (method, amount), reference in zip(receipt.payments, references, strict=True):
        postings.append(Posting(Account.TENDER, amount, method, reference=reference))
    return postings


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One receipt line as its sale and earlier refunds posted it."""

    line_code: str
    account: Account  # SALES or GOODS
    detail: str  # category or SKU
    quantity: int
    revenue_minor: int  # positive: what the sale posted
    discounts: Mapping[str, int]  # detail -> positive amount the sale posted
    refunded_quantity: int = 0

    @property
    def refundable(self) -> int:
        return self.quantity - self.refunded_quantity


def _share(amount: int, quantity: int, before: int, now: int) -> int:
    return amount * (before + now) // quantity - amount * before // quantity


def line_refund(line: LedgerLine, quantity: int) -> tuple[list[Posting], int]:
    """The postings reversing `quantity` units of `line`, and the value they give back."""
    if quantity <= 0:
        raise InvalidInput("lines", f"line {line.line_code}: refund a positive quantity, not {quantity}")
    if quantity > line.refundable:
        raise InvalidInput("lines", f"line {line.line_code}: {line.refundable} of {line.quantity} left to refund,"
                                    f" not {quantity}")
    before = line.refunded_quantity
    revenue = _share(line.revenue_minor, line.quantity, before, quantity)
    postings = [Posting(line.account, revenue, line.detail, line.line_code, quantity)]
    value = revenue
    for detail, amount in line.discounts.items():
        share = _share(amount, line.quantity, before, quantity)
        if share:
            postings.append(Posting(Account.DISCOUNT, -share, detail, line.line_code))
            value -= share
    return postings, value


@dataclass(frozen=True, slots=True)
class PayBack:
    """How a refund's value goes back: money by method, prepaid, points (in money)."""

    money: tuple[tuple[str, int], ...]
    prepaid_minor: int
    points_minor: int

    @property
    def money_minor(self) -> int:
        return sum(amount for _method, amount in self.money)


def pay_back(value: int, money_left: Sequence[tuple[str, int]], prepaid_left: int, points_left: int) -> PayBack:
    """Split `value` over what the receipt still holds: money first (in the receipt's order),
    then prepaid, then points. Whatever is left after them was never paid and is not owed."""
    money = []
    for method, left in money_left:
        take = min(value, left)
        if take > 0:
            money.append((method, take))
            value -= take
    prepaid = min(value, max(prepaid_left, 0))
    value -= prepaid
    points = min(value, max(points_left, 0))
    return PayBack(tuple(money), prepaid, points)


def pay_back_postings(back: PayBack) -> list[Posting]:
    postings = [Posting(Account.TENDER, -amount, method) for method, amount in back.money]
    if back.prepaid_minor:
        postings.append(Posting(Account.PREPAID, -back.prepaid_minor))
    if back.points_minor:
        postings.append(Posting(Account.POINTS, -back.points_minor))
    return postings


def proportional(total: int, whole: int, done_before: int, done_now: int) -> int:
    """`total`'s share for `done_now` more of `whole` after `done_before`: cumulative, so parts
    add up to `total` when everything is done (points back, points earned taken back)."""
    if whole <= 0:
        return 0
    return total * min(done_before + done_now, whole) // whole - total * min(done_before, whole) // whole
