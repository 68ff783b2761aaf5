"""Whether a work plan can ever be served: some day of the week on which all its legs fit an empty schedule.

A package whose legs need more hours than the station opens, or skills no technician rostered
then has, would be offered in the catalogue and never be bookable; the config check refuses it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.domain.legs import LegDay, LegPlan, LegRules, Miss, NoFit, fit_legs
from edge.domain.slots import Cell


@dataclass(frozen=True, slots=True)
class RosteredTechnician:
    skills: frozenset[str]
    shifts: Sequence[tuple[datetime, datetime]]  # UTC intervals of the day looked at


@dataclass(frozen=True, slots=True)
class _EmptyDay:
    """A day with nothing booked: every bay of a leg is free; a technician is, on shift."""

    technicians: Sequence[RosteredTechnician]
    slot: timedelta

    def free_bays(self, leg: LegPlan, starts: tuple[datetime, ...]) -> Sequence[str]:
        return leg.bay_ids

    def free_technicians(self, leg: LegPlan, starts: tuple[datetime, ...]) -> tuple[str, ...]:
        begin, end = starts[0], starts[-1] + self.slot
        return tuple(str(i) for i, t in enumerate(self.technicians)
                     if leg.skills <= t.skills and any(s <= begin and end <= e for s, e in t.shifts))


def why_never_served(
    legs: Sequence[LegPlan],
    days: Iterable[tuple[Sequence[Cell], Sequence[RosteredTechnician]]],
    *,
    slot_minutes: int,
    rules: LegRules,
    kinds: Mapping[str, str],
) -> str | None:
    """None if on one of `days` (each its slot grid and its rostered technicians) every leg fits
    from some start with nothing else booked; else why not, naming the leg that never fits."""
    unbayed = [leg for leg in legs if not leg.bay_ids]
    if unbayed:
        return f"no bay can do {'+'.join(unbayed[0].service_codes)}"
    deepest: NoFit | None = None
    for grid, technicians in days:
        probe = _EmptyDay(technicians, timedelta(minutes=slot_minutes))
        day = LegDay(grid, slot_minutes, rules, kinds)
        for cell in grid:
            found = fit_legs(legs, cell.start, day, probe)
            if not isinstance(found, NoFit):
                return None
            if deepest is None or (found.leg, found.miss != Miss.CLOSED) > (deepest.leg, deepest.miss != Miss.CLOSED):
                deepest = found
    if deepest is None:
        return "the station is never open"
    leg = legs[deepest.leg]
    what = "+".join(leg.service_codes)
    if deepest.miss == Miss.TECHNICIAN:
        return f"no technician with {'+'.join(sorted(leg.skills))} is rostered while {what} could be done"
    if deepest.leg == 0:
        return f"{what} does not fit within one opening period"
    return f"{what} never finds room within the allowed wait after the leg before it, before closing"
