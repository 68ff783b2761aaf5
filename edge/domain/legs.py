"""Legs: a booking's work split over the bays that can do it, one leg after another.

An oil change needs a lift and a premium wash needs the wash tunnel: no bay does both, so
the booking "oil change + premium wash" is two legs, the lift first, then the wash. Services
that one bay can do together (and one technician has the skills for) stay one leg.

Legs follow each other: the next leg may start once the previous one's work and its bay's
turnover buffer are over and the car has crossed the forecourt (the transfer gap between
the two bay kinds, from the config). It starts on the first grid cell from then on that has
room, waiting at most `max_wait` for one.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from edge.domain.slots import Cell, cells_needed


@dataclass(frozen=True, slots=True)
class LegPlan:
    """One leg of a work plan: services done together on one bay, in the order asked."""

    service_codes: tuple[str, ...]
    duration_minutes: int
    buffer_minutes: int  # the bay's turnover after the car leaves it: the longest of the items'
    skills: frozenset[str]
    bay_ids: tuple[str, ...]  # every bay (in the catalogue's order) able to do all the leg's services

    @property
    def occupied_minutes(self) -> int:
        return self.duration_minutes + self.buffer_minutes


@dataclass(frozen=True, slots=True)
class LegItem:
    """What splitting needs to know of a service item."""

    code: str
    duration_minutes: int
    buffer_minutes: int
    skill: str | None


def split_into_legs(
    items: Sequence[LegItem],
    bay_services: Mapping[str, frozenset[str]],
    technician_skills: Iterable[frozenset[str]],
) -> tuple[LegPlan, ...]:
    """Group the items, in order, into legs: an item joins the current leg while some bay can do
    the whole group and, when the group needs skills, some technician has all of them.

    `bay_services` maps each bay id to the services it can do. An item no bay can do still
    gets a leg of its own, with no bays: placement then finds it unservable and says so.
    """
    skill_sets = [frozenset(s) for s in technician_skills]
    legs: list[list[LegItem]] = []
    for item in items:
        if legs and _one_leg([*legs[-1], item], bay_services, skill_sets):
            legs[-1].append(item)
        else:
            legs.append([item])
    return tuple(_leg(group, bay_services) for group in legs)


def _one_leg(group: Sequence[LegItem], bay_services: Mapping[str, frozenset[str]],
             skill_sets: Sequence[frozenset[str]]) -> bool:
    codes = {item.code for item in group}
    skills = {item.skill for item in group if item.skill}
    return (any(codes <= services for services in bay_services.values())
            and (not skills or any(skills <= have for have in skill_sets)))


def _leg(group: Sequence[LegItem], bay_services: Mapping[str, frozenset[str]]) -> LegPlan:
    codes = tuple(item.code for item in group)
    return LegPlan(
        service_codes=codes,
        duration_minutes=sum(item.duration_minutes for item in group),
        buffer_minutes=max(item.buffer_minutes for item in group),
        skills=frozenset(item.skill for item in group if item.skill),
        bay_ids=tuple(bay for bay, services in bay_services.items() if set(codes) <= services),
    )


@dataclass(frozen=True, slots=True)
class LegRules:
    """How legs follow each other: the transfer gap per (from kind, to kind) and the longest wait."""

    transfer_minutes: Mapping[tuple[str, str], int]
    max_wait_minutes: int

    def ready_at(self, leg: LegPlan, start: datetime, from_kind: str, to_kind: str) -> datetime:
        """When the car may start its next leg on a bay of `to_kind`, the leg on `from_kind` having begun at `start`."""
        gap = leg.occupied_minutes + self.transfer_minutes.get((from_kind, to_kind), 0)
        return start + timedelta(minutes=gap)


NO_LEG_RULES = LegRules(transfer_minutes={}, max_wait_minutes=0)


def _start(cell: Cell) -> datetime:
    return cell.start


def starts_from(grid: Sequence[Cell], ready: datetime, max_wait_minutes: int) -> list[datetime]:
    """The grid starts at or after `ready`, no later than `max_wait_minutes` after it, in time order."""
    latest = ready + timedelta(minutes=max_wait_minutes)
    index = bisect_left(grid, ready, key=_start)
    found = []
    for cell in grid[index:]:
        if cell.start > latest:
            break
        found.append(cell.start)
    return found


def leg_window(grid: Sequence[Cell], start: datetime, leg: LegPlan, slot_minutes: int) -> tuple[datetime, ...] | None:
    """The starts of the consecutive cells the leg occupies from `start`, inside one opening
    segment; None when `start` is not on the grid or the work would run past the segment's end."""
    index = bisect_left(grid, start, key=_start)
    if index == len(grid) or grid[index].start != start:
        return None
    need = cells_needed(leg.occupied_minutes, slot_minutes)
    window = grid[index : index + need]
    if len(window) < need or window[-1].segment != window[0].segment:
        return None
    return tuple(cell.start for cell in window)


