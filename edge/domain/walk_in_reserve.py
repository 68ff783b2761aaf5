"""The walk-in reserve: a share of each day's cells, per bay kind, kept from phone and app bookings.

A station that sells every cell ahead on the phone and in the app locks out the cars that just
drive in. So a share of each bay kind's cells of a day (`[booking.walk_in_reserve]`) is kept
back: the counter (`terminal`) and walk-ins (`walk_in`) may always take a reserved cell; every
other channel (phone, app, HQ) only from `cutoff_minutes` before the cell's start, when an empty
cell is better sold than kept.

Which cells are reserved follows from the day's grid, the bays of the kind and the share alone,
so every process (and every reader of a day) agrees without storing anything: the kind's cells
are laid out in time order, each start's bays side by side, and round(share * cells) of them are
taken at even steps along that line, the j-th one on the kind's j-th bay in turn. The reserve is
spread over the whole day (never all the morning) and over the bays of the kind.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from edge.domain.slots import Cell

# channels a reserved cell is always open to: the car is at the forecourt, or the desk decides
ALWAYS_OPEN_TO = frozenset({"walk_in", "terminal"})

BayCell = tuple[str, datetime]  # (bay id, cell start in UTC)


def spread(starts: Sequence[datetime], bay_ids: Sequence[str], share: float) -> frozenset[BayCell]:
    """round(share * cells) of the cells of `bay_ids` over `starts`, evenly spaced in time, the
    j-th reserved cell on bay j mod len(bay_ids) (so the reserve rotates over the bays).

    Cells are numbered time first, then bay (start i, bay b is i * len(bay_ids) + b); the j-th
    reserved one is the middle of the j-th of `count` equal stretches of that numbering.
    """
    total = len(starts) * len(bay_ids)
    count = min(total, math.floor(share * total + 0.5))
    if count <= 0:
        return frozenset()
    width = len(bay_ids)
    return frozenset(
        (bay_ids[j % width], starts[((2 * j + 1) * total) // (2 * count) // width]) for j in range(count)
    )


@dataclass(frozen=True, slots=True)
class WalkInReserve:
    """The configured reserve: the share of a day's cells kept per bay kind, and the cut-off."""

    shares: Mapping[str, float] = field(default_factory=dict)  # bay kind -> share (0-1) of its cells of a day
    cutoff_minutes: int = 120

    def binds(self, channel: str) -> bool:
        """Whether the reserve keeps any cell from a booking through `channel`."""
        return channel not in ALWAYS_OPEN_TO and any(share > 0 for share in self.shares.values())

    def cells(self, grid: Sequence[Cell], bays: Iterable[tuple[str, str]]) -> frozenset[BayCell]:
        """The reserved (bay, start) cells of one day's `grid`; `bays` are (bay id, kind) in the
        station's order."""
        by_kind: dict[str, list[str]] = {}
        for bay_id, kind in bays:
            by_kind.setdefault(kind, []).append(bay_id)
        starts = [cell.start for cell in grid]
        return frozenset().union(*(spread(starts, by_kind.get(kind, []), share)
                                   for kind, share in self.shares.items()))

    def opens_at(self, start: datetime) -> datetime:
        """When a reserved cell starting at `start` opens to every channel."""
        return start - timedelta(minutes=self.cutoff_minutes)

    def closed(self, grid: Sequence[Cell], bays: Iterable[tuple[str, str]], *, channel: str,
               now: datetime) -> frozenset[BayCell]:
        """The reserved cells `channel` may not take at `now`: none for a walk-in or the counter,
        and none whose cut-off has come."""
        if not self.binds(channel):
            return frozenset()
        return frozenset(cell for cell in self.cells(grid, bays) if now < self.opens_at(cell[1]))

