"""Station report arithmetic: periods, rates, revenue allocation, and each report section as plain data.

Every function here takes rows already read from the store and returns a `Section`: a
title, typed columns and rows of raw values (counts, integer minor units, minutes, rates
as fractions). Formatting for people (money, percentages) is the caller's business, so
JSON and CSV carry exact figures.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from edge.domain.booking_state import BookingState
from edge.domain.checkout import PACKAGE_CATEGORY
from edge.domain.money import allocate
from edge.domain.money_ledger import MoneyTotals
from edge.domain.slots import day_bounds

PERIOD_KINDS = ("day", "week", "month")
ALL = "all"  # the key of every section's total row
UNKNOWN_CATEGORY = "unknown"

# the car came: what a no-show rate is measured against, together with no-shows
ARRIVED_STATES = frozenset({BookingState.CHECKED_IN, BookingState.IN_SERVICE, BookingState.COMPLETED})


# -- periods ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Period:
    """Station-local calendar days `first`..`last` (both included)."""

    kind: str
    first: date
    last: date

    @property
    def label(self) -> str:
        if self.kind == "week":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d}"
        if self.kind == "month":
            return f"{self.first:%Y-%m}"
        return self.first.isoformat()

    def days(self) -> list[date]:
        return [self.first + timedelta(days=n) for n in range((self.last - self.first).days + 1)]

    def bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """UTC start (included) and end (excluded): local midnight to local midnight."""
        return day_bounds(self.first, tz)[0], day_bounds(self.last, tz)[1]


def period_of(kind: str, day: date) -> Period:
    """The day, the Monday-to-Sunday week or the calendar month that contains `day`."""
    if kind == "day":
        return Period(kind, day, day)
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6))
    if kind == "month":
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(kind, day.replace(day=1), day.replace(day=last))
    raise ValueError(f"unknown period {kind!r} (one of {', '.join(PERIOD_KINDS)})")


# -- figures -------------------------------------------------------------------


def rate(part: int, whole: int) -> float | None:
    """A fraction rounded to 4 places; None when there is nothing to measure against."""
    return None if whole <= 0 else round(part / whole, 4)


def average(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


# -- sections as data ----------------------------------------------------------


class Kind(StrEnum):
    """How a column's raw value is meant: the CLI formats by it, JSON and CSV keep the raw value."""

    TEXT = "text"
    COUNT = "count"
    MONEY = "money"  # integer minor units of the station's currency
    RATE = "rate"  # a fraction, 0.25 = 25 %
    MINUTES = "minutes"  # an average or a maximum, one decimal
    DURATION = "duration"  # whole minutes of work, shown as hours:minutes
    RATING = "rating"


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    label: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    title: str
    columns: tuple[Column, ...]
    rows: tuple[tuple, ...]
    notes: tuple[str, ...] = ()

    def records(self) -> list[dict]:
        names = [column.name for column in self.columns]
        return [dict(zip(names, row, strict=True)) for row in self.rows]


@dataclass(frozen=True, slots=True)
class Report:
    station_id: str
    period: Period
    currency: str
    currency_digits: int
    sections: tuple[Section, ...]


def _count(name: str, label: str | None = None) -> Column:
    return Column(name, label or name.replace("_", " "), Kind.COUNT)


# -- bookings and no-shows -----------------------------------------------------


def _by_channel(counts: Iterable[tuple[str, str, int]]) -> dict[str, dict[str, int]]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for channel, state, number in counts:
        table[channel][state] += number
    return table


def bookings_section(counts: Iterable[tuple[str, str, int]]) -> Section:
    """(channel, state, count) rows of the bookings starting in the period, one column per state seen."""
    table = _by_channel(counts)
    seen = {state for states in table.values() for state in states}
    states = [str(s) for s in BookingState if s in seen] + sorted(seen - set(BookingState))
    rows = [
        (channel, *(table[channel].get(s, 0) for s in states), sum(table[channel].values()))
        for channel in sorted(table)
    ]
    totals = [sum(row[i] for row in rows) for i in range(1, len(states) + 2)]
    return Section(
        "bookings", "Bookings by channel and state",
        (Column("channel", "channel"), *(_count(s) for s in states), _count("total")),
        (*rows, (ALL, *totals)),
    )


