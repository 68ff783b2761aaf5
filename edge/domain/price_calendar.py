"""The price calendar: holiday and time-window prices or discounts per service, at a local time.

A rule names the service (or package) codes it prices, when it holds — certain dates, or
certain weekdays, or every day, optionally only within a window of hours — and either a
price that replaces the usual one or a percentage off it. The price of an item at a local
time is decided by the first rule that matches, by specificity:

1. a rule for the date beats a rule for the weekday, which beats a rule for every day;
2. among rules equally specific, the one listed first wins.

A window of hours narrows a rule but does not make it more specific: a dated rule for the
whole day beats a weekday rule for its morning. Without a matching rule the usual price holds.
A discount is rounded to the nearest minor unit (half up).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime


@dataclass(frozen=True, slots=True)
class PriceRule:
    services: frozenset[str]  # service or package codes
    dates: frozenset[date] = frozenset()
    weekdays: frozenset[int] = frozenset()  # 0 = Monday
    hours: tuple[int, int] | None = None  # [start, end) minutes since local midnight
    price_minor: int | None = None  # the price instead of the usual one
    discount_pct: int | None = None  # or this much off the usual price

    def __post_init__(self) -> None:
        if (self.price_minor is None) == (self.discount_pct is None):
            raise ValueError("a price rule has either a price or a discount")
        if self.dates and self.weekdays:
            raise ValueError("a price rule holds on dates or on weekdays, not both")

    @property
    def specificity(self) -> int:
        """2 for dated rules, 1 for weekday rules, 0 for every-day rules."""
        return 2 if self.dates else 1 if self.weekdays else 0

    def holds(self, code: str, local: datetime) -> bool:
        """Whether the rule prices `code` for work starting at the local wall time `local`."""
        if code not in self.services:
            return False
        if self.dates and local.date() not in self.dates:
            return False
        if self.weekdays and local.weekday() not in self.weekdays:
            return False
        if self.hours is not None:
            minute = local.hour * 60 + local.minute
            return self.hours[0] <= minute < self.hours[1]
        return True

    def apply(self, usual_minor: int) -> int:
        if self.price_minor is not None:
            return self.price_minor
        assert self.discount_pct is not None
        return (usual_minor * (100 - self.discount_pct) + 50) // 100


def rule_for(rules: Iterable[PriceRule], code: str, local: datetime) -> PriceRule | None:
    """The rule that prices `code` at `local`: the most specific that holds, the first listed among equals."""
    best: PriceRule | None = None
    for rule in rules:
        if rule.holds(code, local) and (best is None or rule.specificity > best.specificity):
            best = rule
    return best


def price_at(rules: Iterable[PriceRule], code: str, usual_minor: int, local: datetime) -> int:
    """The price of `code` (usually `usual_minor`) for work starting at the local wall time `local`."""
    rule = rule_for(rules, code, local)
    return usual_minor if rule is None else rule.apply(usual_minor)
