"""The walk-in reserve on this station's days: which cells a channel may not book yet.

The rule is edge.domain.walk_in_reserve; this module applies it to a day of the station (its
grid and its catalogue's bays). Placement leaves the closed cells out for a booking through a
bound channel, and availability does not offer them.
"""

from __future__ import annotations

from datetime import date, datetime

from edge.domain.capacity import StartOption
from edge.domain.walk_in_reserve import BayCell
from edge.errors import RuleViolation
from edge.services.station import Station


def reserved_cells(station: Station, day: date) -> frozenset[BayCell]:
    """Every reserved (bay, start) cell of the local `day`."""
    return station.walk_in_reserve.cells(station.grid(day), _bays(station))


def closed_cells(station: Station, day: date, *, channel: str, now: datetime) -> frozenset[BayCell]:
    """The reserved cells of `day` a booking through `channel` may not take at `now`."""
    if not station.walk_in_reserve.binds(channel):
        return frozenset()
    return station.walk_in_reserve.closed(station.grid(day), _bays(station), channel=channel, now=now)


def held_back(station: Station, day: date, *, now: datetime) -> frozenset[BayCell]:
    """The reserved cells of `day` the phone and the app may not take at `now` (what `slots` marks)."""
    return closed_cells(station, day, channel="phone", now=now)


def touches(option: StartOption, cells: frozenset[BayCell]) -> bool:
    """Whether any leg of the start option lies on one of `cells`."""
    legs = [(leg.bay_id, leg.starts) for leg in option.legs] or [(option.bay_id, option.cells)]
    return any((bay, start) in cells for bay, starts in legs for start in starts)


def refusal(station: Station, cell: BayCell, channel: str) -> RuleViolation:
    """Why a booking through `channel` may not take the reserved `cell` yet."""
    bay, start = cell
    opens = station.walk_in_reserve.opens_at(start)
    return RuleViolation(f"bay {bay} at {station.local(start):%Y-%m-%d %H:%M} is reserved for walk-ins until "
                         f"{station.local(opens):%H:%M}: a {channel} booking may take it from then, a walk-in now")


def _bays(station: Station) -> list[tuple[str, str]]:
    return [(bay.id, bay.kind) for bay in station.catalog().bays.values()]