def no_show_section(counts: Iterable[tuple[str, str, int]]) -> Section:
    """No-shows against bookings that were due: the car came, or it did not (cancelled, expired
    and not-yet-resolved bookings are left out)."""
    table = _by_channel(counts)

    def row(channel: str, states: Mapping[str, int]) -> tuple:
        arrived = sum(n for s, n in states.items() if s in ARRIVED_STATES)
        missed = states.get(BookingState.NO_SHOW, 0)
        return (channel, arrived + missed, arrived, missed, rate(missed, arrived + missed))

    everything = _by_channel((ALL, s, n) for states in table.values() for s, n in states.items())[ALL]
    return Section(
        "no_show", "No-show rate",
        (Column("channel", "channel"), _count("due"), _count("arrived"), _count("no_show", "no-show"),
         Column("no_show_rate", "rate", Kind.RATE)),
        (*(row(channel, table[channel]) for channel in sorted(table)), row(ALL, everything)),
    )


# -- wait and service times ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Timeline:
    """When a booking's car was checked in, went into the bay, was worked on, and left."""

    booking_id: str
    bay_id: str
    checked_in: datetime | None = None
    in_bay: datetime | None = None
    in_service: datetime | None = None
    completed: datetime | None = None

    @property
    def wait_minutes(self) -> float | None:
        """Check-in to in-bay; to in-service when the in-bay step was skipped."""
        reached = self.in_bay or self.in_service
        if self.checked_in is None or reached is None:
            return None
        return (reached - self.checked_in).total_seconds() / 60

    @property
    def service_minutes(self) -> int | None:
        """First in-service to completion, in whole minutes (a completion without it is not measured)."""
        if self.in_service is None or self.completed is None:
            return None
        return int((self.completed - self.in_service).total_seconds() // 60)


def timeline(booking_id: str, bay_id: str, events: Iterable[tuple[str, datetime, str | None]]) -> Timeline:
    """A booking's timeline from its (event type, time, progress in the snapshot) outbox events.

    The first time of each step counts: a car sent back to work by a failed quality check
    keeps its first in-service time.
    """
    firsts: dict[str, datetime] = {}

    def seen(step: str, at: datetime) -> None:
        if step not in firsts or at < firsts[step]:
            firsts[step] = at

    for event_type, at, progress in events:
        if event_type == "booking.checked_in":
            seen("checked_in", at)
        elif event_type == "booking.completed":
            seen("completed", at)
        elif event_type == "booking.progress" and progress in ("in_bay", "in_service"):
            seen(progress, at)
    return Timeline(booking_id, bay_id, **firsts)


def wait_section(timelines: Iterable[Timeline], bay_ids: Sequence[str]) -> Section:
    """Per bay: how long checked-in cars waited for the bay, and how long they were worked on."""
    by_bay: dict[str, list[Timeline]] = defaultdict(list)
    for line in timelines:
        by_bay[line.bay_id].append(line)
    everything = [line for lines in by_bay.values() for line in lines]

    def row(bay: str, lines: list[Timeline]) -> tuple:
        waits = [w for w in (line.wait_minutes for line in lines) if w is not None]
        services = [s for s in (line.service_minutes for line in lines) if s is not None]
        return (bay, len(waits), average(waits), round(max(waits), 1) if waits else None,
                len(services), average(services))

    bays = list(bay_ids) + sorted(set(by_bay) - set(bay_ids))
    return Section(
        "wait", "Wait from check-in to bay, and time in service",
        (Column("bay", "bay"), _count("waited"), Column("avg_wait_minutes", "avg wait min", Kind.MINUTES),
         Column("max_wait_minutes", "max wait min", Kind.MINUTES), _count("served"),
         Column("avg_service_minutes", "avg service min", Kind.MINUTES)),
        (*(row(bay, by_bay[bay]) for bay in bays), row(ALL, everything)),
    )


# -- bay utilisation -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BayLoad:
    bay_id: str
    kind: str
    open_cells: int
    claimed_cells: int


def utilisation_section(loads: Sequence[BayLoad], slot_minutes: int) -> Section:
    """Claimed cells over open cells, per bay and for the station."""
    rows = [(b.bay_id, b.kind, b.open_cells, b.claimed_cells, rate(b.claimed_cells, b.open_cells)) for b in loads]
    opened, claimed = sum(b.open_cells for b in loads), sum(b.claimed_cells for b in loads)
    return Section(
        "utilisation", "Bay utilisation",
        (Column("bay", "bay"), Column("kind", "kind"), _count("open_cells", "open cells"),
         _count("claimed_cells", "claimed cells"), Column("utilisation", "utilisation", Kind.RATE)),
        (*rows, (ALL, "", opened, claimed, rate(claimed, opened))),
        (f"a cell is one {slot_minutes}-minute slot of the opening hours",),
    )


# -- sales: revenue, top services, technicians ---------------------------------


@dataclass(frozen=True, slots=True)
class SaleLine:
    """One thing sold on a booking: a service item, or a package as a whole."""

    code: str
    category: str
    list_price_minor: int


@dataclass(frozen=True, slots=True)
class Sale:
    """A completed booking: what it earned and what it was for."""

    booking_id: str
    channel: str
    technician_id: str | None
    price_minor: int
    service_count: int
    lines: tuple[SaleLine, ...]

    def shares(self) -> list[tuple[SaleLine, int]]:
        """The booking's price split over its lines by list price, adding up to the cent."""
        amounts = allocate(self.price_minor, [line.list_price_minor for line in self.lines])
        return list(zip(self.lines, amounts, strict=True))


def sale_lines(
    services: Sequence[str],
    package_code: str | None,
    *,
    package_items: Mapping[str, Sequence[str]],
    package_prices: Mapping[str, int],
    categories: Mapping[str, str],
    prices: Mapping[str, int],
) -> tuple[SaleLine, ...]:
    """What a booking sold: its package as one line of category `package`, then each service
    outside the package in its own category."""
    lines = []
    inside: set[str] = set()
    if package_code is not None:
        inside = set(package_items.get(package_code, ()))
        lines.append(SaleLine(package_code, PACKAGE_CATEGORY, package_prices.get(package_code, 0)))
    for code in services:
        if code not in inside:
            lines.append(SaleLine(code, categories.get(code, UNKNOWN_CATEGORY), prices.get(code, 0)))
    return tuple(lines)


def _tally(items: Iterable[tuple[object, int]]) -> dict:
    """key -> [how many times, amount] over (key, amount) pairs."""
    figures: dict = defaultdict(lambda: [0, 0])
    for key, amount in items:
        figures[key][0] += 1
        figures[key][1] += amount
    return figures


def _categories(sale: Sale) -> dict[str, int]:
    amounts: dict[str, int] = defaultdict(int)
    for line, amount in sale.shares():
        amounts[line.category] += amount
    return amounts


def revenue_section(totals: MoneyTotals, *, receipts: int, refunds: int) -> Section:
    """The period's money from the ledger: revenue by category, discounts, refunds, net revenue;
    tenders by what they were for and method; points, prepaid, deposits and the drawer; and
    the reconciliation line (net revenue less what accounts for it: 0)."""

    def ranked(by: str, figures: Mapping[str, int]) -> list[tuple]:
        return [(by, key, None, amount) for key, amount in sorted(figures.items(), key=lambda kv: (-kv[1], kv[0]))
                if amount]

    tenders: dict[str, dict[str, int]] = defaultdict(dict)
    for (purpose, method), amount in totals.tenders.items():
        tenders[purpose][method] = amount
    return Section(
        "revenue", "Revenue",
        (Column("by", "by"), Column("key", "key"), _count("count"), Column("revenue_minor", "amount", Kind.MONEY)),
        (*ranked("category", totals.revenue),
         ("revenue", ALL, receipts, sum(totals.revenue.values())),
         *ranked("discount", totals.discounts),
         ("refunds", ALL, refunds, totals.refunds),
         ("net_revenue", ALL, None, totals.net_revenue),
         *ranked("payment_method", tenders.get("sales", {})),
         *ranked("top_up_method", tenders.get("top_up", {})),
         *ranked("deposit_method", tenders.get("deposit", {})),
         *ranked("drawer", tenders.get("drawer", {})),
         ("points", "redeemed", None, totals.points),
         ("prepaid", "topped_up", None, totals.prepaid_topped_up),
         ("prepaid", "spent", None, totals.prepaid_spent),
         ("deposits", "held", None, totals.deposits_held),
         ("deposits", "released", None, totals.deposits_released),
         ("cash", "put_in", None, totals.cash_in),
         ("cash", "taken_out", None, totals.cash_out),
         ("adjustments", ALL, None, totals.adjustments),
         ("reconciliation", "difference", None, totals.difference),
         ("total", ALL, receipts, totals.net_revenue)),
        ("from the money ledger: revenue at list prices by category (a package is its own category), less"
         " discounts and refunds; payment_method is money taken for sales net of refunds",
         "net revenue = tenders + points − (prepaid topped up − spent) − (deposits held − released)"
         " − (cash put in − taken out) + adjustments; reconciliation is the difference, always 0"),
    )


def top_services_section(sales: Sequence[Sale], names: Mapping[str, str], *, limit: int = 10) -> Section:
    """The most sold services and packages: by bookings, then by revenue."""
    figures = _tally(((line.code, line.category), amount) for sale in sales for line, amount in sale.shares())
    ranked = sorted(figures.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))[:limit]
    return Section(
        "top_services", "Top services",
        (_count("rank"), Column("code", "code"), Column("name", "name"), Column("category", "category"),
         _count("count"), Column("revenue_minor", "revenue", Kind.MONEY)),
        tuple((rank, code, names.get(code, code), category, n, amount)
              for rank, ((code, category), (n, amount)) in enumerate(ranked, start=1)),
    )


