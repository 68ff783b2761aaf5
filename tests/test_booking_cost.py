"""A booking's work in SQLite must not grow with the station's history.

Counted in SQLite virtual-machine steps (a progress handler called every N instructions),
not in seconds: the count is the same on a loaded or an idle machine. Claims written
before their booking row used to leave deferred foreign-key checks open, and SQLite then
scanned every slot claim of the station's history when the booking row arrived.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from edge.domain.ids import uuid7
from edge.services import bookings
from edge.store.types import to_db_time
from tests.stations import NOW

STEP = 1  # the progress handler runs on every virtual-machine instruction


def booking_steps(station, start: datetime, plate: str, bay: str, service: str) -> int:
    conn = station.store._connection()
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0  # 0 = go on

    conn.set_progress_handler(tick, STEP)
    try:
        bookings.book(station, services=[service], start=start, plate=plate, bay_id=bay)
    finally:
        conn.set_progress_handler(None, STEP)
    return ticks * STEP


def add_history(station, count: int) -> None:
    """`count` completed past bookings on W1 with their slot claims, written directly."""
    first = NOW - timedelta(days=800)
    with station.store.write() as conn:
        for i in range(count):
            start = first + timedelta(minutes=30 * i)
            booking_id = uuid7()
            conn.execute(
                "INSERT INTO booking (id, code, plate, channel, state, bay_id, start_at, end_at, services,"
                " price_minor, currency, price_version, notes, reason, version, created_at, updated_at)"
                " VALUES (?, ?, ?, 'phone', 'completed', 'W1', ?, ?, '[\"WASH\"]', 3000, 'CNY', 'v', '', '', 3, ?, ?)",
                (booking_id, f"H{i:07d}", f"沪H{i:05d}", to_db_time(start), to_db_time(start + timedelta(minutes=30)),
                 to_db_time(start), to_db_time(start)),
            )
            conn.execute("INSERT INTO slot_claim (bay_id, slot_start, booking_id) VALUES ('W1', ?, ?)",
                         (to_db_time(start), booking_id))


def test_a_booking_costs_the_same_with_a_long_history(station):
    tomorrow_9 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
    fresh = booking_steps(station, tomorrow_9, "沪A00001", "W1", "WASH")
    add_history(station, 20_000)
    later = booking_steps(station, tomorrow_9 + timedelta(hours=1), "沪A00002", "W1", "WASH")
    # a scan of 20,000 claims would cost hundreds of thousands of steps; B-tree descents
    # one level deeper cost a few hundred
    assert later < fresh * 1.5, (fresh, later)
    assert fresh > 100  # the handler did count
