"""Members and vehicles, technicians (and clocking one in by hand), the waitlist: each found and shown,
Enter opening a booking."""

from __future__ import annotations

from datetime import date

from edge.services import live_state, waitlist
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.members import MembersScreen
from tui.screens.technicians import TechniciansScreen
from tui.screens.waitlist import WaitlistScreen


async def test_a_member_by_phone_with_the_history_of_their_cars(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MembersScreen))
        screen = app.screen
        screen.query_one("#key").value = "13800138000"
        loads = screen.loads
        await pilot.press("enter")
        await loaded(pilot, screen, after=loads)
        profile = text_of(screen.query_one("#profile"))
        assert "张伟" in profile and "gold" in profile and "沪F33333" in profile
        history = screen.query_one("#history")
        assert [row[1] for row in cells(history)] == ["沪F33333"]
        assert app.focused is history
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))


async def test_a_plate_without_a_member_still_has_its_history(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MembersScreen))
        screen = app.screen
        screen.query_one("#key").value = "沪c88888"
        loads = screen.loads
        await pilot.press("enter")
        await loaded(pilot, screen, after=loads)
        assert "a guest" in text_of(screen.query_one("#profile"))
        [booking] = cells(screen.query_one("#history"))
        assert "沪C88888" in booking and "confirmed" in booking


async def test_technicians_roster_and_their_bookings(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TechniciansScreen))
        await loaded(pilot)
        roster = cells(app.screen.query_one("#roster"))
        assert [(r[1], r[3], r[4]) for r in roster] == [("Wang", "08:00–18:00", "on shift"),
                                                        ("Li", "08:00–18:00", "on shift")]
        assigned = cells(app.screen.query_one("#assigned"))
        assert ("Wang", "沪B66666") in [(r[0], r[2]) for r in assigned]
        assert [r[5] for r in roster] == ["07:55", "—"]  # Wang's card at 07:55; Li has not come in
        await pilot.press("down", "k")  # Li forgot the card: the attendant clocks him in
        await wait_for(pilot, lambda: cells(app.screen.query_one("#roster"))[1][5] == "10:10", what="Li clocked in")
        assert [p.technician_id for p in live_state.technicians_on_shift(busy_station)] == ["T1", "T2"]


async def test_the_waitlist_and_its_offer(busy_station):
    entry = waitlist.join(busy_station, services=["WASH"], day=date(2026, 11, 24), plate="沪W00001")
    app = StationApp(busy_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, WaitlistScreen))
        await loaded(pilot)
        [row] = cells(app.screen.query_one("#entries"))
        assert row[0] == entry.day and row[2] == "沪W00001"
        # Tuesday had room: the entry was offered a hold at once, and Enter opens it
        assert row[5] == "offered" and row[6] != "—"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
