"""Member growth value and tier movement: upgrade as soon as earned, downgrade at period end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class GrowthRule:
    """Growth from spend (per whole currency unit) and from visits."""

    per_major_unit: int = 1
    per_visit: int = 10
    minor_digits: int = 2


def growth_for(amount_minor: int, *, visits: int, rule: GrowthRule) -> int:
    return max(0, amount_minor) // 10**rule.minor_digits * rule.per_major_unit + visits * rule.per_visit


def qualified_rank(thresholds: Sequence[int], growth: int) -> int:
    """The highest tier (index into `thresholds`, lowest first) that `growth` reaches."""
    rank = 0
    for index, threshold in enumerate(thresholds):
        if growth >= threshold:
            rank = index
    return rank


def rank_after_growth(thresholds: Sequence[int], current: int, period_growth: int) -> int:
    """Within a period a member only moves up, the moment their growth crosses a threshold."""
    return max(current, qualified_rank(thresholds, period_growth))


def rank_at_period_end(thresholds: Sequence[int], current: int, period_growth: int) -> int:
    """At the period's end a member who missed their tier's threshold drops one tier (never
    below what the period's growth qualifies for); one who met it keeps or gains."""
    qualified = qualified_rank(thresholds, period_growth)
    if qualified >= current:
        return qualified
    return max(qualified, current - 1)
