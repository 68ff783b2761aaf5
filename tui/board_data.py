"""What the board shows, read from the station in one worker call: bays, timeline, arrivals, alerts, roster, sync.

What is in each bay is edge.services.bay_now's model: the booking in the bay (or waiting for
it), the sensor's reading, and their disagreement; a bay is never called free with a car in
it. Alerts are the attendant's to-do list: plates to confirm, late cars and no-shows, a
sensor and the bookings disagreeing, silent or stuck sensors, devices down, the receipt
printer offline or out of paper, a customer
scanner back within the last RECONNECTED_NOTICE (a scan made while it was away was lost:
ask the customer to scan again), and the daemon itself gone quiet (its devices' health not rewritten for DAEMON_SILENT_AFTER).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from edge.domain.booking_state import BookingState
from edge.domain.catalog import Bay, Catalog
from edge.domain.slots import Cell
from edge.services import bookings, inventory
from edge.services.bay_now import CAR_NOT_BOOKED, CAR_NOT_SENSED, BayNow, bays_from, on_site_bookings
from edge.services.booking_store import BookingRecord, LegRecord
from edge.services.live_state import (
    CUSTOMER_SCANNERS, BayLive, DeviceHealth, PlatePrompt, bay_states, device_health, open_prompts,
    technicians_on_shift,
)
from edge.services.one_car_per_bay import ON_SITE, is_in_bay
from edge.services.printing import PAPER_OUT, PRINTER_DRIVER
from edge.services.station import Station
from edge.services.sync_status import SyncStatus, sync_status
from edge.store.catalog import load_catalog
from edge.store.inventory import MaterialRecord

ARRIVING = frozenset({BookingState.HELD, BookingState.CONFIRMED, BookingState.PENDING_APPROVAL,
                      BookingState.TENTATIVE})
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
    inside: BayNow  # what is in the bay: its booking, its sensor, their disagreement
    next: BookingRecord | None  # the next booking due in the bay today

    @property
    def state(self) -> str:
        """free, occupied, unknown or out_of_service (never free with a car in it)."""
        return self.inside.state

    @property
    def current(self) -> BookingRecord | None:
        """The booking whose car is in the bay."""
        return self.inside.in_bay

    @property
    def sensed(self) -> bool:
        return self.inside.sensor != "none"

    @property
    def stuck(self) -> bool:
        return self.inside.sensor == "stuck"


# the order alerts are listed in: what needs the attendant's hands first
ALERT_ORDER = ("prompt", "late", CAR_NOT_SENSED, CAR_NOT_BOOKED, "daemon_down", "device_down", "printer_offline",
               "paper_out", "reconnected", "stuck", "sensor_unknown", "no_show", "low_stock")
# the daemon rewrites its devices' health every few seconds: older than this, it is not running
DAEMON_SILENT_AFTER = timedelta(seconds=30)
# a customer who scanned while the scanner was away is still at the gate this long after it came back
RECONNECTED_NOTICE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Alert:
    kind: str  # one of ALERT_ORDER
    subject: str  # the plate, bay, device or material (SKU) it is about
    at: datetime | None  # the booking's start, the prompt's read, since when the bay or device is so
    minutes: int = 0  # how late (late)
    booking: BookingRecord | None = None  # late, no_show: Enter opens it
    prompt: PlatePrompt | None = None  # prompt: Enter opens check-in on it
    where: str = ""  # the bay of a booking, the device of a prompt, what is left of a material


@dataclass(frozen=True, slots=True)
class Live:
    """The live state the daemon keeps, as read with the bookings."""

    bays: dict[str, BayLive]
    on_site: tuple[BookingRecord, ...]  # in a bay (any day), checked in and waiting, or completed moments ago
    on_shift: dict[str, datetime]  # technician id -> clocked in at
    devices: tuple[DeviceHealth, ...]
    prompts: tuple[PlatePrompt, ...]
    sync: SyncStatus
    low_stock: tuple[MaterialRecord, ...] = ()  # materials at or below their reorder level


@dataclass(frozen=True, slots=True)
class TechnicianRow:
    id: str
    name: str
    shifts: tuple[tuple[datetime, datetime], ...]
    on_shift: bool  # rostered now
    current: BookingRecord | None
    assigned: int  # legs of live bookings today still ahead of their car (a booking's two legs count two)
    clocked_in_at: datetime | None = None  # at the station now, by their card (or by hand)


@dataclass(frozen=True, slots=True)
class SyncState:
    link: str  # online, hq_silent, stalled, offline, never (sync has not run yet), off (sync disabled)
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
    routes: dict[str, str] = field(default_factory=dict)  # booking id -> its bays in leg order, e.g. "L1›W1"

    def bays_of(self, booking: BookingRecord) -> str:
        """Where the booking's car goes: its bay, or its bays in leg order for work in legs."""
        return self.routes.get(booking.id, booking.bay_id)


