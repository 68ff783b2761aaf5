"""The slot grid: opening hours in local wall time turned into UTC cells, right on DST days."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from edge.errors import InvalidInput

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


def resolve_wall_time(when: datetime, tz: ZoneInfo, *, field: str = "start") -> datetime:
    """The UTC instant of a time a person typed: with an offset, as given; without, as the
    station's wall clock shows it.

    A wall time the clock shows twice (the repeated hour when DST ends) is its first
    occurrence (fold=0); give an offset for the second. A wall time the clock skips (the hour
    lost when DST starts) is refused: InvalidInput(`field`) names the skipped hour. The
    result is in UTC because aware datetimes in one zone compare by wall time alone, which
    cannot tell the two occurrences of a repeated hour apart.
    """
    if when.tzinfo is not None:
        return when.astimezone(UTC)
    wall = when.replace(fold=0)
    if not _exists(wall, tz):
        first = wall.replace(second=0, microsecond=0)
        while not _exists(first - timedelta(minutes=1), tz):
            first -= timedelta(minutes=1)
        before, after = wall.replace(tzinfo=tz).utcoffset(), wall.replace(tzinfo=tz, fold=1).utcoffset()
        gap = after - before  # type: ignore[operator]
        raise InvalidInput(field, f"{wall:%Y-%m-%d %H:%M} does not exist in {tz.key}: on {wall:%Y-%m-%d} the clock "
                                  f"skips from {first:%H:%M} to {first + gap:%H:%M}")
    return wall.replace(tzinfo=tz).astimezone(UTC)


def _exists(wall: datetime, tz: ZoneInfo) -> bool:
    """Whether the naive wall time is shown by the clock of `tz` (a round trip through UTC keeps it)."""
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz).replace(tzinfo=None) == wall


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
