"""The station's money as one ledger: every movement is a balanced set of postings.

A movement (a sale, a refund, a top-up, a deposit, cash put in or taken out of the drawer)
is one transaction of postings whose signed amounts add up to zero. Money received is a
positive `tender` posting; what it pays for is the negative side: revenue (`sales` per
category, `goods`), or what the station now owes (`prepaid` top-ups, `deposit`s held).
Discounts and the points a customer redeems are positive postings on the sale's side.
Receipts, the shift's drawer and the revenue report are sums over these rows, so they
cannot disagree:

    sales + goods + forfeits − discounts − refunds            (net revenue)
        = tender by method + points redeemed
          − (prepaid topped up − prepaid spent) − (deposits held − deposits released)
          − (cash put in the drawer − cash taken out)

(`docs/money.md` states the identity and `tests/test_ledger_identity.py` checks it.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class Account(StrEnum):
    TENDER = "tender"  # money received (+) or paid out (−); detail = payment method
    SALES = "sales"  # service revenue (−); detail = category
    GOODS = "goods"  # goods sold over the counter (−); detail = SKU
    DISCOUNT = "discount"  # given away (+); detail = tier, coupon, price_override
    POINTS = "points"  # points redeemed, valued in money (+)
    PREPAID = "prepaid"  # owed to members: top-up (−), spent (+)
    DEPOSIT = "deposit"  # deposits held (−), released or returned (+)
    FORFEIT = "forfeit"  # deposits kept on a no-show (−): revenue
    DRAWER = "drawer"  # cash put in (−) or taken out (+) of the drawer, not a sale
    ADJUSTMENT = "adjustment"  # a manager's correction of a balance (± prepaid)


class Kind(StrEnum):
    """What a transaction was, for receipts and the audit trail."""

    SALE = "sale"
    REFUND = "refund"
    TOP_UP = "top_up"
    DEPOSIT = "deposit"
    DEPOSIT_FORFEIT = "deposit_forfeit"
    DEPOSIT_RETURN = "deposit_return"
    CASH_IN = "cash_in"
    CASH_OUT = "cash_out"
    ADJUST = "adjust"


CASH = "cash"


@dataclass(frozen=True, slots=True)
class Posting:
    account: Account
    amount_minor: int  # signed: money in and what is given away are positive
    detail: str = ""  # payment method, category, SKU or discount kind
    line_code: str | None = None  # the receipt line it belongs to
    quantity: int = 0
    reference: str = ""  # a tender's card slip or transaction number


class Unbalanced(ValueError):
    """A transaction whose postings do not add up to zero: a programming error, never stored."""


def check_balanced(postings: Sequence[Posting]) -> None:
    if not postings:
        raise Unbalanced("a ledger transaction needs postings")
    total = sum(p.amount_minor for p in postings)
    if total:
        raise Unbalanced(f"postings add up to {total}, not 0: {postings!r}")


def moves_cash(postings: Sequence[Posting]) -> bool:
    """Whether cash goes in or out of the drawer: such a transaction needs an open shift."""
    return any(p.amount_minor and (p.account is Account.DRAWER or (p.account is Account.TENDER and p.detail == CASH))
               for p in postings)
