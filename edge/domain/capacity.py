"""Capacity: which start cells of a day can take a work plan, given claims and the roster."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge.domain.catalog import Bay, Technician, WorkPlan
from edge.domain.legs import NO_LEG_RULES, LegDay, LegFit, LegPlan, LegRules, fits_per_first_bay
from edge.domain.slots import Cell


@dataclass(frozen=True, slots=True)
class StartOption:
    """A start that fits: its first leg's bay, cells and free technicians, when the whole booking
    ends, and every leg's place (one leg for work one bay does)."""

    bay_id: str
    start: datetime
    end: datetime
    cells: tuple[datetime, ...]
    technician_ids: tuple[str, ...]
    legs: tuple[LegFit, ...] = ()


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
    technicians: Sequence[Technician],
    shifts: Mapping[str, Sequence[tuple[datetime, datetime]]],
    bay_claims: Mapping[str, Collection[datetime]],
    technician_claims: Mapping[str, Collection[datetime]],
    rules: LegRules = NO_LEG_RULES,
    not_before: datetime | None = None,
    first_bays: Collection[str] | None = None,
) -> list[StartOption]:
    """Every (first bay, start) from which all the plan's legs fit (edge.domain.legs): each leg's
    cells free on one of `bays` able to do it, in one opening segment, and, where a leg needs
    skills, one of `technicians` rostered and free on all of them. In bay order, then time.
    `shifts`: technician id -> that day's shifts. `first_bays` narrows the first leg's bays (a bay asked for)."""
    probe = _DayProbe(
        bays=tuple(bays), claims={bay.id: frozenset(bay_claims.get(bay.id, ())) for bay in bays},
        technicians=tuple(technicians),
        free_cells={t.id: rostered_cells(shifts.get(t.id, ()), grid) - frozenset(technician_claims.get(t.id, ()))
                    for t in technicians},
    )
    leg_day = LegDay(grid, slot_minutes, rules, {bay.id: bay.kind for bay in bays})
    found: dict[str, list[StartOption]] = {bay.id: [] for bay in bays}
    for cell in grid:
        if not_before is not None and cell.start < not_before:
            continue
        for fit in fits_per_first_bay(plan.legs, cell.start, leg_day, probe, first_bays):
            end = fit[-1].starts[0] + timedelta(minutes=plan.legs[-1].duration_minutes)
            found[fit[0].bay_id].append(StartOption(bay_id=fit[0].bay_id, start=cell.start, end=end,
                                                    cells=fit[0].starts, technician_ids=fit[0].technician_ids,
                                                    legs=fit))
    return [option for options in found.values() for option in options]


@dataclass
class _DayProbe:
    """A day's claims already read: which bays and technicians are free on given cells (memoised:
    every start asks again about the same cells of a later leg)."""

    bays: tuple[Bay, ...]
    claims: Mapping[str, frozenset[datetime]]
    technicians: tuple[Technician, ...]
    free_cells: Mapping[str, frozenset[datetime]]
    _seen: dict = field(default_factory=dict)

    def free_bays(self, leg: LegPlan, starts: tuple[datetime, ...]) -> Sequence[str]:
        key = ("bay", leg.service_codes, starts)
        if key not in self._seen:
            self._seen[key] = [bay.id for bay in self.bays
                               if bay.id in leg.bay_ids and self.claims[bay.id].isdisjoint(starts)]
        return self._seen[key]

    def free_technicians(self, leg: LegPlan, starts: tuple[datetime, ...]) -> tuple[str, ...]:
        key = ("technician", leg.skills, starts)
        if key not in self._seen:
            self._seen[key] = tuple(t.id for t in self.technicians
                                    if leg.skills <= t.skills and self.free_cells[t.id].issuperset(starts))
        return self._seen[key]


def on_shift(shifts: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime) -> bool:
    """Whether one of a technician's shift intervals (UTC) covers [start, end) wholly."""
    return any(s <= start and end <= e for s, e in shifts)


def pick_technician(
    candidates: Sequence[Technician], *, available: Collection[str], load: Mapping[str, int]
) -> Technician | None:
    """The least-loaded of the available candidates (ties broken by id): work spreads evenly."""
    free = [t for t in candidates if t.id in available]
    return min(free, key=lambda t: (load.get(t.id, 0), t.id), default=None)
