"""Capacity: which start cells of a day can take a work plan, given claims and the roster."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.domain.catalog import Bay, Technician, WorkPlan
from edge.domain.slots import Cell, cells_needed
from edge.errors import RuleViolation


@dataclass(frozen=True, slots=True)
class StartOption:
    """A start that fits: the bay, the cells it claims, and the technicians free for it."""

    bay_id: str
    start: datetime
    end: datetime
    cells: tuple[datetime, ...]
    technician_ids: tuple[str, ...]


def rostered_cells(shifts: Sequence[tuple[datetime, datetime]], grid: Sequence[Cell]) -> frozenset[datetime]:
    """Starts of the grid cells that lie wholly inside one of a technician's shifts (UTC
    intervals of that day, its roster exception applied: `Station.shifts`)."""
    return frozenset(
        cell.start for cell in grid if any(s <= cell.start and cell.end <= e for s, e in shifts)
    )


def start_options(
    *,
    plan: WorkPlan,
    grid: Sequence[Cell],
    slot_minutes: int,
    bays: Sequence[Bay],
    shifts: Mapping[str, Sequence[tuple[datetime, datetime]]],
    bay_claims: Mapping[str, Collection[datetime]],
    technician_claims: Mapping[str, Collection[datetime]],
    not_before: datetime | None = None,
) -> list[StartOption]:
    """Every (bay, start) where the plan fits: enough free consecutive cells in one opening
    segment, and, if the plan needs skills, a technician rostered and free on all of them.
    `shifts`: technician id -> that day's shifts, for the technicians who can do the plan."""
    need = cells_needed(plan.occupied_minutes, slot_minutes)
    free_of_tech = {
        tech_id: rostered_cells(tech_shifts, grid) - frozenset(technician_claims.get(tech_id, ()))
        for tech_id, tech_shifts in shifts.items()
    }
    # the windows of the day and who could work each: the same for every bay, so found once
    windows: list[tuple[tuple[datetime, ...], tuple[str, ...]]] = []
    for i in range(len(grid) - need + 1):
        window = grid[i : i + need]
        if window[0].segment != window[-1].segment:
            continue
        if not_before is not None and window[0].start < not_before:
            continue
        starts = tuple(cell.start for cell in window)
        tech_ids: tuple[str, ...] = ()
        if plan.skills:
            tech_ids = tuple(t for t, free in free_of_tech.items() if free.issuperset(starts))
            if not tech_ids:
                continue
        windows.append((starts, tech_ids))
    length = timedelta(minutes=plan.duration_minutes)
    options = []
    for bay in bays:
        taken = frozenset(bay_claims.get(bay.id, ()))
        options.extend(
            StartOption(bay_id=bay.id, start=starts[0], end=starts[0] + length, cells=starts, technician_ids=tech_ids)
            for starts, tech_ids in windows
            if taken.isdisjoint(starts)
        )
    return options


def _start(cell: Cell) -> datetime:
    return cell.start


def window_at(grid: Sequence[Cell], start: datetime, need: int) -> tuple[Cell, ...]:
    """The `need` consecutive cells from `start`, or RuleViolation naming why they don't exist."""
    # the grid is in time order: a binary search finds the start (it runs for every booking)
    index = bisect_left(grid, start, key=_start)
    if index == len(grid) or grid[index].start != start:
        raise RuleViolation(f"{start.isoformat()} is not the start of a bookable slot (closed, or off the slot grid)")
    window = tuple(grid[index : index + need])
    if len(window) < need or window[-1].segment != window[0].segment:
        raise RuleViolation(f"the work from {start.isoformat()} runs past closing time")
    return window


def on_shift(shifts: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """Whether one of a technician's shift intervals (UTC) covers [start, end) wholly."""
    return any(s <= start and end <= e for s, e in shifts)


def pick_technician(
    candidates: Sequence[Technician], *, available: Collection[str], load: Mapping[str, int]
) -> Technician | None:
    """The least-loaded of the available candidates (ties broken by id): work spreads evenly."""
    free = [t for t in candidates if t.id in available]
    return min(free, key=lambda t: (load.get(t.id, 0), t.id), default=None)
