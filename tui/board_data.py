"""What the board shows, read from the station in one worker call: bays, timeline, arrivals, alerts, roster, sync.

Bay state is derived from bookings until the occupancy sensors arrive: a bay is `occupied`
when a checked-in or in-service booking's cells cover now (or the attendant has moved it
into the bay and it is not done yet), `out_of_service` when the catalogue says so, else
`free`. `unknown` is the sensors' word (a silent sensor) and is not derived here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from edge.domain.booking_state import BookingState, Progress
from edge.domain.catalog import Bay, Catalog
from edge.domain.slots import Cell, cells_needed
from edge.errors import EdgeError
from edge.services import bookings
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from edge.store.catalog import load_catalog
from edge.store.outbox import pending_count

ARRIVING = frozenset({BookingState.HELD, BookingState.CONFIRMED, BookingState.PENDING_APPROVAL,
                      BookingState.TENTATIVE})
ON_SITE = frozenset({BookingState.CHECKED_IN, BookingState.IN_SERVICE})
# stages the attendant sets once the car is physically in the bay
IN_BAY_STAGES = frozenset({Progress.IN_BAY, Progress.IN_SERVICE, Progress.WAITING_PARTS, Progress.QUALITY_CHECK})
# what a timeline cell shows, by the state of the booking that claims it
CELL_KIND = {
    BookingState.HELD: "held",
    BookingState.PENDING_APPROVAL: "held",
    BookingState.TENTATIVE: "held",
    BookingState.CONFIRMED: "booked",
    BookingState.CHECKED_IN: "busy",
    BookingState.IN_SERVICE: "busy",
    BookingState.COMPLETED: "done",
}


@dataclass(frozen=True, slots=True)
class BayRow:
    bay: Bay
    state: str  # free, occupied, unknown, out_of_service
    current: BookingRecord | None  # the booking in the bay now
    next: BookingRecord | None  # the next booking due in the bay today


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # late, no_show
    booking: BookingRecord
    minutes: int  # how late (late) or 0


@dataclass(frozen=True, slots=True)
class TechnicianRow:
    id: str
    name: str
    shifts: tuple[tuple[datetime, datetime], ...]
    on_shift: bool
    current: BookingRecord | None
    assigned: int  # live bookings today


@dataclass(frozen=True, slots=True)
class SyncState:
    link: str  # offline (the sync client arrives later)
    backlog: int  # outbox events HQ has not acknowledged
    last_ack_age: timedelta | None  # None: never acknowledged


@dataclass(frozen=True, slots=True)
class Board:
    now: datetime
    day: date
    grid: tuple[Cell, ...]
    bays: tuple[BayRow, ...]
    timeline: dict[str, tuple[str, ...]]  # bay id -> one kind per grid cell
    arrivals: tuple[BookingRecord, ...]
    alerts: tuple[Alert, ...]
    technicians: tuple[TechnicianRow, ...]
    sync: SyncState
    bookings: tuple[BookingRecord, ...]


def load_board(station: Station) -> Board:
    """Read today's board (runs in a worker thread)."""
    station.catalog()  # warm the station's cache here, so the UI thread never reads it from the file
    now = station.clock()
    day = station.local(now).date()
    todays = tuple(bookings.bookings_on(station, day))
    with station.store.read() as conn:
        # read afresh, not from the station's cache: another process may have taken a bay out of service
        catalog = load_catalog(conn)
        backlog = pending_count(conn)
    return build_board(station, catalog, now, todays, backlog)


def build_board(station: Station, catalog: Catalog, now: datetime, todays: tuple[BookingRecord, ...],
                backlog: int) -> Board:
    """The board from today's bookings at `now` (no I/O)."""
    day = station.local(now).date()
    grid = station.grid(day)
    todays = tuple(b for b in todays if not _lapsed(b, now))
    ends = {b.id: occupied_until(station, catalog, b) for b in todays}
    bays = tuple(_bay_row(bay, todays, ends, now) for bay in catalog.bays.values())
    timeline = {bay.id: _cells(grid, [b for b in todays if b.bay_id == bay.id], ends) for bay in catalog.bays.values()}
    late_after = timedelta(minutes=station.settings.booking.late_alert_minutes)
    arrivals = tuple(b for b in todays if b.state in ARRIVING and now < b.start_at + late_after)
    alerts = tuple(
        [Alert("late", b, int((now - b.start_at).total_seconds() // 60))
         for b in todays if b.state == BookingState.CONFIRMED and now >= b.start_at + late_after]
        + [Alert("no_show", b, 0) for b in todays if b.state == BookingState.NO_SHOW]
    )
    technicians = tuple(_technician_row(station, t, day, todays, ends, now) for t in catalog.technicians.values())
    return Board(now=now, day=day, grid=grid, bays=bays, timeline=timeline, arrivals=arrivals, alerts=alerts,
                 technicians=technicians, sync=SyncState("offline", backlog, None), bookings=todays)


def occupied_until(station: Station, catalog: Catalog, booking: BookingRecord) -> datetime:
    """The end of the booking's last claimed cell (its work, its bay turnover, rounded up to the grid)."""
    try:
        plan = catalog.plan([booking.package_code] if booking.package_code else booking.services)
        minutes = plan.occupied_minutes
    except EdgeError:  # a service since dropped from the catalogue: its booked duration
        minutes = int((booking.end_at - booking.start_at).total_seconds() // 60)
    return booking.start_at + timedelta(minutes=cells_needed(minutes, station.slot_minutes) * station.slot_minutes)


def _lapsed(booking: BookingRecord, now: datetime) -> bool:
    """A hold past its deadline: expired in all but name until the daemon's sweep writes it so."""
    return booking.state == BookingState.HELD and booking.hold_until is not None and booking.hold_until <= now


def _covers(booking: BookingRecord, ends: dict[str, datetime], instant: datetime) -> bool:
    return booking.start_at <= instant < ends[booking.id]


def _bay_row(bay: Bay, todays: tuple[BookingRecord, ...], ends: dict[str, datetime], now: datetime) -> BayRow:
    mine = [b for b in todays if b.bay_id == bay.id]
    current = next((b for b in mine if b.state in ON_SITE and (
        _covers(b, ends, now) or (b.progress in IN_BAY_STAGES and b.start_at <= now))), None)
    upcoming = next((b for b in mine if b.state in ARRIVING and ends[b.id] > now and b is not current), None)
    if not bay.in_service:
        state = "out_of_service"
    elif current is not None:
        state = "occupied"
    else:
        state = "free"
    return BayRow(bay, state, current, upcoming)


def _cells(grid: tuple[Cell, ...], mine: list[BookingRecord], ends: dict[str, datetime]) -> tuple[str, ...]:
    kinds = []
    for cell in grid:
        kind = "free"
        for booking in mine:
            if booking.state in CELL_KIND and _covers(booking, ends, cell.start):
                kind = CELL_KIND[booking.state]
                break
        kinds.append(kind)
    return tuple(kinds)


def _technician_row(station: Station, technician, day: date, todays, ends, now: datetime) -> TechnicianRow:
    shifts = station.shifts(technician, day)
    assigned = [b for b in todays if b.technician_id == technician.id and b.state in ARRIVING | ON_SITE]
    current = next((b for b in assigned if b.state in ON_SITE and _covers(b, ends, now)), None)
    return TechnicianRow(
        id=technician.id, name=technician.name, shifts=shifts,
        on_shift=any(start <= now < end for start, end in shifts), current=current, assigned=len(assigned),
    )
