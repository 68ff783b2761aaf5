"""The database locked by another process for a moment: the UI keeps answering, and what it was asked is done after."""

from __future__ import annotations

import sqlite3
import threading

from edge.domain.booking_state import BookingState
from edge.services import bookings
from tests.stations import NOW
from tests.tui.conftest import loaded, text_of, wait_for
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen


class WriteLock:
    """Another process's write transaction (BEGIN IMMEDIATE) held until `release()` (at most 20 s)."""

    def __init__(self, path) -> None:
        self.taken, self.released = threading.Event(), threading.Event()
        self._go = threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(path,), daemon=True)
        self.thread.start()
        assert self.taken.wait(10), "the lock was not taken"

    def _hold(self, path) -> None:
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("UPDATE node SET catalog_version = catalog_version WHERE id = 1")
        self.taken.set()
        self._go.wait(20)
        conn.execute("COMMIT")
        conn.close()
        self.released.set()

    def release(self) -> None:
        self._go.set()
        self.thread.join(10)


async def test_a_check_in_asked_while_the_file_is_locked_waits_and_the_ui_keeps_answering(empty_station):
    booking = bookings.book(empty_station, services=["WASH"], start=local(8), plate="沪A12345", bay_id="W1", now=NOW)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        app.open_booking(booking.code)
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
        detail = app.screen
        await loaded(pilot, detail)
        lock = WriteLock(empty_station.store.path)
        try:
            await pilot.press("i")  # check in: the worker waits on the lock
            await pilot.press("l")  # meanwhile the attendant switches language: the UI thread is free
            await wait_for(pilot, lambda: "车牌" in text_of(detail.query_one("#facts")), what="the UI answering")
            assert not lock.released.is_set()
            assert bookings.booking(empty_station, booking.code).state == BookingState.CONFIRMED
        finally:
            lock.release()
        await wait_for(pilot, lambda: detail.booking.state == BookingState.CHECKED_IN, timeout=20,
                       what="the check-in after the lock")


async def test_the_board_refreshes_through_a_held_lock(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        board = app.screen
        lock = WriteLock(busy_station.store.path)
        try:
            loads = board.loads
            board.reload()  # readers are not blocked by a writer (WAL): the board reads on
            await loaded(pilot, board, after=loads)
            assert "Retrying" not in board.title_note()
        finally:
            lock.release()
