"""Enterprise (fleet) account rules: permissions, limits, package quotas, approval rules and states, statements.

Everything here is pure: the services read the rows, these functions decide. Amounts are
integer minor units; a `month` is the station-local calendar month as text, 'YYYY-MM'.

Approval rules: a rule applies to a booking when its category is one of the booking's
service categories (or `*`, any) and the booking's amount is strictly above the rule's
threshold. Every applicable rule adds its approver role; several applicable rules make a
multi-level approval, in which every role must approve (in any order) and one rejection
rejects the whole request.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from edge.domain.catalog import SERVICE_CATEGORIES, Catalog, WorkPlan
from edge.domain.money import format_money
from edge.errors import RuleViolation

ANY_CATEGORY = "*"
DEFAULT_APPROVAL_HOURS = 24
PACKAGE_PERIODS = ("month", "quarter", "year")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Permission(StrEnum):
    BOOK = "book"  # may book services on the company's account
    PAY = "pay"  # may charge services to the company's account at checkout
    APPROVE = "approve"  # may decide approval requests for their role


class ApprovalState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"
    WITHDRAWN = "withdrawn"  # the booking was cancelled before the approvers decided


@dataclass(frozen=True, slots=True)
class EnterpriseAccount:
    id: str
    name: str
    tax_id: str
    credit_limit_minor: int
    verified: bool = False
    approval_hours: int = DEFAULT_APPROVAL_HOURS
    active: bool = True

    def __post_init__(self) -> None:
        if not self.id.strip() or not self.name.strip() or not self.tax_id.strip():
            raise RuleViolation(f"enterprise {self.id!r}: id, name and tax id are all required")
        if self.credit_limit_minor < 0:
            raise RuleViolation(f"enterprise {self.id}: the credit limit cannot be negative")
        if self.approval_hours < 1:
            raise RuleViolation(f"enterprise {self.id}: approvals must be given at least 1 hour")


@dataclass(frozen=True, slots=True)
class SubAccount:
    """A driver or employee who acts for the enterprise, known by phone."""

    id: str
    enterprise_id: str
    phone: str
    name: str
    role: str
    permissions: frozenset[str]
    monthly_limit_minor: int | None = None  # None: only the enterprise's credit limit applies
    active: bool = True

    def __post_init__(self) -> None:
        unknown = set(self.permissions) - set(Permission)
        if unknown:
            raise RuleViolation(
                f"sub-account {self.phone} of enterprise {self.enterprise_id}: unknown permission"
                f" {sorted(unknown)[0]!r} (one of {', '.join(Permission)})"
            )
        if not self.role.strip():
            raise RuleViolation(f"sub-account {self.phone} of enterprise {self.enterprise_id}: a role is required")
        if self.monthly_limit_minor is not None and self.monthly_limit_minor < 0:
            raise RuleViolation(f"sub-account {self.phone} of enterprise {self.enterprise_id}: negative monthly limit")


@dataclass(frozen=True, slots=True)
class FleetPackage:
    """A package agreed with one enterprise: fixed services at a fixed price, `max_uses` per vehicle per period."""

    enterprise_id: str
    code: str
    name: str
    services: tuple[str, ...]
    price_minor: int
    max_uses: int | None = None
    period: str = "year"
    active: bool = True

    def __post_init__(self) -> None:
        where = f"package {self.code} of enterprise {self.enterprise_id}"
        if not self.services:
            raise RuleViolation(f"{where}: name at least one service")
        if self.price_minor < 0:
            raise RuleViolation(f"{where}: the price cannot be negative")
        if self.max_uses is not None and self.max_uses < 1:
            raise RuleViolation(f"{where}: uses per {self.period} must be at least 1")
        if self.period not in PACKAGE_PERIODS:
            raise RuleViolation(f"{where}: unknown period {self.period!r} (one of {', '.join(PACKAGE_PERIODS)})")


@dataclass(frozen=True, slots=True)
class ApprovalRule:
    id: str
    enterprise_id: str
    category: str  # a service category, or ANY_CATEGORY
    above_minor: int  # applies to amounts strictly above this
    approver_role: str
    expiry_hours: int | None = None  # None: the enterprise's approval_hours
    active: bool = True

    def __post_init__(self) -> None:
        if self.category != ANY_CATEGORY and self.category not in SERVICE_CATEGORIES:
            raise RuleViolation(
                f"approval rule {self.id} of enterprise {self.enterprise_id}: unknown category {self.category!r}"
                f" (one of {', '.join(SERVICE_CATEGORIES)}, or {ANY_CATEGORY} for any)"
            )
        if self.above_minor < 0:
            raise RuleViolation(f"approval rule {self.id} of enterprise {self.enterprise_id}: negative threshold")
        if not self.approver_role.strip():
            raise RuleViolation(
                f"approval rule {self.id} of enterprise {self.enterprise_id}: an approver role is required"
            )
        if self.expiry_hours is not None and self.expiry_hours < 1:
            raise RuleViolation(f"approval rule {self.id} of enterprise {self.enterprise_id}: expiry must be >= 1 hour")

    def applies(self, amount_minor: int, categories: Iterable[str]) -> bool:
        in_scope = self.category == ANY_CATEGORY or self.category in set(categories)
        return self.active and in_scope and amount_minor > self.above_minor


@dataclass(frozen=True, slots=True)
class Decision:
    role: str
    approved: bool
    by_sub_account_id: str
    reason: str = ""


# -- months and periods --------------------------------------------------------------


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def parse_month(text: str) -> str:
    """'2026-11' as given, or RuleViolation naming the text."""
    if not _MONTH.match(text.strip()):
        raise RuleViolation(f"{text!r} is not a month (YYYY-MM, e.g. 2026-11)")
    return text.strip()


def period_months(period: str, month: str) -> tuple[str, ...]:
    """The months of the calendar month, quarter or year that contains `month`."""
    year, number = (int(part) for part in parse_month(month).split("-"))
    if period == "month":
        numbers = [number]
    elif period == "quarter":
        first = (number - 1) // 3 * 3 + 1
        numbers = [first, first + 1, first + 2]
    elif period == "year":
        numbers = list(range(1, 13))
    else:
        raise RuleViolation(f"unknown period {period!r} (one of {', '.join(PACKAGE_PERIODS)})")
    return tuple(f"{year:04d}-{n:02d}" for n in numbers)


# -- permissions and limits ----------------------------------------------------------


def check_account_usable(account: EnterpriseAccount) -> None:
    if not account.active:
        raise RuleViolation(f"enterprise {account.id} is closed")
    if not account.verified:
        raise RuleViolation(f"enterprise {account.id} is not verified yet; its account cannot be used")


def check_permission(sub: SubAccount, permission: Permission) -> None:
    if not sub.active:
        raise RuleViolation(f"sub-account {sub.phone} of enterprise {sub.enterprise_id} is disabled")
    if permission not in sub.permissions:
        held = ", ".join(sorted(sub.permissions)) or "none"
        raise RuleViolation(
            f"sub-account {sub.phone} of enterprise {sub.enterprise_id} may not {permission} (permissions: {held})"
        )


def check_monthly_limit(
    sub: SubAccount, *, month: str, spent_minor: int, amount_minor: int, currency: str, digits: int = 2
) -> None:
    """The sub-account's spending in `month` plus `amount` must stay within its monthly limit."""
    limit = sub.monthly_limit_minor
    if limit is None or spent_minor + amount_minor <= limit:
        return
    money = lambda minor: format_money(minor, currency, digits)  # noqa: E731
    raise RuleViolation(
        f"monthly limit of sub-account {sub.phone} (enterprise {sub.enterprise_id}) is {money(limit)} for {month}:"
        f" {money(spent_minor)} spent + {money(amount_minor)} exceeds it by {money(spent_minor + amount_minor - limit)}"
    )


