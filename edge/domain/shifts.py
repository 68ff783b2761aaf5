"""A shift's cash drawer in numbers: the counted cash, what the drawer should hold, the variance.

A shift is a terminal's working period. It opens with a counted float; every cash posting of
the money ledger made at that terminal while it is open (sales, refunds, top-ups, deposits,
cash put in or taken out) moves the drawer. At the close the attendant counts the drawer:

    expected = float + every cash posting of the shift
    variance = counted − expected          (negative: cash is missing; positive: over)

The X report (mid-shift) and the Z report (at the close) are the same figures, summed only
from the ledger postings of the shift.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from edge.domain.money_ledger import CASH, Account, Kind
from edge.errors import InvalidInput

# the notes and coins of the yuan an attendant counts the drawer in, largest first (major units)
DENOMINATIONS: tuple[str, ...] = ("100", "50", "20", "10", "5", "1", "0.5", "0.1")


def denomination_minor(key: str, digits: int = 2) -> int:
    """'0.5' -> 50: the value of one note or coin in minor units; InvalidInput for any other key."""
    if key not in DENOMINATIONS:
        raise InvalidInput("count", f"{key!r} is not a note or coin of the drawer (one of {', '.join(DENOMINATIONS)})")
    return int(Decimal(key).scaleb(digits))


def counted_from_denominations(counts: Mapping[str, int], digits: int = 2) -> int:
    """The cash in the drawer from how many of each note and coin were counted."""
    total = 0
    for key, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput("count", f"the count of {key} must be a whole number of 0 or more, not {count!r}")
        total += denomination_minor(key, digits) * count
    return total


def parse_count(text: str) -> tuple[str, int]:
    """'100=3' -> ('100', 3): one line of a drawer count as typed."""
    key, sep, number = text.partition("=")
    key = _denomination_key(key.strip())
    if not sep or not number.strip().isdigit():
        raise InvalidInput("count", f"{text!r} is not NOTE=COUNT (e.g. 100=3 or 0.5=4)")
    return key, int(number.strip())


def _denomination_key(text: str) -> str:
    """'0.50' or '100.00' -> the key as listed in DENOMINATIONS."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal("NaN")
    for key in DENOMINATIONS:
        if value.is_finite() and value == Decimal(key):
            return key
    raise InvalidInput("count", f"{text!r} is not a note or coin of the drawer (one of {', '.join(DENOMINATIONS)})")


def expected_cash(float_minor: int, cash_postings: Iterable[int]) -> int:
    """What the drawer should hold: the float plus every cash posting of the shift (signed)."""
    return float_minor + sum(cash_postings)


def variance(counted_minor: int, expected_minor: int) -> int:
    """Counted minus expected: negative when cash is missing, positive when there is too much."""
    return counted_minor - expected_minor


@dataclass(frozen=True, slots=True)
class LedgerLine:
    """One ledger posting of the shift, as the report needs it."""

    kind: str
    account: str
    detail: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class DrawerFigures:
    """The shift's money by kind, summed from its tender postings (amounts signed as received)."""

    sales_by_method: dict[str, int]
    refunds_by_method: dict[str, int]  # money paid back: negative
    top_ups_by_method: dict[str, int]
    deposits_by_method: dict[str, int]  # deposits taken less deposits returned
    cash_in_minor: int
    cash_out_minor: int  # taken out of the drawer: a positive amount
    cash_postings_minor: int  # every cash posting of the shift, signed
    transactions: int

    @property
    def taken_by_method(self) -> dict[str, int]:
        """Money received by payment method from customers (sales, refunds, top-ups, deposits)."""
        taken: dict[str, int] = {}
        for totals in (self.sales_by_method, self.refunds_by_method, self.top_ups_by_method, self.deposits_by_method):
            for method, amount in totals.items():
                _add(taken, method, amount)
        return dict(sorted(taken.items()))


