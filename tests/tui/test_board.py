"""The board: live bay states, alerts and roster, sync; Enter opens a booking or a plate prompt; the language switch;
a locked file; another process's writes."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from datetime import UTC, datetime, time, timedelta

from edge.errors import StoreError
from edge.services import bookings
from edge.services.station import DB_FILENAME
from tests.stations import make_station
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.stations import NOW
from tests.tui.sample import SHANGHAI, after, local
from tui.app import StationApp
from tui.board_data import SyncState, load_board
from tui.messages import StoreChanged
from tui.screens.board import BoardScreen
from tui.screens.booking_detail import BookingDetailScreen


def test_board_data_of_the_busy_morning(busy_station):
    board = load_board(busy_station)
    states = {row.bay.id: (row.state, row.current and row.current.plate, row.next and row.next.plate)
              for row in board.bays}
    assert states == {
        "W1": ("occupied", "沪A12345", "沪F33333"),  # checked in, the sensor saw it drive in
        "L1": ("occupied", "沪B66666", "沪E22222"),  # in service
        "L2": ("unknown", None, "粤B8G3N7"),  # the 09:30 tyre job never came, and the sensor fell silent
    }
    assert [row.stuck for row in board.bays] == [False, True, False]
    assert [(a.kind, a.subject, a.minutes) for a in board.alerts] == [
        ("prompt", "沪C8B888", 0),  # the gate camera's look-alike read, first: it needs the attendant
        ("late", "沪C88888", 40), ("device_down", "lift2-qr", 0), ("stuck", "L1", 0), ("sensor_unknown", "L2", 0),
        ("no_show", "沪D11111", 0)]
    assert [c.plate for c in board.alerts[0].prompt.candidates] == ["沪C88888"]
    assert [b.plate for b in board.arrivals] == ["沪E22222", "沪F33333", "粤B8G3N7"]
    assert [(t.id, t.on_shift, t.current and t.current.plate, t.clocked_in_at) for t in board.technicians] == [
        ("T1", True, "沪B66666", local(7, 55)), ("T2", True, None, None)]
    assert board.sync == SyncState("online", board.sync.backlog, timedelta(minutes=2)) and board.sync.backlog > 0
    # W1: 08:00 no-show (freed), 08:30 done, 10:00 on site, 14:00 booked
    w1 = dict(zip((busy_station.local(c.start).strftime("%H:%M") for c in board.grid), board.timeline["W1"]))
    assert [w1[t] for t in ("08:00", "08:30", "10:00", "14:00", "15:00")] == ["free", "done", "busy", "booked", "free"]
    l1 = dict(zip((busy_station.local(c.start).strftime("%H:%M") for c in board.grid), board.timeline["L1"]))
    assert (l1["09:30"], l1["11:00"]) == ("busy", "held")


async def test_the_board_shows_the_morning_and_enter_opens_the_booking_in_a_bay(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        board = app.screen
        bays = cells(board.query_one("#bays"))
        assert [row[1] for row in bays] == ["occupied", "occupied stuck?", "unknown"]
        assert "沪A12345" in bays[0][2]
        assert [row[:2] for row in cells(board.query_one("#alerts"))] == [
            ["confirm plate", "沪C8B888"], ["late 40 min", "沪C88888"], ["device down", "lift2-qr"],
            ["sensor stuck", "L1"], ["sensor silent", "L2"], ["no-show", "沪D11111"]]
        assert [row[0] for row in cells(board.query_one("#technicians"))] == ["Wang", "Li"]
        assert [row[2].split(" · ")[0] for row in cells(board.query_one("#technicians"))] == ["in 07:55", "not in"]
        assert "HQ online" in board.title_note() and "last ack 2 min" in board.title_note()
        await pilot.press("enter")  # on W1: the car in it
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
        await loaded(pilot)
        assert app.screen.booking.plate == "沪A12345"
        await pilot.press("escape")
        assert isinstance(app.screen, BoardScreen)


async def test_the_language_switches_at_run_time_and_keeps_what_is_open(busy_station):
    app = StationApp(busy_station, language="en")
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        board = app.screen
        await pilot.press("l")
        await wait_for(pilot, lambda: board.query_one("#bays").border_title == "工位")
        assert [row[1] for row in cells(board.query_one("#bays"))][0] == "占用"
        assert "看板" in text_of(board.query_one("#title")) and "周一" in text_of(board.query_one("#title"))
        assert "洗车" in cells(board.query_one("#today"))[0][2]  # service names from the catalogue's zh names
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
        detail = app.screen
        await loaded(pilot, detail)
        assert "车牌" in text_of(detail.query_one("#facts"))
        await pilot.press("l")
        await wait_for(pilot, lambda: "Plate" in text_of(detail.query_one("#facts")))
        assert detail.booking.plate == "沪A12345" and app.focused is detail.query_one("#stages")
        await pilot.press("escape")
        assert board.query_one("#bays").border_title == "Bays"  # screens below were redrawn too


async def test_a_locked_database_is_shown_and_the_board_recovers(busy_station, monkeypatch):
    failures = iter([StoreError("database is locked")])
    real = bookings.bookings_on

    def sometimes_locked(station, day):
        for error in failures:
            raise error
        return real(station, day)

    monkeypatch.setattr(bookings, "bookings_on", sometimes_locked)
    app = StationApp(busy_station)
    async with app.run_test(size=(120, 40)) as pilot:
        board = app.screen
        await wait_for(pilot, lambda: "Retrying" in board.title_note(), what="the busy note")
        assert "database is locked" in text_of(board.query_one("#title"))
        await loaded(pilot)  # the retry a second later
        assert "Retrying" not in board.title_note()
        assert cells(board.query_one("#bays"))[0][1] == "occupied"


async def test_a_booking_made_by_another_process_shows_within_moments(tmp_path):
    """The CLI books in its own process; the board notices through PRAGMA data_version."""
    # the CLI books with the real clock; 13:00, never a Saturday morning hot slot kept for gold members
    tomorrow = datetime.now(SHANGHAI).date() + timedelta(days=1)
    morning = datetime.combine(tomorrow, time(7), tzinfo=SHANGHAI)
    station = make_station(tmp_path, now=morning)
    data_dir = station.store.path.parent
    assert station.store.path.name == DB_FILENAME
    app = StationApp(station)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            arrivals = app.screen.query_one("#arrivals")
            assert "沪K99999" not in str(cells(arrivals))
            cli = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "edge.cli.main", "--data-dir", str(data_dir), "book",
                "--start", f"{tomorrow}T13:00", "--services", "WASH", "--plate", "沪K99999",
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )
            out, err = await cli.communicate()
            assert cli.returncode == 0, err.decode()
            await wait_for(pilot, lambda: "沪K99999" in str(cells(arrivals)), timeout=5, what="the CLI's booking")
    finally:
        station.store.close()


async def test_a_burst_of_changes_costs_one_or_two_reads(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        board = app.screen
        for _ in range(50):  # e.g. the daemon's sweep writing fifty rows, or sync draining a backlog
            board.post_message(StoreChanged())
        await wait_for(pilot, lambda: board.loads > 1)
        await pilot.pause(0.3)
        assert board.loads == 3  # the first load, one for the first change, one for the forty-nine after it


async def test_a_bay_taken_out_of_service_elsewhere_shows_at_once(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        bays = app.screen.query_one("#bays")
        other = sqlite3.connect(busy_station.store.path)  # another process's connection, as far as SQLite knows
        with other:
            other.execute("UPDATE bay SET in_service = 0 WHERE id = 'L2'")
        other.close()
        await wait_for(pilot, lambda: cells(bays)[2][1] == "out of service", what="the bay's new state")


def test_without_sensor_data_a_bay_is_read_from_its_bookings_and_a_link_never_run_says_so(empty_station):
    booking = bookings.book(empty_station, services=["WASH"], start=local(8), plate="沪A12345", bay_id="W1",
                            now=NOW)
    bookings.check_in(empty_station, booking.code, now=NOW)
    empty_station.clock = lambda: local(8, 10).astimezone(UTC)
    board = load_board(empty_station)
    assert [(row.bay.id, row.state, row.sensed) for row in board.bays] == [
        ("W1", "occupied", False), ("L1", "free", False), ("L2", "free", False)]
    assert board.alerts == () and board.sync.link == "never" and board.sync.last_ack_age is None


def test_a_daemon_gone_quiet_is_an_alert_instead_of_its_stale_devices(busy_station):
    busy_station.clock = lambda: after(5)  # the devices' health was last written at 10:10
    kinds = [a.kind for a in load_board(busy_station).alerts]
    assert "daemon_down" in kinds and "device_down" not in kinds
    busy_station.clock = lambda: after(0)
    kinds = [a.kind for a in load_board(busy_station).alerts]
    assert "device_down" in kinds and "daemon_down" not in kinds


async def test_ctrl_c_quits_like_q(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        assert app.is_running
        await pilot.press("ctrl+c")
        await wait_for(pilot, lambda: not app.is_running, what="the exit")
    assert app.return_code == 0


async def test_a_scanner_back_from_a_drop_asks_the_attendant_for_a_rescan(busy_station):
    from edge.services import live_state
    from edge.services.live_state import DeviceHealth

    back = busy_station.clock()
    live_state.record_device_health(busy_station, [
        DeviceHealth("lift2-qr", "qr_serial", "bay", True, None, None, 6, 1, reconnected_at=back)], now=back)
    app = StationApp(busy_station)
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        rows = [row[:2] for row in cells(app.screen.query_one("#alerts"))]
    assert ["scanner reconnected: ask the customer to rescan if they scanned just now", "lift2-qr"] in rows
    assert ["device down", "lift2-qr"] not in rows
