"""The station report on the terminal: a day, a week or a month, the periods before and after, section by section."""

from __future__ import annotations

from textual.widgets import Static

from tests.tui.conftest import cells, loaded, text_of
from tests.tui.desk import open_screen, press_and_reload
from tui.app import StationApp
from tui.screens.reports import ReportsScreen


def _period(screen) -> str:
    return text_of(screen.query_one("#report-period", Static)).strip()


async def test_periods_and_sections_switched_by_keys(busy_station):
    app = StationApp(busy_station)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        screen = await open_screen(pilot, "o", ReportsScreen)
        table = screen.query_one("#report-table")
        assert _period(screen) == "day  2026-11-23"
        assert table.border_title == "Bookings"
        assert cells(table)[-1] == ["all", "1", "3", "1", "1", "1", "1", "8"]

        for _ in range(5):
            await pilot.press("tab")
        assert table.border_title == "Revenue"
        # money from the ledger: the morning's finished jobs are not paid yet, and it reconciles
        assert cells(table)[-1] == ["total", "all", "0", "0.00 CNY"]
        assert ["reconciliation", "difference", "—", "0.00 CNY"] in cells(table)
        await pilot.press("shift+tab")
        assert table.border_title == "Technicians"

        await press_and_reload(pilot, screen, "3")
        assert _period(screen) == "month  2026-11  2026-11-01 – 2026-11-30"
        await press_and_reload(pilot, screen, "left_square_bracket")
        assert _period(screen).startswith("month  2026-10")
        assert [row[2:5] for row in cells(table)] == [["0", "0", "0:00"], ["0", "0", "0:00"]]  # no work then
        await press_and_reload(pilot, screen, "2")
        assert _period(screen) == "week  2026-W40  2026-09-28 – 2026-10-04"
        await press_and_reload(pilot, screen, "right_square_bracket")
        assert _period(screen) == "week  2026-W41  2026-10-05 – 2026-10-11"
