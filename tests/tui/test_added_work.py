"""Work found during service at the terminal: from a booking in progress, a adds a service (the
customer away: it waits for them), y approves it, x refuses; under Pilot against a real station."""

from __future__ import annotations

import pytest

from edge.domain.found_work import WorkState
from edge.services import bookings, found_work
from tests.stations import NOW
from tests.tui.conftest import cells, loaded, wait_for
from tests.tui.test_no_text_cut import clipped_texts
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.added_work import AddedWorkScreen
from tui.screens.booking_detail import BookingDetailScreen


def _oil_change_in(station):
    booking = bookings.book(station, services=["OIL"], start=local(8), plate="沪A12345", bay_id="L1", now=NOW)
    return bookings.check_in(station, booking.code, now=NOW)


async def _added_work_screen(pilot, code: str) -> AddedWorkScreen:
    await loaded(pilot)
    pilot.app.open_booking(code)
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BookingDetailScreen))
    await loaded(pilot)
    await pilot.press("w")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, AddedWorkScreen))
    screen = pilot.app.screen
    await loaded(pilot, screen)
    return screen


async def _add(pilot, screen, codes: str, answer: str) -> None:
    loads = screen.loads
    await pilot.press("a")
    pilot.app.screen.query_one("#answer").value = codes
    await pilot.press("enter")
    await pilot.pause(0.1)
    await pilot.press(answer)  # is the customer here? y: approved at once, n: ask them
    await wait_for(pilot, lambda: screen.loads > loads and cells(screen.query_one("#work"))[0][0] != "No work",
                   what="the added work")


async def test_the_desk_adds_work_the_customer_must_approve_and_approves_it(empty_station):
    booking = _oil_change_in(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _added_work_screen(pilot, booking.code)
        assert not screen.check_action("approve_work", ())  # nothing awaits an answer yet
        await _add(pilot, screen, "TYRE", "n")
        (row,) = cells(screen.query_one("#work"))
        assert row[1] == "awaiting the customer" and row[2] == "same leg L1"
        assert screen.check_action("approve_work", ())
        await pilot.press("y")
        await wait_for(pilot, lambda: found_work.work_on(empty_station, booking.code)[0].state == WorkState.APPROVED,
                       what="the approval")
        await wait_for(pilot, lambda: cells(screen.query_one("#work"))[0][1] == "approved", what="the row approved")
    assert bookings.booking(empty_station, booking.code).services == ("OIL", "TYRE")


async def test_refused_work_gives_its_time_back(empty_station):
    booking = _oil_change_in(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _added_work_screen(pilot, booking.code)
        await _add(pilot, screen, "TYRE", "n")
        await pilot.press("x")
        await wait_for(pilot, lambda: cells(screen.query_one("#work"))[0][1] == "refused", what="the refusal")
    assert [leg.services for leg in bookings.legs(empty_station, booking.code)] == [("OIL",)]


async def test_a_booking_not_yet_arrived_takes_no_added_work(empty_station):
    booking = bookings.book(empty_station, services=["OIL"], start=local(9), plate="沪A12345", now=NOW)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _added_work_screen(pilot, booking.code)
        assert not screen.check_action("add_work", ())


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_no_text_is_cut_off_at_80x24(empty_station, language):
    booking = _oil_change_in(empty_station)
    found_work.add_work(empty_station, booking.code, ["TYRE"], now=NOW)
    app = StationApp(empty_station, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _added_work_screen(pilot, booking.code)
        await wait_for(pilot, lambda: screen.query_one("#work").row_count == 1, what="the added work")
        seen = {"added work": clipped_texts(app)}
        await pilot.press("a")
        await pilot.pause(0.1)
        seen["codes dialog"] = clipped_texts(app)
        pilot.app.screen.query_one("#answer").value = "WASH"
        await pilot.press("enter")
        await pilot.pause(0.1)
        seen["customer here dialog"] = clipped_texts(app)
    assert not any(seen.values()), seen
