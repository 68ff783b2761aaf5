"""The new-booking screen's size choice: prefilled from the known car, the free starts and the price follow it."""

from __future__ import annotations

from datetime import date

import pytest

from edge.services import bookings, members
from tests.stations import TEST_CONFIG, make_station
from tests.test_vehicle_sizes import sized
from tests.tui.conftest import text_of, wait_for
from tests.tui.test_new_booking import _open, _pick_service
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen
from tui.widgets.booking.slot_picker import SlotPicker

MONDAY = date(2026, 11, 23)


@pytest.fixture
def sized_station(tmp_path):
    """The test station with size classes (an SUV's wash: 45 minutes, 45.00) and an SUV on record."""
    station = make_station(tmp_path, config=sized(TEST_CONFIG))
    members.set_vehicle_size(station, plate="沪A00001", size_class="suv")
    yield station
    station.store.close()


async def test_the_known_cars_size_is_prefilled_and_the_booking_takes_its_starts_and_price(sized_station):
    app = StationApp(sized_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(pilot)
        await _pick_service(pilot, screen, "WASH")
        picker = screen.query_one(SlotPicker)
        await wait_for(pilot, lambda: screen.data is not None and picker.free_count > 0, what="a sedan's starts")
        sedan_starts = picker.free_count
        assert screen.size_class is None and "30.00" in text_of(screen.query_one("#summary"))
        screen.query_one("#plate").value = "沪A00001"
        await wait_for(pilot, lambda: screen.size_class == "suv", what="the car's size from its record")
        await wait_for(pilot, lambda: screen.data is not None and screen.data.size_class == "suv"
                       and picker.free_count < sedan_starts, what="an SUV's free starts")
        assert "45.00" in text_of(screen.query_one("#summary"))
        picker.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.chosen is not None)
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the booking")
    [booking] = bookings.bookings_on(sized_station, MONDAY)
    assert (booking.price_minor, booking.start_at, booking.end_at) == (4500, local(8), local(8, 45))
