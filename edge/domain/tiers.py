"""Member-tier booking rights: how far ahead, hot slots kept for higher tiers, hold length."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.errors import RuleViolation

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True, slots=True)
class TierRule:
    name: str
    rank: int  # 0 = lowest
    horizon_days: int
    hold_minutes: int


@dataclass(frozen=True, slots=True)
class HotWindow:
    weekdays: frozenset[int]
    start_minute: int
    end_minute: int

    def covers(self, local_start: datetime) -> bool:
        minute = local_start.hour * 60 + local_start.minute
        return local_start.weekday() in self.weekdays and self.start_minute <= minute < self.end_minute


@dataclass(frozen=True, slots=True)
class HotSlotRule:
    """Hot slots stay reserved for `min_tier` and above until `release_hours_before` the start."""

    min_tier: TierRule
    release_hours_before: int
    windows: tuple[HotWindow, ...]

    def is_hot(self, local_start: datetime) -> bool:
        return any(window.covers(local_start) for window in self.windows)


def check_booking_rights(
    *,
    tier: TierRule,
    local_start: datetime,
    local_now: datetime,
    hot_slots: HotSlotRule | None,
    min_notice_minutes: int = 0,
) -> None:
    """Raise RuleViolation when a customer of `tier` may not book a slot starting `local_start`.

    Both datetimes are aware and in the station's zone, so "days ahead" counts calendar days
    as the customer sees them.
    """
    if local_start < local_now + timedelta(minutes=min_notice_minutes):
        raise RuleViolation(
            f"{local_start:%Y-%m-%d %H:%M} is in the past or inside the "
            f"{min_notice_minutes}-minute booking notice"
        )
    days_ahead = (local_start.date() - local_now.date()).days
    if days_ahead > tier.horizon_days:
        raise RuleViolation(
            f"{tier.name} customers may book {tier.horizon_days} days ahead; "
            f"{local_start:%Y-%m-%d} is {days_ahead} days away"
        )
    if hot_slots and tier.rank < hot_slots.min_tier.rank and hot_slots.is_hot(local_start):
        release = local_start - timedelta(hours=hot_slots.release_hours_before)
        if local_now < release:
            raise RuleViolation(
                f"{local_start:%a %H:%M} is a hot slot kept for {hot_slots.min_tier.name} "
                f"members and above until {release:%Y-%m-%d %H:%M}"
            )


@dataclass(frozen=True, slots=True)
class CreditRule:
    """Credit-score thresholds below which a member loses booking rights, one after another."""

    no_hold_below: int
    deposit_below: int
    same_day_only_below: int
    deposit_minor: int


@dataclass(frozen=True, slots=True)
class CreditRights:
    can_hold: bool
    deposit_minor: int  # 0 = no deposit needed
    same_day_only: bool


def credit_rights(score: int, rule: CreditRule) -> CreditRights:
    """What a no-show credit score still allows: holds, then deposit-free booking, then any day."""
    return CreditRights(
        can_hold=score >= rule.no_hold_below,
        deposit_minor=rule.deposit_minor if score < rule.deposit_below else 0,
        same_day_only=score < rule.same_day_only_below,
    )


def check_credit_rights(
    rights: CreditRights,
    *,
    score: int,
    hold: bool,
    local_start: datetime,
    local_now: datetime,
    deposit_minor: int,
    money: Callable[[int], str],
) -> None:
    """Raise RuleViolation naming the score when the booking asks for more than it allows."""
    if hold and not rights.can_hold:
        raise RuleViolation(f"credit score {score} is too low to hold a slot; book and confirm instead")
    if rights.same_day_only and local_start.date() != local_now.date():
        raise RuleViolation(f"credit score {score}: this member may book only for today")
    if deposit_minor < rights.deposit_minor:
        raise RuleViolation(
            f"credit score {score}: a deposit of {money(rights.deposit_minor)} is required to book"
        )


def hold_deadline(tier: TierRule, now: datetime) -> datetime:
    """When a hold made now by `tier` lapses; RuleViolation if the tier may not hold."""
    if tier.hold_minutes <= 0:
        raise RuleViolation(f"{tier.name} customers cannot hold a slot; book and confirm instead")
    return now + timedelta(minutes=tier.hold_minutes)
