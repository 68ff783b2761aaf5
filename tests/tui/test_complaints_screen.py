"""Complaints at the desk: the one a low rating raised is assigned to a colleague, resolved, then closed."""

from __future__ import annotations

from edge.services import delivery
from tests.test_complaints import complained
from tests.tui.conftest import cells, loaded, wait_for
from tests.tui.desk import answer_form, desk_station, form_open, notices, open_screen
from tui.app import StationApp
from tui.screens.complaints import ComplaintsScreen


async def test_a_complaint_assigned_resolved_and_closed_at_the_desk(tmp_path):
    station = desk_station(tmp_path)
    booking = complained(station)
    app = StationApp(station)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            screen = await open_screen(pilot, "h", ComplaintsScreen)
            table = screen.query_one("#complaints")
            assert [row[1:] for row in cells(table)] == [
                [booking.code, "沪A12345", "1/5", "open", "—", "oil on the seat", ""]]

            await pilot.press("e")
            await form_open(pilot)
            await answer_form(pilot, "Nobody", "")
            await wait_for(pilot, lambda: any("no staff member 'Nobody'" in n for n in notices(app)), what="refusal")
            await pilot.press("e")
            await form_open(pilot)
            await answer_form(pilot, "S02", "call back today")
            await wait_for(pilot, lambda: cells(table)[0][4:6] == ["assigned", "赵小燕"], what="assigned")

            await pilot.press("v")
            await form_open(pilot)
            await answer_form(pilot, "interior cleaned free")
            await wait_for(pilot, lambda: cells(table)[0][4] == "resolved", what="resolved")
            assert cells(table)[0][7] == "interior cleaned free"

            await pilot.press("x")
            await form_open(pilot)
            await answer_form(pilot, "customer happy")
            await wait_for(pilot, lambda: cells(table) == [["No complaints to follow up"]], what="closed and gone")
            [closed] = delivery.complaints(station, state="closed")
            assert (closed.assigned_to, closed.note) == ("S02", "customer happy")
            assert f"Complaint on {booking.code}: closed" in notices(app)
    finally:
        station.store.close()
