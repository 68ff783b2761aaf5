"""The new-booking screen quotes the price of the start picked: the price calendar's when a rule holds."""

from __future__ import annotations

from tests.stations import TEST_CONFIG, make_station
from tests.test_price_calendar import RULES
from tests.tui.conftest import text_of, wait_for
from tests.tui.sample import local
from tests.tui.test_new_booking import _free_cells_for, _tab_to
from tui.app import StationApp


async def test_the_holiday_price_is_quoted_once_a_start_is_picked(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + RULES)  # the test Monday is a holiday: wash 45.00
    try:
        app = StationApp(station)
        async with app.run_test(size=(100, 30)) as pilot:
            screen, picker = await _free_cells_for(pilot, "WASH")
            summary = screen.query_one("#summary")
            assert "30.00 CNY" in text_of(summary)  # no start yet: the usual price
            await _tab_to(pilot, picker)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.chosen == ("W1", local(8)))
            await wait_for(pilot, lambda: "45.00 CNY" in text_of(summary), what="the holiday price")
    finally:
        station.store.close()