def check_credit_limit(
    account: EnterpriseAccount, *, outstanding_minor: int, amount_minor: int, currency: str, digits: int = 2
) -> None:
    """What the enterprise owes plus this charge must stay within its credit limit."""
    if outstanding_minor + amount_minor <= account.credit_limit_minor:
        return
    money = lambda minor: format_money(minor, currency, digits)  # noqa: E731
    raise RuleViolation(
        f"credit limit of enterprise {account.id} is {money(account.credit_limit_minor)}:"
        f" {money(outstanding_minor)} outstanding + {money(amount_minor)} exceeds it"
    )


def check_package_quota(package: FleetPackage, *, plate: str, used: int) -> None:
    if package.max_uses is not None and used >= package.max_uses:
        raise RuleViolation(
            f"package {package.code} of enterprise {package.enterprise_id} allows {package.max_uses} per vehicle"
            f" per {package.period}; {plate} has used {used}"
        )


def package_plan(catalog: Catalog, package: FleetPackage, size_class: str | None = None) -> WorkPlan:
    """The package's services as one work plan at the agreed price (the durations of the car's
    `size_class`).

    The plan carries no catalogue package code: the enterprise package is not in the
    catalogue, and rescheduling re-plans a booking from its service codes.
    """
    plan = catalog.plan(package.services, size_class)
    # one priced line, the agreement's: no catalogue price rule names a fleet package
    return replace(plan, package_code=None, price_minor=package.price_minor,
                   item_prices=((package.code, package.price_minor),))


# -- approvals -----------------------------------------------------------------------


def applicable_rules(
    rules: Iterable[ApprovalRule], *, amount_minor: int, categories: Iterable[str]
) -> list[ApprovalRule]:
    """The rules a booking of `amount` in `categories` falls under, lowest threshold first."""
    categories = frozenset(categories)
    hits = [rule for rule in rules if rule.applies(amount_minor, categories)]
    return sorted(hits, key=lambda rule: (rule.above_minor, rule.approver_role, rule.id))


