"""Disruption offers at the desk: a lift out of service, the customers' offers read out, their choices recorded."""

from __future__ import annotations

from edge.services import bookings, disruptions
from tests.test_delivery import DELIVERY_CONFIG, NEIGHBOURS, at
from tests.test_staff import STAFF
from tests.tui.conftest import cells, loaded, wait_for
from tests.tui.desk import desk_station, notices, open_screen
from tui.app import StationApp
from tui.screens.dialogs import ConfirmDialog
from tui.screens.disruptions import DisruptionsScreen


async def test_the_customers_choices_are_recorded_from_their_offers(tmp_path):
    station = desk_station(tmp_path, config=DELIVERY_CONFIG + NEIGHBOURS + STAFF)
    moved = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", phone="13800000001")
    # the other lift is taken at 10:00: that car can only go elsewhere
    bookings.book(station, services=["TYRE"], start=at(10), plate="沪C00003", bay_id="L2")
    away = bookings.book(station, services=["TYRE"], start=at(10), plate="沪B00002", bay_id="L1")
    disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak", now=at(7, 30))
    disruptions.disruptions_for(station, bay_id="L1", now=at(7, 31))
    app = StationApp(station)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            screen = await open_screen(pilot, "d", DisruptionsScreen)
            assert [row[:2] + row[3:] for row in cells(screen.query_one("#disruptions"))] == [
                [moved.code, "沪A12345", "bay L1 out of service", "1"],
                [away.code, "沪B00002", "bay L1 out of service", "3"]]
            assert cells(screen.query_one("#offers")) == [
                ["other bay", "same time in bay L2 with T1"], ["wait", "keep the booking as it is and wait"]]

            await pilot.press("enter")  # to the offers of the first booking
            await pilot.press("enter")  # the other bay
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog), what="the question")
            await pilot.press("y")
            await wait_for(pilot, lambda: bookings.booking(station, moved.code).bay_id == "L2", what="the move")
            await wait_for(pilot, lambda: [r[0] for r in cells(screen.query_one("#disruptions"))] == [away.code])
            await wait_for(pilot, lambda: [r[0] for r in cells(screen.query_one("#offers"))] == [
                "neighbour", "neighbour", "coupon", "wait"], what="the second booking's offers")
            assert "Lujiazui East, 3.2 km away" in cells(screen.query_one("#offers"))[0][1]

            screen.query_one("#offers").focus()
            await pilot.press("down", "down", "y")  # the coupon
            await wait_for(pilot, lambda: isinstance(app.screen, ConfirmDialog))
            await pilot.press("y")
            await wait_for(pilot, lambda: bookings.booking(station, away.code).state == "cancelled", what="cancelled")
            await wait_for(pilot, lambda: any("coupon" in n for n in notices(app)), what="the coupon told")
            assert disruptions.open_disruptions(station) == []
    finally:
        station.store.close()
