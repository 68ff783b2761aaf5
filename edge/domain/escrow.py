"""Slot escrow: which node owns a (bay, cell), how a lease moves ownership, who wins a clash.

Each (bay, cell) has one owner, the station or HQ, and only the owner confirms a booking on
it; the other side books it `tentative` and asks the owner. Both sides compute the default
owner of every cell from the same rule, without talking (`SplitRule`), and afterwards only a
lease moves a cell: the current owner gives it up, the new owner takes it when the message
arrives, and every lease carries a fencing token, bigger than any earlier one for that cell,
so a replayed or reordered lease cannot undo a newer one.

The split rule works in blocks of `block_minutes` of UTC time (two hours by default, so HQ's
cells come in runs an app customer can book whole). Blocks are numbered from the Unix epoch;
block j is HQ's when the line y = j * share + offset crosses an integer between j and j + 1
(Bresenham), with an offset drawn from a hash of (station, bay). So every run of n blocks of a
bay holds floor or ceil of n * share HQ blocks: each day gets its share, spread over the day,
and each bay's HQ blocks fall at other hours than its neighbour's. The rule needs no opening
hours, time zone or slot grid: HQ computes it from the station id, the bay id and the share.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

STATION = "station"
HQ = "hq"
OWNERS = (STATION, HQ)
_PARTS = 1000  # the share is kept in thousandths: integer arithmetic gives both sides the same answer
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SplitRule:
    """The configured split of a station's cells between the station and HQ."""

    station_id: str
    hq_permille: int = 0  # 0: the station owns every cell; 1000: HQ owns every cell
    block_minutes: int = 120

    def __post_init__(self) -> None:
        if not 0 <= self.hq_permille <= _PARTS:
            raise ValueError(f"hq_permille must be 0-{_PARTS}, got {self.hq_permille}")
        if self.block_minutes <= 0:
            raise ValueError(f"block_minutes must be positive, got {self.block_minutes}")

    @classmethod
    def from_share(cls, station_id: str, hq_share: float, block_minutes: int = 120) -> SplitRule:
        return cls(station_id, round(hq_share * _PARTS), block_minutes)

    def owner(self, bay_id: str, slot_start: datetime) -> str:
        """The default owner of the cell of `bay_id` starting at `slot_start`."""
        if self.hq_permille == 0:
            return STATION
        block = _minutes_since_epoch(slot_start) // self.block_minutes
        offset = _offset(self.station_id, bay_id)
        crosses = ((block + 1) * self.hq_permille + offset) // _PARTS - (block * self.hq_permille + offset) // _PARTS
        return HQ if crosses else STATION

    def fingerprint(self) -> str:
        """What both sides compare to be sure they split the cells the same way."""
        return f"{self.hq_permille}/{_PARTS}@{self.block_minutes}m"


def _minutes_since_epoch(instant: datetime) -> int:
    if instant.tzinfo is None:
        raise ValueError(f"naive datetime {instant!r}: cells are aware UTC instants")
    return int((instant - _EPOCH).total_seconds()) // 60


def _offset(station_id: str, bay_id: str) -> int:
    digest = hashlib.sha256(f"{station_id}\x1f{bay_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _PARTS


@dataclass(frozen=True, slots=True)
class Ownership:
    """Who owns a cell and the fencing token of the lease that gave it (0: the split rule)."""

    owner: str
    token: int = 0


def ownership(rule: SplitRule, bay_id: str, slot_start: datetime, moved: Ownership | None) -> Ownership:
    """A cell's owner: the latest lease that moved it, else the split rule."""
    return moved if moved is not None else Ownership(rule.owner(bay_id, slot_start), 0)


class LeaseKind(StrEnum):
    GRANT = "grant"  # HQ hands its cells to the station
    REVOKE = "revoke"  # HQ asks the station to hand cells back


class Verdict(StrEnum):
    APPLIED = "applied"
    STALE = "stale"  # the token is not newer than the one the cell already has
    BOOKED = "booked"  # the station has a booking on the cell: it keeps the cell


def judge_lease(kind: LeaseKind, token: int, current: Ownership, *, booked: bool) -> Verdict:
    """Whether the station applies one cell of a lease.

    A token must be newer than the cell's own (fencing): a replayed or reordered lease is
    refused instead of undoing a newer one. A revoke never takes a cell the station has
    booked: the owner gives up only what it has not sold.
    """
    if token <= current.token:
        return Verdict.STALE
    if kind == LeaseKind.REVOKE and booked and current.owner == STATION:
        return Verdict.BOOKED
    return Verdict.APPLIED


def new_owner(kind: LeaseKind) -> str:
    return STATION if kind == LeaseKind.GRANT else HQ


def clash_winner(station_view: Ownership, hq_token: int) -> str:
    """Both sides confirmed a booking on one cell (a lost lease or a bug): who keeps it.

    The valid fencing token wins, never the later writer: HQ's claim stands if the station
    itself counts the cell as HQ's, or if HQ's token is newer than the lease the station holds
    it by; otherwise the station's booking stands.
    """
    if station_view.owner == HQ or hq_token > station_view.token:
        return HQ
    return STATION


def needs_owner(owners: Iterable[str], me: str) -> bool:
    """A booking on these cells must be decided by their owner: some cell is not `me`'s."""
    return any(owner != me for owner in owners)


def cell_starts(first: datetime, count: int, slot_minutes: int) -> list[datetime]:
    """`count` consecutive cells from `first` (the grid steps in real time)."""
    if count <= 0:
        raise ValueError(f"a booking covers at least one cell, got {count}")
    step = timedelta(minutes=slot_minutes)
    return [first + i * step for i in range(count)]


def near_term(starts: Sequence[datetime], now: datetime, hours: int) -> list[datetime]:
    """The cells that start within the next `hours` (already begun ones are of no use)."""
    horizon = now + timedelta(hours=hours)
    return [start for start in starts if now <= start < horizon]
