"""What the board shows, read from the station in one worker call: bays, timeline, arrivals, alerts, roster, sync.

A bay's state is `out_of_service` when the catalogue says so; else what its occupancy sensor
last reported (free, occupied, or unknown when the sensor fell silent), as the daemon keeps
it in the live state; a bay without a sensor is `occupied` when a checked-in or in-service
booking's cells cover now (or the attendant has moved it into the bay and it is not done
yet), else `free`. Alerts are the attendant's to-do list: plates to confirm, late cars and
no-shows, silent or stuck sensors, devices down, a customer scanner back within the last
RECONNECTED_NOTICE (a scan made while it was away was lost: ask the customer to scan again),
and the daemon itself gone quiet (its devices' health not rewritten for DAEMON_SILENT_AFTER).
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
from edge.services.live_state import (
    CUSTOMER_SCANNERS, BayLive, DeviceHealth, PlatePrompt, bay_states, device_health, open_prompts,
    technicians_on_shift,
)
from edge.services.station import Station
from edge.services.sync_status import SyncStatus, sync_status
from edge.store.catalog import load_catalog

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
    sensed: bool = False  # the state is the occupancy sensor's, not derived from bookings
    stuck: bool = False  # the sensor has read the same value for too long


# the order alerts are listed in: what needs the attendant's hands first
ALERT_ORDER = ("prompt", "late", "daemon_down", "device_down", "reconnected", "stuck", "sensor_unknown", "no_show")
# the daemon rewrites its devices' health every few seconds: older than this, it is not running
DAEMON_SILENT_AFTER = timedelta(seconds=30)
# a customer who scanned while the scanner was away is still at the gate this long after it came back
RECONNECTED_NOTICE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # one of ALERT_ORDER
    subject: str  # the plate, bay or device it is about
    at: datetime | None  # the booking's start, the prompt's read, since when the bay or device is so
    minutes: int = 0  # how late (late)
    booking: BookingRecord | None = None  # late, no_show: Enter opens it
    prompt: PlatePrompt | None = None  # prompt: Enter opens check-in on it
    where: str = ""  # the bay of a booking, the device of a prompt


@dataclass(frozen=True, slots=True)
class Live:
    """The live state the daemon keeps, as read with the bookings."""

    bays: dict[str, BayLive]
    on_shift: dict[str, datetime]  # technician id -> clocked in at
    devices: tuple[DeviceHealth, ...]
    prompts: tuple[PlatePrompt, ...]
    sync: SyncStatus


@dataclass(frozen=True, slots=True)
class TechnicianRow:
    id: str
    name: str
    shifts: tuple[tuple[datetime, datetime], ...]
    on_shift: bool  # rostered now
    current: BookingRecord | None
    assigned: int  # live bookings today
    clocked_in_at: datetime | None = None  # at the station now, by their card (or by hand)


@dataclass(frozen=True, slots=True)
class SyncState:
    link: str  # online, offline, never (sync has not run on this station)
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
    prompts: tuple[PlatePrompt, ...] = ()


def load_board(station: Station) -> Board:
    """Read today's board (runs in a worker thread)."""
    station.catalog()  # warm the station's cache here, so the UI thread never reads it from the file
    now = station.clock()
    day = station.local(now).date()
    with station.store.read() as conn:  # one snapshot: bookings and live state agree with each other
        todays = tuple(bookings.bookings_on(station, day))
        # read afresh, not from the station's cache: another process may have taken a bay out of service
        catalog = load_catalog(conn)
        live = Live(
            bays=bay_states(station),
            on_shift={p.technician_id: p.clocked_in_at for p in technicians_on_shift(station)},
            devices=tuple(device_health(station)),
            prompts=tuple(open_prompts(station)),
            sync=sync_status(station),
        )
    return build_board(station, catalog, now, todays, live)


