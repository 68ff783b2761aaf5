"""Fleet approvals at the desk: the fleet's approver phones in a yes or a no, the attendant records it in their name."""

from __future__ import annotations

from edge.services import bookings, enterprise_bookings
from tests.test_enterprise import FINANCE, HEAD, at, fleet_book, make_fleet
from tests.tui.conftest import cells, loaded, wait_for
from tests.tui.desk import answer_form, desk_station, notices, open_screen
from tui.app import StationApp
from tui.screens.approvals import ApprovalsScreen
from tui.screens.form_dialog import FormDialog


async def test_an_approval_and_a_rejection_phoned_in(tmp_path):
    station = desk_station(tmp_path)
    fleet = make_fleet(station)
    oil = fleet_book(station, fleet, ["OIL"], at(9))
    tyres = fleet_book(station, fleet, ["TYRE"], at(11), bay="L2")
    app = StationApp(station)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            screen = await open_screen(pilot, "a", ApprovalsScreen)
            rows = cells(screen.query_one("#approvals"))
            assert [row[:4] for row in rows] == [[oil.code, "ACME", "299.00 CNY", "dept_head"],
                                                 [tyres.code, "ACME", "80.00 CNY", "dept_head"]]

            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, FormDialog), what="the approver's phone")
            await answer_form(pilot, FINANCE)  # finance may not approve for the department head
            await wait_for(pilot, lambda: any("dept_head" in n for n in notices(app)), what="the refusal")
            assert bookings.booking(station, oil.code).state == "pending_approval"

            await pilot.press("y")
            await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
            await answer_form(pilot, HEAD)
            await wait_for(pilot, lambda: bookings.booking(station, oil.code).state == "confirmed", what="approved")
            await wait_for(pilot, lambda: [r[0] for r in cells(screen.query_one("#approvals"))] == [tyres.code],
                           what="the approved one gone from the list")
            assert f"{oil.code}: approved: booking confirmed" in notices(app)

            await pilot.press("x")
            await wait_for(pilot, lambda: isinstance(app.screen, FormDialog))
            await answer_form(pilot, HEAD, "tyres done last week")
            await wait_for(pilot, lambda: bookings.booking(station, tyres.code).state == "rejected", what="rejected")
            assert enterprise_bookings.approval_of(station, tyres.code).reason == "tyres done last week"
            await wait_for(pilot, lambda: cells(screen.query_one("#approvals")) == [["No bookings wait for approval"]])
    finally:
        station.store.close()
