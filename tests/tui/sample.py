"""A busy morning at the test station, for the UI tests and the README picture (codes are fixed).

Bookings of every kind, and the live state the daemon would have written by 10:10: the bay
sensors (one stuck, one silent), the technicians' cards, a device down, a plate the gate
camera could not place, and the link to HQ.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from edge.services import bookings, live_state, members
from edge.services.live_state import DeviceHealth, PromptCandidate
from edge.services.station import Station
from edge.store.types import to_db_time
from tests.stations import NOW, make_station

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Monday 2026-11-23 10:10 in Shanghai: the board's frozen "now" in the sample
BOARD_NOW = datetime(2026, 11, 23, 2, 10, tzinfo=UTC)


def local(hour: int, minute: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=SHANGHAI)


def fixed_codes(monkeypatch) -> None:
    """Booking codes in creation order (BK0001, BK0002, ...) so screenshots do not change."""
    counter = itertools.count(1)
    monkeypatch.setattr("edge.services.booking_store.short_code", lambda: f"BK{next(counter):04d}")


def busy_morning(station: Station) -> None:
    """Bookings of every kind on Monday, made as if at 07:00 and moved on until 10:10."""
    early = NOW
    members.enroll(station, phone="13800138000", name="张伟", tier="gold", plates=("沪F33333",), now=early)
    book = lambda start, services, plate, bay, **kw: bookings.book(  # noqa: E731
        station, services=services, start=start, plate=plate, bay_id=bay, now=early, **kw)
    done = book(local(8, 30), ["WASH"], "沪G44444", "W1")
    gone = book(local(8), ["WASH"], "沪D11111", "W1")
    lift = book(local(9, 30), ["OIL"], "沪B66666", "L1")
    late = book(local(9, 30), ["TYRE"], "沪C88888", "L2")
    wash = book(local(10), ["WASH"], "沪A12345", "W1")
    book(local(14), ["WASH"], "沪F33333", "W1", phone="13800138000", channel="phone")
    book(local(15), ["OIL"], "粤B8G3N7", "L2")
    at = lambda h, m: local(h, m).astimezone(UTC)  # noqa: E731
    bookings.check_in(station, done.code, now=at(8, 25))
    bookings.set_progress(station, done.code, "in_service", now=at(8, 31))
    bookings.set_progress(station, done.code, "quality_check", now=at(8, 50))
    bookings.set_progress(station, done.code, "done", now=at(8, 55))
    bookings.mark_no_show(station, gone.code, now=at(8, 40))
    bookings.check_in(station, lift.code, now=at(9, 25))
    bookings.set_progress(station, lift.code, "in_bay", now=at(9, 30))
    bookings.set_progress(station, lift.code, "in_service", now=at(9, 35))
    bookings.check_in(station, wash.code, now=at(10, 5))
    bookings.book(station, services=["TYRE"], start=local(11), plate="沪E22222", bay_id="L1", hold=True,
                  now=at(10, 5))
    live_morning(station, late, at)
    station.clock = lambda: BOARD_NOW


def live_morning(station: Station, late, at) -> None:
    """What the daemon's devices reported this morning, written through the live-state services."""
    with station.store.write() as conn:  # the test roster has no staff cards: give Wang and Li theirs
        conn.execute("UPDATE technician SET card_id = 'CARD-' || id")
    live_state.clock_card(station, "CARD-T1", now=at(7, 55), device="staff-reader")
    live_state.record_occupancy(station, "L1", "occupied", source="bay-sensors", now=at(9, 31))
    live_state.record_stuck(station, "L1", True, source="bay-sensors", now=at(10, 1))
    live_state.record_occupancy(station, "W1", "occupied", source="bay-sensors", now=at(10, 6))
    live_state.record_occupancy(station, "L2", "free", source="bay-sensors", now=at(8, 0))
    live_state.record_occupancy(station, "L2", "unknown", source="bay-sensors", now=at(10, 2))
    live_state.record_device_health(station, [
        DeviceHealth("gate-anpr", "anpr", "entrance", True, at(10, 9), None, 41, 0),
        DeviceHealth("lift2-qr", "qr_serial", "bay", False, at(9, 52), "serial port vanished", 6, 1),
    ], now=at(10, 10))  # the daemon rewrites them every few seconds: just now
    live_state.create_plate_prompt(station, "沪C8B888", 0.71, "gate-anpr",
                                   [PromptCandidate(late.id, late.code, late.plate, 0.5)], now=at(10, 9))
    with station.store.write() as conn:  # the sync client's mark: online, HQ acknowledged two minutes ago
        conn.execute("INSERT INTO sync_link (id, state, changed_at, seen_at, last_ack_at, last_error)"
                      " VALUES (1, 'online', ?, ?, ?, '')", (to_db_time(at(7, 0)), to_db_time(at(10, 10)),
                                                             to_db_time(at(10, 8))))


def sample_station(tmp_path: Path, monkeypatch) -> Station:
    fixed_codes(monkeypatch)
    station = make_station(tmp_path)
    busy_morning(station)
    return station


def after(minutes: int) -> datetime:
    return BOARD_NOW + timedelta(minutes=minutes)
