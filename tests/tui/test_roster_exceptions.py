"""The technicians screen: the desk sets and removes a roster exception in a small form; today's shifts
show it applied and marked, the bookings it leaves uncovered are named, availability follows at once."""

from __future__ import annotations

from datetime import date

from textual.widgets import Input, Select

from edge.services import roster
from edge.services.availability import free_starts
from tests.stations import MANAGER
from tests.tui.conftest import cells, loaded, wait_for
from tui.app import StationApp
from tui.screens.dialogs import ConfirmDialog
from tui.screens.roster_exception import RosterExceptionDialog
from tui.screens.technicians import TechniciansScreen

TODAY = date(2026, 11, 23)  # the sample's Monday


def _messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _technicians(pilot, app) -> TechniciansScreen:
    """From the board to the technicians screen, loaded."""
    await loaded(pilot)
    await pilot.press("t")
    await wait_for(pilot, lambda: isinstance(app.screen, TechniciansScreen))
    await loaded(pilot, app.screen)
    return app.screen


async def _open_form(pilot, app):
    await pilot.press("e")
    await wait_for(pilot, lambda: isinstance(app.screen, RosterExceptionDialog), what="the form")
    return app.screen


async def test_a_sick_day_set_and_removed_at_the_terminal(busy_station):
    app = StationApp(busy_station, operator=MANAGER)  # a manager changes the roster
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _technicians(pilot, app)
        assert cells(screen.query_one("#exceptions")) == [["No roster exceptions from today on"]]
        wang_had = {o.start for o in free_starts(busy_station, day=TODAY, services=["OIL"]) if "T1" in o.technician_ids}
        assert wang_had

        form = await _open_form(pilot, app)  # Wang is the selected row
        assert form.query_one("#exception-day", Input).value == "2026-11-23"
        form.query_one("#exception-kind", Select).value = "sick"
        form.query_one("#exception-note", Input).value = "flu"
        loads = screen.loads
        await pilot.click("#save")
        await wait_for(pilot, lambda: screen.loads > loads and app.screen is screen, what="the reload")
        await wait_for(pilot, lambda: cells(screen.query_one("#roster"))[0][3] == "off today · sick",
                       what="Wang's day marked")
        assert cells(screen.query_one("#exceptions")) == [["2026-11-23 Mon", "Wang", "sick", "", "flu"]]
        assert "Wang: sick on 2026-11-23 Mon" in _messages(app)
        [warning] = [m for m in _messages(app) if m.startswith("Reassign")]
        [wangs] = [b for b in roster.exceptions(busy_station)]  # one exception stored: the form's
        assert wangs.kind == "sick" and wangs.note == "flu" and "Wang" in warning
        assert not any("T1" in o.technician_ids for o in free_starts(busy_station, day=TODAY, services=["OIL"]))

        screen.query_one("#exceptions").focus()
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
        await pilot.press("y")
        await wait_for(pilot, lambda: cells(screen.query_one("#roster"))[0][3] == "08:00–18:00",
                       what="Wang's weekly shift back")
        assert roster.exceptions(busy_station) == []
        assert "T1" in {t for o in free_starts(busy_station, day=TODAY, services=["OIL"]) for t in o.technician_ids}


async def test_holiday_hours_typed_in_the_form_and_a_bad_time_refused(busy_station):
    app = StationApp(busy_station, operator=MANAGER)  # a manager changes the roster
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _technicians(pilot, app)
        await pilot.press("down")  # Li

        form = await _open_form(pilot, app)
        form.query_one("#exception-kind", Select).value = "hours"
        form.query_one("#exception-from", Input).value = "25:00"
        form.query_one("#exception-to", Input).value = "18:00"
        await pilot.click("#save")
        await wait_for(pilot, lambda: any("not a time of day" in m for m in _messages(app)), what="the refusal")
        assert roster.exceptions(busy_station) == []

        form = await _open_form(pilot, app)
        form.query_one("#exception-kind", Select).value = "hours"
        form.query_one("#exception-from", Input).value = "13:00"
        form.query_one("#exception-to", Input).value = "18:00"
        form.query_one("#exception-to", Input).focus()
        await pilot.press("enter")  # Enter in any field sets it
        await wait_for(pilot, lambda: cells(screen.query_one("#roster"))[1][3] == "13:00–18:00 · holiday hours",
                       what="Li's hours")
        assert cells(screen.query_one("#exceptions"))[0][1:4] == ["Li", "holiday hours", "13:00–18:00"]


async def test_the_form_and_the_marks_read_in_chinese(busy_station):
    roster.set_exception(busy_station, "T2", day=TODAY, kind="leave", manager=MANAGER)
    app = StationApp(busy_station, language="zh_CN")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _technicians(pilot, app)
        assert cells(screen.query_one("#roster"))[1][3] == "今日休息 · 休假"
        assert cells(screen.query_one("#exceptions"))[0][2] == "休假"
        form = await _open_form(pilot, app)
        assert str(form.query_one("Label").render()) == "Wang 的排班例外"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="the form closed")
        assert len(roster.exceptions(busy_station)) == 1


async def test_the_screen_and_the_form_fit_80x24_in_both_languages(busy_station):
    from tests.tui.test_no_text_cut import clipped_texts

    roster.set_exception(busy_station, "T1", day=TODAY, kind="extra", start_minute=18 * 60, end_minute=20 * 60,
                         note="covers the evening", manager=MANAGER)
    for language in ("en", "zh_CN"):
        app = StationApp(busy_station, language=language)
        async with app.run_test(size=(80, 24)) as pilot:
            await _technicians(pilot, app)
            await pilot.pause(0.2)
            assert clipped_texts(app) == [], language
            await _open_form(pilot, app)
            await pilot.pause(0.2)
            assert clipped_texts(app) == [], language