_DEPOSIT_KINDS = (str(Kind.DEPOSIT), str(Kind.DEPOSIT_RETURN))


def drawer_figures(lines: Iterable[tuple[str, LedgerLine]]) -> DrawerFigures:
    """Sum the shift's postings, given as (transaction id, posting), into the report's figures."""
    sales: dict[str, int] = {}
    refunds: dict[str, int] = {}
    top_ups: dict[str, int] = {}
    deposits: dict[str, int] = {}
    cash_in = cash_out = cash = 0
    transactions: set[str] = set()
    for txn_id, line in lines:
        transactions.add(txn_id)
        if line.account != Account.TENDER:
            continue
        if line.detail == CASH:
            cash += line.amount_minor
        if line.kind == Kind.SALE:
            _add(sales, line.detail, line.amount_minor)
        elif line.kind == Kind.REFUND:
            _add(refunds, line.detail, line.amount_minor)
        elif line.kind == Kind.TOP_UP:
            _add(top_ups, line.detail, line.amount_minor)
        elif line.kind in _DEPOSIT_KINDS:
            _add(deposits, line.detail, line.amount_minor)
        elif line.kind == Kind.CASH_IN:
            cash_in += line.amount_minor
        elif line.kind == Kind.CASH_OUT:
            cash_out -= line.amount_minor
    return DrawerFigures(sales, refunds, top_ups, deposits, cash_in, cash_out, cash, len(transactions))


def _add(totals: dict[str, int], key: str, amount: int) -> None:
    totals[key] = totals.get(key, 0) + amount


@dataclass(frozen=True, slots=True)
class ShiftReport:
    """The X report (the shift still open, `final` false) or the Z report (closed, `final` true)."""

    shift_id: str
    terminal: str
    currency: str
    opened_at: datetime
    opened_by: str
    float_minor: int
    sales_by_method: dict[str, int]
    refunds_by_method: dict[str, int]
    top_ups_by_method: dict[str, int]
    deposits_by_method: dict[str, int]
    cash_in_minor: int
    cash_out_minor: int
    transactions: int
    expected_minor: int  # the cash the drawer should hold now (X) or held at the close (Z)
    at: datetime  # when the figures were taken: now for an X report, the close for a Z report
    final: bool = False
    closed_by: str | None = None
    counted_minor: int | None = None
    variance_minor: int | None = None
    denominations: dict[str, int] = field(default_factory=dict)
    note: str = ""

    @property
    def sales_minor(self) -> int:
        return sum(self.sales_by_method.values())

    @property
    def refunds_minor(self) -> int:
        return sum(self.refunds_by_method.values())

    @property
    def top_ups_minor(self) -> int:
        return sum(self.top_ups_by_method.values())

    @property
    def deposits_minor(self) -> int:
        return sum(self.deposits_by_method.values())

    def to_json(self) -> dict[str, Any]:
        return {
            "shift_id": self.shift_id, "terminal": self.terminal, "currency": self.currency,
            "report": "Z" if self.final else "X", "final": self.final,
            "opened_at": self.opened_at.isoformat(), "opened_by": self.opened_by, "at": self.at.isoformat(),
            "closed_by": self.closed_by, "float_minor": self.float_minor,
            "sales_by_method": dict(self.sales_by_method), "sales_minor": self.sales_minor,
            "refunds_by_method": dict(self.refunds_by_method), "refunds_minor": self.refunds_minor,
            "top_ups_by_method": dict(self.top_ups_by_method), "top_ups_minor": self.top_ups_minor,
            "deposits_by_method": dict(self.deposits_by_method), "deposits_minor": self.deposits_minor,
            "cash_in_minor": self.cash_in_minor, "cash_out_minor": self.cash_out_minor,
            "transactions": self.transactions, "expected_minor": self.expected_minor,
            "counted_minor": self.counted_minor, "variance_minor": self.variance_minor,
            "denominations": dict(self.denominations), "note": self.note,
        }
