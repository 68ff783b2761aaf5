"""Coupons: kinds, conditions (minimum spend, category, tier, validity) and the discount they give."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from edge.domain.money import yuan
from edge.errors import RuleViolation


class CouponKind(StrEnum):
    AMOUNT_OFF = "amount_off"  # value: minor units off the eligible lines
    PERCENT_OFF = "percent_off"  # value: percent off the eligible lines
    FREE_SERVICE = "free_service"  # service_code: that line is free (one unit)


@dataclass(frozen=True, slots=True)
class Coupon:
    code: str
    kind: CouponKind
    value: int
    service_code: str | None
    min_spend_minor: int
    category: str | None  # only lines of this service category count
    min_tier_rank: int | None
    valid_from: datetime
    valid_until: datetime
    state: str  # issued, redeemed, void


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One receipt line after the tier discount: what a coupon may take from."""

    code: str
    category: str
    amount_minor: int  # the line's total
    unit_minor: int  # the price of one unit


def coupon_discount(
    coupon: Coupon, lines: Sequence[SaleLine], *, tier_rank: int, now: datetime, money: Callable[[int], str] = yuan
) -> int:
    """Minor units the coupon takes off `lines`, or RuleViolation saying which condition fails.

    Percentages round down to the minor unit (a discount never exceeds its stated rate), and
    no coupon takes more than the eligible lines are worth.
    """
    if coupon.state != "issued":
        raise RuleViolation(f"coupon {coupon.code} is {coupon.state}")
    if not coupon.valid_from <= now < coupon.valid_until:
        raise RuleViolation(
            f"coupon {coupon.code} is valid {coupon.valid_from:%Y-%m-%d} to {coupon.valid_until:%Y-%m-%d}"
        )
    if coupon.min_tier_rank is not None and tier_rank < coupon.min_tier_rank:
        raise RuleViolation(f"coupon {coupon.code} needs a higher member tier")
    eligible = [line for line in lines if coupon.category is None or line.category == coupon.category]
    eligible_total = sum(line.amount_minor for line in eligible)
    if not eligible:
        raise RuleViolation(f"coupon {coupon.code} applies to {coupon.category} services; none on this sale")
    if eligible_total < coupon.min_spend_minor:
        raise RuleViolation(
            f"coupon {coupon.code} needs a spend of {money(coupon.min_spend_minor)}; "
            f"eligible is {money(eligible_total)}"
        )
    if coupon.kind == CouponKind.AMOUNT_OFF:
        return min(coupon.value, eligible_total)
    if coupon.kind == CouponKind.PERCENT_OFF:
        return eligible_total * coupon.value // 100
    line = next((line for line in eligible if line.code == coupon.service_code), None)
    if line is None:
        raise RuleViolation(f"coupon {coupon.code} is for a free {coupon.service_code}; it is not on this sale")
    return min(line.unit_minor, line.amount_minor)