def technicians_section(
    technicians: Sequence[tuple[str, str]],
    sales: Sequence[Sale],
    timelines: Mapping[str, Timeline],
    ratings: Mapping[str, tuple[int, float]] | None,
) -> Section:
    """Per technician: completed jobs, services done, time in service, revenue, customer rating.

    `ratings` maps a technician to (ratings, average), or is None while no feedback is recorded.
    """
    jobs: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for sale in sales:
        if sale.technician_id is None:
            continue  # a wash needs no technician
        figures = jobs[sale.technician_id]
        figures[0] += 1
        figures[1] += sale.service_count
        line = timelines.get(sale.booking_id)
        figures[2] += (line.service_minutes or 0) if line else 0
        figures[3] += sale.price_minor
    names = dict(technicians)
    order = [tid for tid, _ in technicians] + sorted(set(jobs) - set(names))
    rows = []
    for tid in order:
        n_jobs, n_services, minutes, revenue = jobs.get(tid, (0, 0, 0, 0))
        count, mean = (None, None) if ratings is None else ratings.get(tid, (0, None))
        rows.append((tid, names.get(tid, tid), n_jobs, n_services, minutes, revenue,
                     None if mean is None else round(mean, 2), count))
    return Section(
        "technicians", "Technician productivity",
        (Column("technician", "technician"), Column("name", "name"), _count("jobs"), _count("services"),
         Column("service_minutes", "hours", Kind.DURATION), Column("revenue_minor", "revenue", Kind.MONEY),
         Column("rating", "rating", Kind.RATING), _count("ratings")),
        tuple(rows),
        () if ratings is not None else ("ratings: not recorded yet",),
    )


# -- members -------------------------------------------------------------------


def members_section(tiers: Sequence[str], counts: Iterable[tuple[str, int, int, int]]) -> Section:
    """(tier, members, new in the period, served in the period) rows, lowest tier first."""
    figures = {tier: (members, new, served) for tier, members, new, served in counts}
    order = list(tiers) + sorted(set(figures) - set(tiers))
    rows = [(tier, *figures.get(tier, (0, 0, 0))) for tier in order]
    totals = [sum(row[i] for row in rows) for i in (1, 2, 3)]
    return Section(
        "members", "Members by tier",
        (Column("tier", "tier"), _count("members"), _count("new"), _count("served")),
        (*rows, (ALL, *totals)),
        ("members: all enrolled now; new: enrolled in the period; served: with a completed booking in it",),
    )
