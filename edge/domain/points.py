"""Loyalty points: how many a sale earns, and which earned lots a redemption or expiry uses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from edge.errors import RuleViolation


@dataclass(frozen=True, slots=True)
class PointsRule:
    """`points` for every full `per_amount_minor` spent (e.g. 10 points per 100.00 yuan)."""

    points: int
    per_amount_minor: int
    birthday_multiplier: int = 2
    valid_days: int = 365


@dataclass(frozen=True, slots=True)
class Lot:
    """Points earned together; `expires_at` None is HQ's balance, which HQ expires itself."""

    entry_id: str
    remaining: int
    expires_at: datetime | None


def points_for(amount_minor: int, rule: PointsRule, *, birthday: bool = False) -> int:
    """Points a paid amount earns: whole steps only (299.00 at 10 per 100.00 earns 20)."""
    if amount_minor <= 0:
        return 0
    earned = amount_minor // rule.per_amount_minor * rule.points
    return earned * rule.birthday_multiplier if birthday else earned


def usable(lots: Sequence[Lot], now: datetime) -> list[Lot]:
    """Lots with points left that have not expired, soonest expiry first, HQ's balance first."""
    live = [lot for lot in lots if lot.remaining > 0 and (lot.expires_at is None or lot.expires_at > now)]
    return sorted(live, key=lambda lot: (lot.expires_at is not None, lot.expires_at or now, lot.entry_id))


def allocate(lots: Sequence[Lot], amount: int, now: datetime) -> list[tuple[str, int]]:
    """Which lots a redemption of `amount` takes from, oldest expiry first.

    Raises RuleViolation when the usable balance is short: points never go negative.
    """
    if amount <= 0:
        raise RuleViolation(f"redeem a positive number of points, not {amount}")
    taken: list[tuple[str, int]] = []
    left = amount
    for lot in usable(lots, now):
        take = min(left, lot.remaining)
        taken.append((lot.entry_id, take))
        left -= take
        if left == 0:
            return taken
    balance = amount - left
    raise RuleViolation(f"only {balance} points usable; cannot redeem {amount}")


def lapsed(lots: Sequence[Lot], now: datetime) -> list[tuple[str, int]]:
    """(lot, points) that have expired with points left: what an expiry run writes off."""
    return [
        (lot.entry_id, lot.remaining)
        for lot in lots
        if lot.remaining > 0 and lot.expires_at is not None and lot.expires_at <= now
    ]
