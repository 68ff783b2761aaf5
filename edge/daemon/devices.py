"""The daemon's devices: start every configured source and turn what it reads into the station's state.

Routing (docs/devices-and-daemon.md):
- a booking QR or a plate read is an arrival: edge.services.arrivals decides which booking
  it is and checks it in (a QR at a bay reader also moves it in bay), opens an attendant
  prompt for a look-alike plate, or refuses it with a reason, which is logged and counted;
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

from drivers.base import Source
from drivers.events import BayOccupancy, CardPresented, CodeScanned, DeviceAlarm, PlateRead
from drivers.log_limit import RateLimitedLog
from drivers.registry import create_source
from edge.config import DeviceSettings
from edge.daemon.printer import find_printer, run_printer
from edge.errors import BookingError, EdgeError
from edge.services import arrivals, bay_now, live_state
from edge.services.station import Station

log = logging.getLogger(__name__)

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
        # a flapping sensor disagreeing with the bookings warns once, then a count a minute
        self._disagreement_log = RateLimitedLog(log, "sensor readings disagreeing with the bookings", clock=clock)

    def route(self, device: DeviceSettings, event: object) -> None:
        try:
            if isinstance(event, CodeScanned | PlateRead):
                self._arrive(device, event)
            elif not self._apply(device, event):
                self._refused(device, "refused")
        except BookingError as err:
            self._refused(device, "booking_refused")
            self._refusal_log.occurred(device.id, "booking_refused", "device event refused device=%s reason=%s",
                                       device.id, err)
        except Exception:  # a store hiccup or a bug must not stop this device's events: log, carry on
            self._refused(device, "failed")
            self._refusal_log.occurred(device.id, "failed", "device event failed device=%s event=%r",
                                       device.id, event, exc_info=True)

    def flush_log(self) -> None:
        """Write the per-minute counts of refused events and disagreeing readings that are due."""
        self._refusal_log.flush()
        self._disagreement_log.flush()

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

    def _arrive(self, device: DeviceSettings, event: CodeScanned | PlateRead) -> None:
        """A QR or a plate: the arrival service decides; a refusal is counted and logged by its reason."""
        station = self.station
        if isinstance(event, CodeScanned):
            by, outcome = "qr", arrivals.arrive(station, event.code, by=arrivals.By.QR, now=station.clock(),
                                                bay=device.bay if device.role == "bay" else None)
        else:
            by, outcome = "plate", arrivals.arrive(station, event.plate, by=arrivals.By.PLATE, now=station.clock(),
                                                   device=device.id, confidence=event.confidence)
        if isinstance(outcome, arrivals.Refused):
            self._refused(device, str(outcome.reason))
            self._refusal_log.occurred(device.id, outcome.reason, "arrival refused by %s device=%s reason=%s "
                                       "booking=%s detail=%s", by, device.id, outcome.reason,
                                       outcome.booking.code if outcome.booking else "-", outcome.message)
        else:
            _shown(device, by, outcome)

    def _report_bay(self, device: DeviceSettings, bay_id: str) -> None:
        """One line on what the bay now holds, by the board's model; a warning, rate-limited, when the
        sensor and the bookings disagree."""
        bay = next(b for b in bay_now.bays_now(self.station) if b.bay_id == bay_id)
        args = (bay.bay_id, bay.state, bay.sensor, bay.in_bay.code if bay.in_bay else "-",
                ",".join(b.code for b in bay.waiting) or "-")
        if bay.disagreement is None:
            log.info("bay state bay=%s state=%s sensor=%s in_bay=%s waiting=%s", *args)
        else:
            self._disagreement_log.occurred(
                device.id, f"{bay.disagreement} bay={bay.bay_id}",
                "bay state bay=%s state=%s sensor=%s in_bay=%s waiting=%s disagreement=%s", *args, bay.disagreement)

    def _apply(self, device: DeviceSettings, event: object) -> bool:
        """True when the station accepted the event (acted on it, or had nothing to do)."""
        station, now = self.station, self.station.clock()
        if isinstance(event, BayOccupancy):
            live_state.record_occupancy(station, event.bay, event.state, source=device.id, now=now)
            self._report_bay(device, event.bay)
            return True
        if isinstance(event, DeviceAlarm) and event.alarm == "stuck" and event.bay is not None:
            live_state.record_stuck(station, event.bay, event.active, source=device.id, now=now)
            return True
        if isinstance(event, CardPresented):
            return live_state.clock_card(station, event.card_id, now=now, device=device.id) is not None
        log.info("device event not routed device=%s event=%r", device.id, event)
        return True


def _shown(device: DeviceSettings, by: str, outcome: arrivals.Outcome) -> None:
    """Log an arrival the station accepted."""
    match outcome:
        case arrivals.CheckedIn(booking=booking, not_in_bay=not_in_bay):
            log.info("checked in by %s device=%s booking=%s", by, device.id, booking.code)
            if not_in_bay is not None:
                log.warning("not in bay device=%s reason=%s detail=%s", device.id, not_in_bay.reason,
                            not_in_bay.message)
        case arrivals.MovedInBay(booking=booking, checked_in=checked_in):
            log.info("in bay by %s device=%s bay=%s booking=%s checked_in=%s", by, device.id, booking.bay_id,
                     booking.code, checked_in)
        case arrivals.Prompt(read=read, candidates=candidates):
            log.info("plate to confirm device=%s read=%s candidates=%s", device.id, read,
                     ",".join(c.booking.code for c in candidates))
        case arrivals.NoMatch(read=read):
            log.info("plate not expected device=%s read=%s", device.id, read)




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
            rejects_by_reason=dict(sorted(reasons.items())), reconnected_at=back_at, condition=health.condition,
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
    printer = find_printer(devices)
    if printer is not None:
        tasks.append(asyncio.create_task(run_printer(station, *printer)))
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
        state = [(row.connected, row.last_error, row.reconnected_at, row.condition) for row in rows]
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