@dataclass(frozen=True, slots=True)
class LegFit:
    """Where one leg fits: its bay, the starts of its cells, and the technicians free for it
    (empty when the leg needs no skills)."""

    bay_id: str
    starts: tuple[datetime, ...]
    technician_ids: tuple[str, ...]


class LegProbe(Protocol):
    """What the fitter asks of the store (or of a day's claims already read)."""

    def free_bays(self, leg: LegPlan, starts: tuple[datetime, ...]) -> Sequence[str]:
        """The leg's bays with every cell of `starts` free, in the order to prefer them."""

    def free_technicians(self, leg: LegPlan, starts: tuple[datetime, ...]) -> tuple[str, ...]:
        """The technicians with the leg's skills rostered and free on every cell of `starts`."""


class Miss(StrEnum):
    """Why a sequence of legs does not fit from a start."""

    CLOSED = "closed"  # not a start of the grid, or the work runs past closing
    BAY = "bay"  # every bay able to do a leg is taken
    TECHNICIAN = "technician"  # a leg needs skills and no technician with them is rostered and free


@dataclass(frozen=True, slots=True)
class NoFit:
    """The deepest leg the search reached and why it stopped there."""

    leg: int
    miss: Miss
    at: datetime


@dataclass(frozen=True, slots=True)
class LegDay:
    """What fitting legs needs of one day at the station: its slot grid, the slot length, how
    legs follow each other, and each bay's kind."""

    grid: Sequence[Cell]
    slot_minutes: int
    rules: LegRules
    kinds: Mapping[str, str]


def fit_legs(legs: Sequence[LegPlan], start: datetime, day: LegDay, probe: LegProbe,
             first_bays: Collection[str] | None = None) -> tuple[LegFit, ...] | NoFit:
    """The first way, in preference order, for all `legs` to fit with the first leg at `start`.

    Each leg takes the first of its free bays; a later leg starts on the first grid start with
    room after the car is ready, waiting at most `day.rules.max_wait_minutes`. A bay of another
    kind may change the transfer gap, so each kind among the free bays is tried once before
    giving up. `first_bays` narrows the first leg's bays (a bay the customer or the desk named).
    """
    search = _Search(legs, day, probe, start)
    found = search.fit(0, [start], None, first_bays)
    return search.deepest if found is None else found


def fits_per_first_bay(legs: Sequence[LegPlan], start: datetime, day: LegDay, probe: LegProbe,
                       first_bays: Collection[str] | None = None) -> list[tuple[LegFit, ...]]:
    """For each free bay of the first leg at `start` (in preference order), the way the whole
    sequence fits from it, as `fit_legs` would find it with that bay named; bays from which the
    rest cannot follow are left out. Bays of one kind share the rest: it is searched once per kind."""
    search = _Search(legs, day, probe, start)
    first = search.place(0, start, None, first_bays)
    if first is None:
        return []
    window, bays, technicians = first
    rest: dict[str, tuple[LegFit, ...] | None] = {}
    found = []
    for bay in bays:
        kind = day.kinds[bay]
        if kind not in rest:
            rest[kind] = search.follow(0, start, kind) if len(legs) > 1 else ()
        if rest[kind] is not None:
            found.append((LegFit(bay, window, technicians), *rest[kind]))
    return found