def required_roles(rules: Sequence[ApprovalRule]) -> tuple[str, ...]:
    """Each applicable rule's approver role once, in level order (empty: no approval needed)."""
    return tuple(dict.fromkeys(rule.approver_role for rule in rules))


def approval_deadline(
    rules: Sequence[ApprovalRule], account: EnterpriseAccount, *, requested_at: datetime, start_at: datetime
) -> datetime:
    """When an undecided request lapses: the strictest rule's hours (else the account's),
    and never after the booking starts, when the car would wait for a decision at the bay."""
    hours = min((rule.expiry_hours for rule in rules if rule.expiry_hours), default=account.approval_hours)
    return min(requested_at + timedelta(hours=hours), start_at)


def approval_state(
    required: Sequence[str], decisions: Sequence[Decision], *, expires_at: datetime, now: datetime
) -> ApprovalState:
    """Rejected by any rejection; approved once every required role approved; else expired or pending."""
    if any(not decision.approved for decision in decisions):
        return ApprovalState.REJECTED
    if set(required) <= {decision.role for decision in decisions if decision.approved}:
        return ApprovalState.APPROVED
    if now >= expires_at:
        return ApprovalState.EXPIRED
    return ApprovalState.PENDING


def missing_roles(required: Sequence[str], decisions: Sequence[Decision]) -> tuple[str, ...]:
    decided = {decision.role for decision in decisions}
    return tuple(role for role in required if role not in decided)


def check_approver(
    approver: SubAccount, *, booking_code: str, requester_id: str, required: Sequence[str],
    decisions: Sequence[Decision],
) -> None:
    """The approver may decide: same enterprise's approver, a role still awaited, not their own booking."""
    check_permission(approver, Permission.APPROVE)
    if approver.id == requester_id:
        raise RuleViolation(f"sub-account {approver.phone} requested booking {booking_code}; they cannot approve it")
    if approver.role not in required:
        raise RuleViolation(
            f"booking {booking_code} needs approval by {', '.join(required)}; {approver.phone} is {approver.role}"
        )
    if approver.role not in missing_roles(required, decisions):
        raise RuleViolation(f"booking {booking_code} was already decided by a {approver.role}")


# -- statements ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatementLine:
    day: date  # station-local date of the charge
    kind: str  # charge or refund
    booking_code: str | None
    plate: str | None
    phone: str | None  # the sub-account's
    services: tuple[str, ...]
    receipt_number: str
    amount_minor: int  # refunds are negative


@dataclass(frozen=True, slots=True)
class Statement:
    enterprise_id: str
    month: str
    lines: tuple[StatementLine, ...]
    charges: int
    charged_minor: int
    refunded_minor: int  # negative or zero
    # (key, number of charges, net amount), largest net first
    by_sub_account: tuple[tuple[str, int, int], ...]
    by_plate: tuple[tuple[str, int, int], ...]

    @property
    def net_minor(self) -> int:
        return self.charged_minor + self.refunded_minor

    def to_json(self) -> dict[str, Any]:
        return {
            "enterprise_id": self.enterprise_id, "month": self.month, "charges": self.charges,
            "charged_minor": self.charged_minor, "refunded_minor": self.refunded_minor, "net_minor": self.net_minor,
            "lines": [{**asdict(line), "day": line.day.isoformat(), "services": list(line.services)}
                      for line in self.lines],
            "by_sub_account": [{"phone": k, "charges": n, "net_minor": m} for k, n, m in self.by_sub_account],
            "by_plate": [{"plate": k, "charges": n, "net_minor": m} for k, n, m in self.by_plate],
        }


def build_statement(enterprise_id: str, month: str, lines: Iterable[StatementLine]) -> Statement:
    """Totals of one month's charges and refunds, per sub-account and per vehicle."""
    ordered = tuple(sorted(lines, key=lambda line: (line.day, line.receipt_number, line.kind)))
    return Statement(
        enterprise_id=enterprise_id, month=month, lines=ordered,
        charges=sum(1 for line in ordered if line.kind == "charge"),
        charged_minor=sum(line.amount_minor for line in ordered if line.kind == "charge"),
        refunded_minor=sum(line.amount_minor for line in ordered if line.kind != "charge"),
        by_sub_account=_subtotals(ordered, lambda line: line.phone or "-"),
        by_plate=_subtotals(ordered, lambda line: line.plate or "-"),
    )


def _subtotals(lines: Sequence[StatementLine], key) -> tuple[tuple[str, int, int], ...]:
    counts: dict[str, int] = defaultdict(int)
    sums: dict[str, int] = defaultdict(int)
    for line in lines:
        counts[key(line)] += line.kind == "charge"
        sums[key(line)] += line.amount_minor
    return tuple(sorted(((k, counts[k], sums[k]) for k in sums), key=lambda row: (-row[2], row[0])))