def load_board(station: Station) -> Board:
    """Read today's board (runs in a worker thread)."""
    station.catalog()  # warm the station's cache here, so the UI thread never reads it from the file
    now = station.clock()
    day = station.local(now).date()
    with station.store.read() as conn:  # one snapshot: bookings and live state agree with each other
        todays = tuple(bookings.bookings_on(station, day))
        legs = bookings.legs_on(station, day)
        # read afresh, not from the station's cache: another process may have taken a bay out of service
        catalog = load_catalog(conn)
        live = Live(
            bays=bay_states(station),
            on_site=tuple(on_site_bookings(conn, now)),
            on_shift={p.technician_id: p.clocked_in_at for p in technicians_on_shift(station)},
            devices=tuple(device_health(station)),
            prompts=tuple(open_prompts(station)),
            sync=sync_status(station),
            low_stock=tuple(m for m in inventory.stock(station) if m.is_low),
        )
    return build_board(station, catalog, now, todays, legs, live)


@dataclass(frozen=True, slots=True)
class LegSpan:
    """One leg of a booking on the timeline: its bay's cells from `start` until `until`."""

    booking: BookingRecord
    seq: int
    bay_id: str
    technician_id: str | None
    start: datetime
    until: datetime

    @property
    def kind(self) -> str | None:
        """What its cells show: a leg the car has finished is done, the others as their booking."""
        if self.seq < self.booking.leg:
            return "done"
        return CELL_KIND.get(self.booking.state)


def build_board(station: Station, catalog: Catalog, now: datetime, todays: tuple[BookingRecord, ...],
                legs: dict[str, tuple[LegRecord, ...]], live: Live) -> Board:
    """The board from today's bookings, their legs and the live state at `now` (no I/O)."""
    day = station.local(now).date()
    grid = station.grid(day)
    todays = tuple(b for b in todays if not _lapsed(b, now))
    spans = [LegSpan(b, leg.seq, leg.bay_id, leg.technician_id, leg.start_at,
                     bookings.leg_occupied_until(station, catalog, leg))
             for b in todays for leg in legs.get(b.id, ())]
    bays = tuple(BayRow(catalog.bays[row.bay_id], row, _next(row.bay_id, spans, now))
                 for row in bays_from(catalog, live.bays, live.on_site, now))
    timeline = {bay.id: _cells(grid, [span for span in spans if span.bay_id == bay.id])
                for bay in catalog.bays.values()}
    late_after = timedelta(minutes=station.settings.booking.late_alert_minutes)
    arrivals = tuple(b for b in todays if b.state in ARRIVING and now < b.start_at + late_after)
    technicians = tuple(_technician_row(station, t, day, spans, now, live.on_shift.get(t.id))
                        for t in catalog.technicians.values())
    sync = SyncState(_link(station, live.sync.link), live.sync.backlog,
                     None if live.sync.last_ack_at is None else max(timedelta(0), now - live.sync.last_ack_at))
    return Board(now=now, day=day, grid=grid, bays=bays, timeline=timeline, arrivals=arrivals,
                 alerts=_alerts(todays, bays, live, now, late_after), technicians=technicians, sync=sync,
                 bookings=todays, prompts=live.prompts,
                 routes={b.id: "›".join(leg.bay_id for leg in legs[b.id])
                         for b in todays if len(legs.get(b.id, ())) > 1})


