"""The daemon's devices: start every configured source and turn what it reads into bookings' state.

Routing (DESIGN §6): a booking QR scanned at the entrance checks the car in; scanned at a bay
reader it also marks the car "in bay". A plate read checks a car in only on an exact match
with a booking expected now; a look-alike match is logged for the attendant to confirm at
the terminal. Occupancy, clock-ins and alarms are logged until the bay-state and roster
services that use them exist.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from drivers.events import CardPresented, CodeScanned, PlateRead
from drivers.registry import create_source
from edge.config import DeviceSettings
from edge.domain.booking_state import BookingState, Progress
from edge.domain.plates import match_plate, normalize_plate
from edge.domain.tokens import TokenRejected, verify_token
from edge.errors import BookingError, EdgeError
from edge.services import bookings
from edge.services.booking_store import query_bookings
from edge.services.station import Station
from edge.store.types import to_db_time

log = logging.getLogger(__name__)

# a car is expected from an hour before its start until it becomes a no-show
EARLY_ARRIVAL = timedelta(hours=1)


def route(station: Station, device: DeviceSettings, event: object) -> None:
    """Apply one device event to the store (runs in a worker thread: services block)."""
    try:
        if isinstance(event, CodeScanned):
            _scanned(station, device, event.code)
        elif isinstance(event, PlateRead):
            _plate(station, device, event.plate)
        elif isinstance(event, CardPresented):
            log.info("card presented device=%s card=%s", device.id, event.card_id)
        else:
            log.info("device event device=%s event=%r", device.id, event)
    except TokenRejected:
        pass  # verify_token has logged why, once
    except BookingError as err:
        log.warning("device event refused device=%s reason=%s", device.id, err)


def _scanned(station: Station, device: DeviceSettings, code: str) -> None:
    key = station.settings.security.token_key
    if key is None:
        log.warning("qr scan ignored device=%s reason=no [security] token_key configured", device.id)
        return
    booking_id = verify_token(code, station.settings.station.id, station.clock(), key.encode())
    booking = bookings.booking(station, booking_id)
    if booking.state in (BookingState.CONFIRMED, BookingState.HELD):
        booking = bookings.check_in(station, booking_id)
        log.info("checked in by qr device=%s booking=%s", device.id, booking.code)
    if device.role == "bay" and booking.state == BookingState.CHECKED_IN and booking.progress == Progress.RECEIVED:
        bookings.set_progress(station, booking_id, Progress.IN_BAY)
        log.info("in bay by qr device=%s bay=%s booking=%s", device.id, device.bay, booking.code)


def _plate(station: Station, device: DeviceSettings, read: str) -> None:
    now = station.clock()
    late = timedelta(minutes=station.settings.booking.no_show_minutes)
    with station.store.read() as conn:
        expected = query_bookings(
            conn, "start_at >= ? AND start_at <= ? AND state IN (?, ?)",
            (to_db_time(now - late), to_db_time(now + EARLY_ARRIVAL), BookingState.CONFIRMED, BookingState.HELD),
        )
    by_plate = {b.plate: b for b in expected}
    match = match_plate(read, list(by_plate))
    if match.kind == "exact":
        booking = bookings.check_in(station, by_plate[match.plate].id)
        log.info("checked in by plate device=%s plate=%s booking=%s", device.id, match.plate, booking.code)
    elif match.kind == "confirm":
        log.info("plate needs the attendant device=%s read=%s candidate=%s", device.id, read, match.plate)
    else:
        log.info("plate not expected device=%s read=%s", device.id, _shown(read))


def _shown(read: str) -> str:
    try:
        return normalize_plate(read)
    except EdgeError:
        return repr(read)


def build_sources(station: Station) -> list[tuple[DeviceSettings, object]]:
    """A source per configured device; a configuration mistake raises DriverError naming it."""
    return [(device, create_source(device.id, device.driver, device.options)) for device in station.settings.devices]


async def run_devices(station: Station, sources: list[tuple[DeviceSettings, object]], stop: asyncio.Event) -> None:
    """Open every source and route its events until `stop` is set."""
    for _device, source in sources:
        await source.open()
    tasks = [asyncio.create_task(_pump(station, device, source)) for device, source in sources]
    log.info("devices started count=%d", len(sources))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for _device, source in sources:
        await source.close()


async def _pump(station: Station, device: DeviceSettings, source) -> None:
    async for event in source.events():
        await asyncio.to_thread(route, station, device, event)
