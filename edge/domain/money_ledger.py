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
          − (cash put in the drawer − cash taken out) + adjustments

(`docs/money.md` states the identity and `tests/test_ledger_identity.py` checks it.)
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
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


@dataclass(frozen=True, slots=True)
class MoneyTotals:
    """A period's ledger summed for the revenue report, and the identity that ties it together:

        net revenue = tenders + points redeemed − (prepaid topped up − prepaid spent)
                      − (deposits held − deposits released) − (cash put in − cash taken out)
                      + adjustments

    It holds to the fen because every transaction's postings add up to zero.
    """

    revenue: dict[str, int]  # category (services), "goods", "forfeit" -> amount earned
    discounts: dict[str, int]  # tier, coupon, price_override -> amount given
    refunds: int  # the value refunds gave back (their revenue less their discounts)
    tenders: dict[tuple[str, str], int]  # (what for: sales, top_up, deposit, drawer; method) -> amount
    points: int
    prepaid_topped_up: int
    prepaid_spent: int
    deposits_held: int
    deposits_released: int
    cash_in: int
    cash_out: int
    adjustments: int

    @property
    def net_revenue(self) -> int:
        return sum(self.revenue.values()) - sum(self.discounts.values()) - self.refunds

    @property
    def accounted(self) -> int:
        """The right side of the identity: where the net revenue is, in money and balances."""
        return (sum(self.tenders.values()) + self.points - (self.prepaid_topped_up - self.prepaid_spent)
                - (self.deposits_held - self.deposits_released) - (self.cash_in - self.cash_out) + self.adjustments)

    @property
    def difference(self) -> int:
        """Net revenue less what accounts for it: always 0 for balanced transactions."""
        return self.net_revenue - self.accounted


# what a tender was for, by the kind of its transaction
TENDER_PURPOSE = {Kind.SALE: "sales", Kind.REFUND: "sales", Kind.TOP_UP: "top_up", Kind.DEPOSIT: "deposit",
                  Kind.DEPOSIT_RETURN: "deposit", Kind.DEPOSIT_FORFEIT: "deposit", Kind.CASH_IN: "drawer",
                  Kind.CASH_OUT: "drawer", Kind.ADJUST: "adjust"}
_REVENUE_ACCOUNTS = (Account.SALES, Account.GOODS, Account.FORFEIT)


def money_totals(sums: Iterable[tuple[str, str, str, int]]) -> MoneyTotals:
    """Totals from (kind, account, detail, summed amount) rows of the ledger."""
    revenue: dict[str, int] = defaultdict(int)
    discounts: dict[str, int] = defaultdict(int)
    tenders: dict[tuple[str, str], int] = defaultdict(int)
    figures = defaultdict(int)
    for kind_text, account_text, detail, amount in sums:
        kind, account = Kind(kind_text), Account(account_text)
        if kind is Kind.REFUND and account in (*_REVENUE_ACCOUNTS, Account.DISCOUNT):
            figures["refunds"] += amount
        elif account is Account.SALES:
            revenue[detail] -= amount
        elif account is Account.GOODS:
            revenue["goods"] -= amount
        elif account is Account.FORFEIT:
            revenue["forfeit"] -= amount
        elif account is Account.DISCOUNT:
            discounts[detail] += amount
        elif account is Account.TENDER:
            tenders[(TENDER_PURPOSE[kind], detail)] += amount
        elif account is Account.POINTS:
            figures["points"] += amount
        elif account is Account.PREPAID and kind in (Kind.SALE, Kind.REFUND):
            figures["prepaid_spent"] += amount
        elif account is Account.PREPAID:
            figures["prepaid_topped_up"] -= amount
        elif account is Account.DEPOSIT and kind is Kind.DEPOSIT:
            figures["deposits_held"] -= amount
        elif account is Account.DEPOSIT:
            figures["deposits_released"] += amount
        elif account is Account.DRAWER and kind is Kind.CASH_OUT:
            figures["cash_out"] += amount
        elif account is Account.DRAWER:
            figures["cash_in"] -= amount
        else:
            figures["adjustments"] += amount
    return MoneyTotals(dict(revenue), dict(discounts), figures["refunds"], dict(tenders), figures["points"],
                       figures["prepaid_topped_up"], figures["prepaid_spent"], figures["deposits_held"],
                       figures["deposits_released"], figures["cash_in"], figures["cash_out"], figures["adjustments"])
