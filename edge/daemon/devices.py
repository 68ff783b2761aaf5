"""The daemon's devices: start every configured source and turn what it reads into the station's state.

Routing (docs/devices-and-daemon.md):
- a booking QR scanned at the entrance checks the car in; scanned at a bay reader it also
  marks the car "in bay"; a forged, copied or expired token is refused and logged;
- a plate read checks a car in only on an exact match with a booking expected now; a
  look-alike opens an attendant prompt listing the plausible bookings (never a check-in);
- a bay sensor's occupancy becomes the bay's live state (and moves the booking on that bay
  to "in bay"); a stuck-sensor alarm is kept on the bay;
- a technician's card clocks them in or out, which changes today's live capacity.
Every device's health (from its driver, plus the events the station refused, by reason) is
written to the store every HEALTH_INTERVAL seconds, and at once when a device connects,
drops or comes back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from drivers.base import Source
from drivers.events import BayOccupancy, CardPresented, CodeScanned, DeviceAlarm, PlateRead
from drivers.log_limit import RateLimitedLog
from drivers.registry import create_source
from edge.config import DeviceSettings
from edge.domain.booking_state import BookingState, Progress
from edge.domain.plates import match_plate, normalize_plate, plate_distance
from edge.domain.tokens import TokenRejected, verify_token
from edge.errors import BookingError, EdgeError
from edge.services import bookings, live_state
from edge.services.booking_store import BookingRecord, query_bookings
from edge.services.station import Station
from edge.store.types import to_db_time

log = logging.getLogger(__name__)

# a car is expected from an hour before its start until it becomes a no-show
EARLY_ARRIVAL = timedelta(hours=1)
PLAUSIBLE_DISTANCE = 1.0  # confusion-weighted distance within which a booked plate is worth asking about
MAX_CANDIDATES = 3
HEALTH_INTERVAL = 5.0  # seconds between two writes of unchanged device health
HEALTH_POLL = 0.5  # seconds between two looks for a change worth writing at once


@dataclass
class Device:
    """A configured device and its source."""

    settings: DeviceSettings
    source: Source
    # an earlier run of the daemon read this device: its first connection now is a return, and
    # what it read while the daemon was down is lost
    resumed: bool = False


class Router:
    """Applies device events to the store; call `route` from a worker thread (services block).

    An event the station refuses is counted by device and reason (`refused`, shown in the
    device's health); its log line is written the first time, then summed up once a minute.
    """

    def __init__(self, station: Station, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.station = station
        self.refused_by_reason: Counter[tuple[str, str]] = Counter()  # (device, reason) -> events
        self._refusal_log = RateLimitedLog(log, "device events refused", clock=clock)

    def route(self, device: DeviceSettings, event: object) -> None:
        try:
            if not self._apply(device, event):
                self._refused(device, "refused")
        except TokenRejected as err:
            reason = f"token_{err.reason}"
            self._refused(device, reason)
            self._refusal_log.occurred(device.id, reason, "booking token rejected reason=%s booking=%s device=%s "
                                       "detail=%s", err.reason, err.booking_id or "-", device.id, err)
        except BookingError as err:
            self._refused(device, "booking_refused")
            self._refusal_log.occurred(device.id, "booking_refused", "device event refused device=%s reason=%s",
                                       device.id, err)
        except Exception:  # a store hiccup or a bug must not stop this device's events: log, carry on
            self._refused(device, "failed")
            self._refusal_log.occurred(device.id, "failed", "device event failed device=%s event=%r",
                                       device.id, event, exc_info=True)

    def flush_log(self) -> None:
        """Write the per-minute counts of refused events that are due."""
        self._refusal_log.flush()

    def _refused(self, device: DeviceSettings, reason: str) -> None:
        self.refused_by_reason[device.id, reason] += 1

    @property
    def refused(self) -> Counter[str]:
        """Refused events by device."""
        totals: Counter[str] = Counter()
        for (device, _), n in self.refused_by_reason.items():
            totals[device] += n
        return totals

    def reasons(self, device_id: str) -> dict[str, int]:
        """Refused events of one device by reason."""
        return {reason: n for (device, reason), n in self.refused_by_reason.items() if device == device_id}

    def _apply(self, device: DeviceSettings, event: object) -> bool:
        """True when the station accepted the event (acted on it, or had nothing to do)."""
        station, now = self.station, self.station.clock()
        if isinstance(event, CodeScanned):
            return _scanned(station, device, event.code)
        if isinstance(event, PlateRead):
            _plate(station, device, event)
            return True
        if isinstance(event, BayOccupancy):
            live_state.record_occupancy(station, event.bay, event.state, source=device.id, now=now)
            return True
        if isinstance(event, DeviceAlarm) and event.alarm == "stuck" and event.bay is not None:
            live_state.record_stuck(station, event.bay, event.active, source=device.id, now=now)
            return True
        if isinstance(event, CardPresented):
            return live_state.clock_card(station, event.card_id, now=now, device=device.id) is not None
        log.info("device event not routed device=%s event=%r", device.id, event)
        return True


def _scanned(station: Station, device: DeviceSettings, code: str) -> bool:
    key = station.settings.security.token_key
    if key is None:
        log.warning("qr scan ignored device=%s reason=no [security] token_key configured", device.id)
        return False
    booking_id = verify_token(code, station.settings.station.id, station.clock(), key.encode())
    booking = bookings.booking(station, booking_id)
    if booking.state in (BookingState.CONFIRMED, BookingState.HELD):
        booking = bookings.check_in(station, booking_id)
        log.info("checked in by qr device=%s booking=%s", device.id, booking.code)
    if device.role != "bay" or booking.state != BookingState.CHECKED_IN or booking.progress != Progress.RECEIVED:
        return True
    if booking.bay_id != device.bay:
        # the car is at the station but in the wrong bay: the attendant sorts that out
        log.warning("qr scan at the wrong bay device=%s bay=%s booking=%s booked_bay=%s",
                    device.id, device.bay, booking.code, booking.bay_id)
    else:
        bookings.set_progress(station, booking_id, Progress.IN_BAY)
        log.info("in bay by qr device=%s bay=%s booking=%s", device.id, device.bay, booking.code)
    return True


def expected_arrivals(station: Station) -> list[BookingRecord]:
    """Bookings whose car may turn up now: from an hour before their start until they become no-shows."""
    now = station.clock()
    late = timedelta(minutes=station.settings.booking.no_show_minutes)
    with station.store.read() as conn:
        return query_bookings(
            conn, "start_at >= ? AND start_at <= ? AND state IN (?, ?)",
            (to_db_time(now - late), to_db_time(now + EARLY_ARRIVAL), BookingState.CONFIRMED, BookingState.HELD),
        )


def _plate(station: Station, device: DeviceSettings, event: PlateRead) -> None:
    expected = expected_arrivals(station)
    by_plate = {b.plate: b for b in expected}
    match = match_plate(event.plate, list(by_plate))
    if match.kind == "exact":
        booking = bookings.check_in(station, by_plate[match.plate].id)
        log.info("checked in by plate device=%s plate=%s booking=%s", device.id, match.plate, booking.code)
        return
    candidates = _plausible(match.read, expected) if match.read else []
    if not candidates:
        log.info("plate not expected device=%s read=%s", device.id, _shown(event.plate))
        return
    live_state.create_plate_prompt(station, match.read, event.confidence, device.id, candidates, now=station.clock())


def _plausible(read: str, expected: list[BookingRecord]) -> list[live_state.PromptCandidate]:
    """The expected bookings whose plate is within PLAUSIBLE_DISTANCE of the read, closest first."""
    scored = []
    for booking in expected:
        try:
            distance = plate_distance(read, normalize_plate(booking.plate))
        except EdgeError:
            continue
        if distance <= PLAUSIBLE_DISTANCE:
            scored.append(live_state.PromptCandidate(booking.id, booking.code, booking.plate, round(distance, 3)))
    scored.sort(key=lambda c: (c.distance, c.plate, c.code))
    return scored[:MAX_CANDIDATES]


def _shown(read: str) -> str:
    try:
        return normalize_plate(read)
    except EdgeError:
        return repr(read)


# -- running the sources ----------------------------------------------------------------


def build_sources(station: Station) -> list[Device]:
    """A source per configured device; a configuration mistake raises DriverError naming it."""
    return [Device(device, create_source(device.id, device.driver, device.options)) for device in station.settings.devices]


def health_rows(devices: list[Device], router: Router) -> list[live_state.DeviceHealth]:
    rows = []
    for device in devices:
        health = device.source.health()
        reasons = Counter(health.rejects_by_reason) + Counter(router.reasons(device.settings.id))
        back_at = health.reconnected_at or (health.connected_since if device.resumed else None)
        rows.append(live_state.DeviceHealth(
            device_id=device.settings.id, driver=device.settings.driver, role=device.settings.role,
            connected=health.connected, last_event_at=health.last_event_at, last_error=health.last_error,
            accepted=health.accepted, rejected=health.rejected + router.refused[device.settings.id],
            rejects_by_reason=dict(sorted(reasons.items())), reconnected_at=back_at,
        ))
    return rows


async def run_devices(station: Station, devices: list[Device], stop: asyncio.Event) -> None:
    """Open every source, route its events and keep its health written, until `stop` is set."""
    router = Router(station)
    known = {health.device_id for health in await asyncio.to_thread(live_state.device_health, station)}
    for device in devices:
        device.resumed = device.settings.id in known
        await device.source.open()
    tasks = [asyncio.create_task(_pump(router, device)) for device in devices]
    if devices:
        tasks.append(asyncio.create_task(_write_health(station, devices, router)))
    log.info("devices started count=%d", len(devices))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for device in devices:
        await device.source.close()
    if devices:  # the last word: every device disconnected
        await asyncio.to_thread(_store_health, station, health_rows(devices, router))


async def _pump(router: Router, device: Device) -> None:
    async for event in device.source.events():
        await asyncio.to_thread(router.route, device.settings, event)


async def _write_health(station: Station, devices: list[Device], router: Router) -> None:
    loop = asyncio.get_running_loop()
    written_at, written = float("-inf"), None
    while True:
        rows = health_rows(devices, router)
        state = [(row.connected, row.last_error, row.reconnected_at) for row in rows]
        if state != written or loop.time() - written_at >= HEALTH_INTERVAL:
            await asyncio.to_thread(_store_health, station, rows)
            written_at, written = loop.time(), state
        router.flush_log()
        await asyncio.sleep(HEALTH_POLL)


def _store_health(station: Station, rows: list[live_state.DeviceHealth]) -> None:
    try:
        live_state.record_device_health(station, rows, now=station.clock())
    except EdgeError as err:  # a busy or failing store must not stop the devices: next time
        log.warning("device health not written error=%s", err)
