"""The slot grid: opening hours in local wall time turned into UTC cells, right on DST days."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# weekday (0 = Monday) -> ((start_minute, end_minute), ...), minutes since local midnight, end <= 1440
WeeklyRanges = Mapping[int, Sequence[tuple[int, int]]]


@dataclass(frozen=True, slots=True)
class Cell:
    """One bookable slot of the grid: a UTC interval inside one opening segment."""

    start: datetime
    end: datetime
    segment: int


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of `minute` minutes after local midnight of `day` by the wall clock.

    A wall time that does not exist (skipped by a spring-forward) moves forward by the gap,
    as clocks do (PEP 495, fold=0): a station opening at 00:00 on a day whose midnight is
    skipped opens at 01:00. 24:00 is the next day's midnight.
    """
    day = day + timedelta(days=minute // 1440)
    minute %= 1440
    wall = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz)
    return wall.astimezone(UTC)


def local_intervals(
    day: date, ranges: Iterable[tuple[int, int]], tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """Wall-clock ranges of one local day as UTC intervals (empty ones dropped)."""
    intervals = []
    for start_minute, end_minute in ranges:
        start = local_instant(day, start_minute, tz)
        end = local_instant(day, end_minute, tz)
        if end > start:
            intervals.append((start, end))
    return intervals


def opening_intervals(
    day: date, weekly: WeeklyRanges, closed_dates: frozenset[date], tz: ZoneInfo
) -> list[tuple[datetime, datetime]]:
    """The station's open intervals on `day` in UTC."""
    if day in closed_dates:
        return []
    return local_intervals(day, weekly.get(day.weekday(), ()), tz)


def slot_grid(
    day: date,
    weekly: WeeklyRanges,
    closed_dates: frozenset[date],
    tz: ZoneInfo,
    slot_minutes: int,
) -> tuple[Cell, ...]:
    """Every whole slot of `day`, stepping in real (UTC) time so DST days get 23 or 25 hours."""
    step = timedelta(minutes=slot_minutes)
    cells = []
    for segment, (start, end) in enumerate(opening_intervals(day, weekly, closed_dates, tz)):
        cursor = start
        while cursor + step <= end:
            cells.append(Cell(cursor, cursor + step, segment))
            cursor += step
    return tuple(cells)


def cells_needed(minutes: int, slot_minutes: int) -> int:
    """How many consecutive cells a job of `minutes` occupies."""
    return max(1, math.ceil(minutes / slot_minutes))


def day_bounds(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """UTC start and end of the local calendar day (23, 24 or 25 hours long)."""
    return local_instant(day, 0, tz), local_instant(day, 1440, tz)


def local_day(instant: datetime, tz: ZoneInfo) -> date:
    """The station-local calendar date of a UTC instant."""
    return instant.astimezone(tz).date()
