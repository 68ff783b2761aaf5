"""The slot picker and the walk-in reserve: free for a walk-in, marked reserved for a phone booking."""

from __future__ import annotations

from datetime import UTC

from tests.stations import TEST_CONFIG, make_station
from tests.tui.conftest import wait_for
from tests.tui.sample import local
from tests.tui.test_new_booking import _open_on_the_first_free_wash
from tui.app import StationApp
from tui.widgets.booking.slot_picker import SlotPicker

# the wash bay's reserved cells: 09:00, 11:00, 13:00, 15:00, 17:00; it is Monday 07:00, so 09:00 has opened
RESERVE_CONFIG = TEST_CONFIG + "\n[booking.walk_in_reserve]\ncutoff_minutes = 120\nshares = { wash = 0.25 }\n"


async def test_a_phone_booking_sees_the_reserve_marked_and_cannot_pick_it(tmp_path):
    station = make_station(tmp_path, config=RESERVE_CONFIG)
    app = StationApp(station)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await _open_on_the_first_free_wash(pilot)  # a walk-in, at 08:00
            picker = screen.query_one(SlotPicker)
            nine, eleven = (picker.get_row_index(local(hh).astimezone(UTC).isoformat()) for hh in (9, 11))
            assert str(picker.get_cell_at((eleven, 1))) == "free"  # a walk-in may take it
            await pilot.click("#phone")
            await wait_for(pilot, lambda: str(picker.get_cell_at((eleven, 1))) == "reserved", what="the reserve")
            assert screen.channel == "phone" and screen.chosen == ("W1", local(8))
            assert str(picker.get_cell_at((nine, 1))) == "free"  # inside its cut-off: open to the phone too
            picker.focus()
            picker.move_cursor(row=eleven, column=1, animate=False)
            await pilot.press("enter")
            await pilot.pause(0.1)
            assert screen.chosen == ("W1", local(8))  # the reserved cell is not taken instead
            assert any("Kept for walk-ins" in str(n.message) for n in app._notifications)
    finally:
        station.store.close()