def _alerts(todays: tuple[BookingRecord, ...], bays: tuple[BayRow, ...], live: Live, now: datetime,
            late_after: timedelta) -> tuple[Alert, ...]:
    alerts = [Alert("prompt", p.plate_read, p.created_at, prompt=p, where=p.device) for p in live.prompts]
    alerts += [Alert("late", b.plate, b.start_at, int((now - b.start_at).total_seconds() // 60), booking=b,
                     where=b.bay_id)
               for b in todays if b.state == BookingState.CONFIRMED and now >= b.start_at + late_after]
    alerts += [Alert("no_show", b.plate, b.start_at, booking=b, where=b.bay_id)
               for b in todays if b.state == BookingState.NO_SHOW]
    for row in bays:
        inside = row.inside
        if inside.disagreement is not None:
            alerts.append(Alert(inside.disagreement, row.bay.id, inside.sensor_since, booking=inside.in_bay,
                                where=inside.in_bay.plate if inside.in_bay else ""))
        if inside.sensor == "unknown":
            alerts.append(Alert("sensor_unknown", row.bay.id, inside.sensor_since))
        if inside.sensor == "stuck":
            alerts.append(Alert("stuck", row.bay.id, inside.sensor_since))
    heard = max((d.updated_at for d in live.devices if d.updated_at), default=None)
    if heard is not None and now - heard > DAEMON_SILENT_AFTER:
        # nobody reads the devices: what they last said is stale, and nothing new will come
        alerts.append(Alert("daemon_down", "station-edge run", heard))
    else:
        alerts += [Alert("printer_offline" if d.driver == PRINTER_DRIVER else "device_down", d.device_id,
                         d.last_event_at, where=d.last_error or "")
                   for d in live.devices if not d.connected]
        alerts += [Alert("paper_out", d.device_id, None) for d in live.devices
                   if d.connected and d.condition == PAPER_OUT]
        alerts += [Alert("reconnected", d.device_id, d.reconnected_at) for d in live.devices
                   if d.connected and d.driver in CUSTOMER_SCANNERS and d.reconnected_at is not None
                   and now - d.reconnected_at <= RECONNECTED_NOTICE]
    alerts += [Alert("low_stock", m.sku, m.low_since, where=f"{m.on_hand} {m.unit}") for m in live.low_stock]
    return tuple(sorted(alerts, key=lambda a: ALERT_ORDER.index(a.kind)))


def _lapsed(booking: BookingRecord, now: datetime) -> bool:
    """A hold past its deadline: expired in all but name until the daemon's sweep writes it so."""
    return booking.state == BookingState.HELD and booking.hold_until is not None and booking.hold_until <= now


def _next(bay_id: str, spans: list[LegSpan], now: datetime) -> BookingRecord | None:
    """The next booking due in the bay today: a leg of its on the bay, its car not yet there or
    still on an earlier leg."""
    return next((span.booking for span in sorted(spans, key=lambda s: s.start)
                 if span.bay_id == bay_id and span.until > now and (
                     span.booking.state in ARRIVING or (span.booking.state in ON_SITE and span.seq > span.booking.leg))),
                None)


def _link(station: Station, link: str) -> str:
    """The link as the station's config has it: `off` when sync is disabled, or absent and never run."""
    sync = station.settings.sync
    if (sync is not None and not sync.enabled) or (sync is None and link == "never"):
        return "off"
    return link


def _cells(grid: tuple[Cell, ...], mine: list[LegSpan]) -> tuple[str, ...]:
    kinds = []
    for cell in grid:
        kind = "free"
        for span in mine:
            if span.kind is not None and span.start <= cell.start < span.until:
                kind = span.kind
                break
        kinds.append(kind)
    return tuple(kinds)


def _technician_row(station: Station, technician, day: date, spans: list[LegSpan], now: datetime,
                    clocked_in_at: datetime | None) -> TechnicianRow:
    shifts = station.shifts(technician, day)
    assigned = [span for span in spans if span.technician_id == technician.id
                and span.seq >= span.booking.leg and span.booking.state in ARRIVING | ON_SITE]
    current = next((span.booking for span in assigned if span.seq == span.booking.leg and is_in_bay(span.booking)),
                   None)
    return TechnicianRow(
        id=technician.id, name=technician.name, shifts=shifts,
        on_shift=any(start <= now < end for start, end in shifts), current=current, assigned=len(assigned),
        clocked_in_at=clocked_in_at,
    )