def build_board(station: Station, catalog: Catalog, now: datetime, todays: tuple[BookingRecord, ...],
                live: Live) -> Board:
    """The board from today's bookings and the live state at `now` (no I/O)."""
    day = station.local(now).date()
    grid = station.grid(day)
    todays = tuple(b for b in todays if not _lapsed(b, now))
    ends = {b.id: occupied_until(station, catalog, b) for b in todays}
    bays = tuple(_bay_row(bay, todays, ends, now, live.bays.get(bay.id)) for bay in catalog.bays.values())
    timeline = {bay.id: _cells(grid, [b for b in todays if b.bay_id == bay.id], ends) for bay in catalog.bays.values()}
    late_after = timedelta(minutes=station.settings.booking.late_alert_minutes)
    arrivals = tuple(b for b in todays if b.state in ARRIVING and now < b.start_at + late_after)
    technicians = tuple(_technician_row(station, t, day, todays, ends, now, live.on_shift.get(t.id))
                        for t in catalog.technicians.values())
    sync = SyncState(live.sync.link, live.sync.backlog,
                     None if live.sync.last_ack_at is None else max(timedelta(0), now - live.sync.last_ack_at))
    return Board(now=now, day=day, grid=grid, bays=bays, timeline=timeline, arrivals=arrivals,
                 alerts=_alerts(todays, bays, live, now, late_after), technicians=technicians, sync=sync,
                 bookings=todays, prompts=live.prompts)


def _alerts(todays: tuple[BookingRecord, ...], bays: tuple[BayRow, ...], live: Live, now: datetime,
            late_after: timedelta) -> tuple[Alert, ...]:
    alerts = [Alert("prompt", p.plate_read, p.created_at, prompt=p, where=p.device) for p in live.prompts]
    alerts += [Alert("late", b.plate, b.start_at, int((now - b.start_at).total_seconds() // 60), booking=b,
                     where=b.bay_id)
               for b in todays if b.state == BookingState.CONFIRMED and now >= b.start_at + late_after]
    alerts += [Alert("no_show", b.plate, b.start_at, booking=b, where=b.bay_id)
               for b in todays if b.state == BookingState.NO_SHOW]
    for row in bays:
        sensed = live.bays.get(row.bay.id)
        if row.state == "unknown":
            alerts.append(Alert("sensor_unknown", row.bay.id, sensed.since if sensed else None))
        if row.stuck:
            alerts.append(Alert("stuck", row.bay.id, sensed.since if sensed else None))
    heard = max((d.updated_at for d in live.devices if d.updated_at), default=None)
    if heard is not None and now - heard > DAEMON_SILENT_AFTER:
        # nobody reads the devices: what they last said is stale, and nothing new will come
        alerts.append(Alert("daemon_down", "station-edge run", heard))
    else:
        alerts += [Alert("device_down", d.device_id, d.last_event_at, where=d.last_error or "")
                   for d in live.devices if not d.connected]
        alerts += [Alert("reconnected", d.device_id, d.reconnected_at) for d in live.devices
                   if d.connected and d.driver in CUSTOMER_SCANNERS and d.reconnected_at is not None
                   and now - d.reconnected_at <= RECONNECTED_NOTICE]
    return tuple(sorted(alerts, key=lambda a: ALERT_ORDER.index(a.kind)))


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


def _bay_row(bay: Bay, todays: tuple[BookingRecord, ...], ends: dict[str, datetime], now: datetime,
             sensed: BayLive | None) -> BayRow:
    mine = [b for b in todays if b.bay_id == bay.id]
    current = next((b for b in mine if b.state in ON_SITE and (
        _covers(b, ends, now) or (b.progress in IN_BAY_STAGES and b.start_at <= now))), None)
    upcoming = next((b for b in mine if b.state in ARRIVING and ends[b.id] > now and b is not current), None)
    has_sensor = sensed is not None and sensed.source is not None
    if not bay.in_service:
        state = "out_of_service"
    elif has_sensor:
        state = sensed.occupancy
    elif current is not None:
        state = "occupied"
    else:
        state = "free"
    return BayRow(bay, state, current, upcoming, sensed=has_sensor, stuck=has_sensor and sensed.stuck)


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


def _technician_row(station: Station, technician, day: date, todays, ends, now: datetime,
                    clocked_in_at: datetime | None) -> TechnicianRow:
    shifts = station.shifts(technician, day)
    assigned = [b for b in todays if b.technician_id == technician.id and b.state in ARRIVING | ON_SITE]
    current = next((b for b in assigned if b.state in ON_SITE and _covers(b, ends, now)), None)
    return TechnicianRow(
        id=technician.id, name=technician.name, shifts=shifts,
        on_shift=any(start <= now < end for start, end in shifts), current=current, assigned=len(assigned),
        clocked_in_at=clocked_in_at,
    )