class _Search:
    """The depth-first search behind `fit_legs`: legs in order, starts in time order, bays in preference order."""

    def __init__(self, legs: Sequence[LegPlan], day: LegDay, probe: LegProbe, start: datetime) -> None:
        self.legs, self.grid, self.slot_minutes, self.rules = legs, day.grid, day.slot_minutes, day.rules
        self.kinds, self.probe = day.kinds, probe
        self.deepest = NoFit(0, Miss.CLOSED, start)

    def miss(self, index: int, miss: Miss, at: datetime) -> None:
        # compared before it is built: a day's availability search misses thousands of times
        if (index, _MISS_ORDER[miss]) > _depth(self.deepest):
            self.deepest = NoFit(index, miss, at)

    def place(self, index: int, at: datetime, came_from: tuple[datetime, str] | None,
              only: Collection[str] | None = None) -> tuple[tuple[datetime, ...], list[str], tuple[str, ...]] | None:
        """Leg `index` from `at`: its cells, the bays free for them, and the technicians free for
        them (empty when the leg needs none); None when it does not fit there."""
        leg = self.legs[index]
        window = leg_window(self.grid, at, leg, self.slot_minutes)
        if window is None:
            self.miss(index, Miss.CLOSED, at)
            return None
        bays = self.probe.free_bays(leg, window)
        if only is not None:
            bays = [bay for bay in bays if bay in only]
        if came_from is not None:  # a bay of a kind further away may need a longer transfer
            before, kind = came_from
            ready = {to: self.rules.ready_at(self.legs[index - 1], before, kind, to)
                     for to in {self.kinds[bay] for bay in bays}}
            bays = [bay for bay in bays if ready[self.kinds[bay]] <= at]
        if not bays:
            self.miss(index, Miss.BAY, at)
            return None
        technicians = self.probe.free_technicians(leg, window) if leg.skills else ()
        if leg.skills and not technicians:
            self.miss(index, Miss.TECHNICIAN, at)
            return None
        return window, list(bays), technicians

    def fit(self, index: int, starts: Sequence[datetime], came_from: tuple[datetime, str] | None,
            only: Collection[str] | None = None) -> tuple[LegFit, ...] | None:
        """The first fit of legs `index`.. with leg `index` on one of `starts`."""
        for at in starts:
            placed = self.place(index, at, came_from, only)
            if placed is None:
                continue
            window, bays, technicians = placed
            if index == len(self.legs) - 1:
                return (LegFit(bays[0], window, technicians),)
            tried: set[str] = set()
            for bay in bays:
                if self.kinds[bay] in tried:
                    continue
                tried.add(self.kinds[bay])
                rest = self.follow(index, at, self.kinds[bay])
                if rest is not None:
                    return (LegFit(bay, window, technicians), *rest)
        return None

    def follow(self, index: int, at: datetime, kind: str) -> tuple[LegFit, ...] | None:
        """The legs after leg `index`, which began at `at` on a bay of `kind`."""
        ready, following = _next_starts(self.grid, self.legs, index, at, kind, self.rules, self.kinds)
        if not following:  # the station closes (or breaks) before the wait is over
            self.miss(index + 1, Miss.CLOSED, ready)
            return None
        return self.fit(index + 1, following, (at, kind))


_MISS_ORDER = {miss: rank for rank, miss in enumerate(Miss)}


def _depth(miss: NoFit) -> tuple[int, int]:
    # the deepest leg reached explains best; at one depth a bay or a technician says more than "closed"
    return miss.leg, _MISS_ORDER[miss.miss]


def _next_starts(grid: Sequence[Cell], legs: Sequence[LegPlan], index: int, at: datetime, from_kind: str,
                 rules: LegRules, kinds: Mapping[str, str]) -> tuple[datetime, list[datetime]]:
    """When the car is ready for the next leg (the earliest over its bays' kinds) and the starts
    that leg may take, within the wait."""
    following = legs[index + 1]
    to_kinds = {kinds[bay] for bay in following.bay_ids if bay in kinds} or {from_kind}
    ready = min(rules.ready_at(legs[index], at, from_kind, kind) for kind in to_kinds)
    return ready, starts_from(grid, ready, rules.max_wait_minutes)
