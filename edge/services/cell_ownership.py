"""Who owns each (bay, cell) at this station: the [escrow] split rule, overridden by leases.

Only the owner of a cell confirms a booking on it (slot escrow, docs/protocol.md); booking
placement prefers bays whose cells the station owns, and a booking on HQ's cells is tentative.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime

from sqlite3 import Connection

from edge.domain.catalog import Bay
from edge.domain.escrow import STATION, Ownership, SplitRule, needs_owner, ownership
from edge.errors import RuleViolation
from edge.services.booking_store import CLAIM_RANGE
from edge.services.station import Station
from edge.store.types import from_db_time, to_db_time

Cell = tuple[str, datetime]  # (bay id, slot start in UTC)


def split_rule(station: Station) -> SplitRule:
    escrow = station.settings.escrow
    return SplitRule.from_share(station.settings.station.id, escrow.hq_share, escrow.block_minutes)


def moved_cells(
    conn: Connection, bay_ids: Iterable[str], first: datetime, last: datetime
) -> dict[Cell, Ownership]:
    """Cells of `bay_ids` from `first` to `last` (inclusive) that a lease moved."""
    ids = list(bay_ids)
    if not ids:
        return {}
    rows = conn.execute(
        f"SELECT bay_id, slot_start, owner, token FROM escrow_cell WHERE bay_id IN ({', '.join('?' * len(ids))})"
        " AND slot_start >= ? AND slot_start <= ?",
        (*ids, to_db_time(first), to_db_time(last)),
    )
    return {(bay, from_db_time(start)): Ownership(owner, token) for bay, start, owner, token in rows}


def ownerships(conn: Connection, station: Station, bay_id: str, starts: Sequence[datetime]) -> list[Ownership]:
    """The owner (and fencing token) of each of the bay's cells `starts`."""
    rule = split_rule(station)
    moved = moved_cells(conn, [bay_id], min(starts), max(starts))
    return [ownership(rule, bay_id, start, moved.get((bay_id, start))) for start in starts]


def station_owns(conn: Connection, station: Station, bay_id: str, starts: Sequence[datetime]) -> bool:
    return not needs_owner((o.owner for o in ownerships(conn, station, bay_id, starts)), STATION)


def owned_first(conn: Connection, station: Station, bays: Sequence[Bay], starts: Sequence[datetime]) -> list[Bay]:
    """`bays` with those whose cells `starts` the station owns first (booked firm, not tentative)."""
    if len(bays) < 2:
        return list(bays)
    rule = split_rule(station)
    moved = moved_cells(conn, [bay.id for bay in bays], min(starts), max(starts))
    if rule.hq_permille == 0 and not moved:
        return list(bays)

    def foreign(bay: Bay) -> bool:
        return needs_owner((ownership(rule, bay.id, s, moved.get((bay.id, s))).owner for s in starts), STATION)

    return sorted(bays, key=foreign)


def cell_owners(station: Station, day: date) -> dict[Cell, str]:
    """Every active bay's cells of the local `day` and their owner, "station" or "hq"."""
    grid = station.grid(day)
    bays = [bay.id for bay in station.catalog().bays.values()]
    if not grid or not bays:
        return {}
    rule = split_rule(station)
    with station.store.read() as conn:
        moved = moved_cells(conn, bays, grid[0].start, grid[-1].start)
    return {
        (bay, cell.start): ownership(rule, bay, cell.start, moved.get((bay, cell.start))).owner
        for bay in bays
        for cell in grid
    }


def require_station_cells(conn: Connection, station: Station, *, booking_id: str, bay_id: str, start: datetime) -> None:
    """Refuse (RuleViolation) if the booking's claims from `start` on include a cell HQ owns."""
    starts = [from_db_time(row[0]) for row in conn.execute(
        "SELECT slot_start FROM slot_claim WHERE bay_id = ? AND slot_start >= ? AND slot_start < ? AND booking_id = ?",
        (bay_id, to_db_time(start), to_db_time(start + CLAIM_RANGE), booking_id),
    )]
    if starts and not station_owns(conn, station, bay_id, starts):
        raise RuleViolation(f"bay {bay_id} at {station.local(start):%Y-%m-%d %H:%M} is HQ's to sell "
                            "(slot escrow); choose another time or bay")
