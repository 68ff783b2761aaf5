"""New booking: a walk-in booked through the slot picker; tier and credit rules refuse with their reason;
HQ's cells (slot escrow) marked, and a booking on one is tentative."""

from __future__ import annotations

from datetime import UTC, date

from edge.domain.booking_state import BookingState
from edge.services import bookings, members
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.tui.conftest import loaded, text_of, wait_for
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.new_booking import NewBookingScreen
from tui.widgets.booking.slot_picker import SlotPicker

MONDAY = date(2026, 11, 23)


async def _pick_service(pilot, screen, code: str) -> None:
    """Highlight `code` in the services list with the arrow keys and tick it with Space."""
    services = screen.query_one("#services")
    assert pilot.app.focused is services
    codes = [services.get_option_at_index(i).value for i in range(services.option_count)]
    await pilot.press(*["down"] * codes.index(code), "space")
    await wait_for(pilot, lambda: screen.codes == [code])


async def _open(pilot) -> NewBookingScreen:
    await loaded(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, NewBookingScreen))
    return pilot.app.screen


async def _free_cells_for(pilot, code: str) -> tuple[NewBookingScreen, SlotPicker]:
    """The new-booking screen opened from the board, `code` picked, and its picker once it has free cells."""
    screen = await _open(pilot)
    await _pick_service(pilot, screen, code)
    picker = screen.query_one(SlotPicker)
    await wait_for(pilot, lambda: picker.free_count > 0, what="the free cells")
    return screen, picker


async def _open_on_the_first_free_wash(pilot) -> NewBookingScreen:
    """The new-booking screen with a wash picked and the first free cell chosen."""
    screen, picker = await _free_cells_for(pilot, "WASH")
    picker.focus()
    await pilot.press("enter")
    return screen


async def _tab_to(pilot, widget) -> None:
    for _ in range(12):
        if pilot.app.focused is widget:
            return
        await pilot.press("tab")
    raise AssertionError(f"Tab never reached {widget}")


async def test_a_walk_in_booked_through_the_slot_picker(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, picker = await _free_cells_for(pilot, "WASH")
        await _tab_to(pilot, picker)
        await pilot.press("enter")  # the cursor waits on the first free cell: 08:00, the wash bay
        await wait_for(pilot, lambda: screen.chosen is not None)
        assert screen.chosen == ("W1", local(8))
        assert app.focused is screen.query_one("#plate")  # picked: the plate is next
        app.focused.value = "沪A00001"  # typing is tested on the check-in screen; here it would only cost time
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the new booking")
        await loaded(pilot)
    [booking] = bookings.bookings_on(empty_station, MONDAY)
    assert (booking.plate, booking.bay_id, booking.start_at, booking.state, booking.channel) == (
        "沪A00001", "W1", local(8), BookingState.CONFIRMED, "walk_in")


async def test_a_refused_hold_says_why_and_books_nothing(empty_station):
    members.enroll(empty_station, phone="13900000000", plates=("沪A55555",), now=NOW)
    with empty_station.store.write() as conn:  # a member with a poor no-show record
        conn.execute("UPDATE member SET credit_score = 70")
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(pilot)
        await _pick_service(pilot, screen, "WASH")
        screen.query_one("#phone-number").value = "13900000000"
        await wait_for(pilot, lambda: screen.member is not None, what="the member lookup")
        assert "credit 70" in text_of(screen.query_one("#member"))
        picker = screen.query_one(SlotPicker)
        await wait_for(pilot, lambda: picker.free_count > 0)
        picker.focus()
        await pilot.press("enter")
        app.focused.value = "沪A55555"
        await pilot.press("f6")  # hold
        summary = screen.query_one("#summary")
        await wait_for(pilot, lambda: "too low to hold" in text_of(summary), what="the refusal")
        assert isinstance(app.screen, NewBookingScreen)
    assert bookings.bookings_on(empty_station, MONDAY) == []


async def test_starts_beyond_the_tier_horizon_are_kept_back_with_the_reason(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open(pilot)
        await _pick_service(pilot, screen, "WASH")
        loads = screen.loads
        screen.query_one("#day").value = date(2026, 11, 28)  # Saturday: five days ahead, a guest may book three
        await loaded(pilot, screen, after=loads)
        await wait_for(pilot, lambda: screen.data is not None and screen.data.day == date(2026, 11, 28))
        assert screen.data.free == {} and screen.data.kept
        assert "3 days ahead" in text_of(screen.query_one("#summary"))
        picker = screen.query_one(SlotPicker)
        picker.focus()
        await pilot.press("enter")  # a kept cell: refused, with the rule's words
        await pilot.pause(0.1)
        assert screen.chosen is None
        assert any("3 days ahead" in str(n.message) for n in app._notifications)


async def test_switching_language_mid_booking_keeps_the_form_and_a_click_books(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_on_the_first_free_wash(pilot)
        screen.query_one("#plate").value = "沪A00001"
        picker = screen.query_one(SlotPicker)
        picker.focus()
        await pilot.press("l")
        await wait_for(pilot, lambda: screen.query_one(SlotPicker).border_title == "可约时段")
        assert screen.chosen == ("W1", local(8)) and screen.codes == ["WASH"]
        assert screen.query_one("#plate").value == "沪A00001"
        assert "洗车" in text_of(screen.query_one("#summary")) and "散客" in text_of(screen.query_one("#member"))
        await pilot.click("#confirm")  # the mouse works too
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the booking")


async def test_hq_cells_are_marked_and_a_booking_there_is_tentative(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + "\n[escrow]\nhq_share = 0.5\n")
    app = StationApp(station)
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            screen, picker = await _free_cells_for(pilot, "WASH")
            ten = picker.get_row_index(local(10).astimezone(UTC).isoformat())
            assert str(picker.get_cell_at((ten, 1))) == "free (HQ)"
            assert str(picker.get_cell_at((0, 1))) == "free"  # 08:00 is the station's own
            picker.focus()
            picker.move_cursor(row=ten, column=1, animate=False)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.chosen == ("W1", local(10)))
            assert "tentative until HQ answers" in text_of(screen.query_one("#summary"))
            app.focused.value = "沪A00010"
            await pilot.press("f5")
            await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the booking")
            await loaded(pilot)
            assert app.screen.booking.state == BookingState.TENTATIVE
            screen, picker = await _free_cells_for(pilot, "WASH")  # the next customer sees the cell is waiting for HQ
            assert str(picker.get_cell_at((ten, 1))) == "tentative"
    finally:
        station.store.close()


async def test_a_malformed_plate_or_phone_is_explained_next_to_its_field_and_books_nothing(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_on_the_first_free_wash(pilot)
        await wait_for(pilot, lambda: screen.chosen is not None)
        screen.query_one("#plate").value = "ABC"
        screen.query_one("#phone-number").value = "12345"
        await pilot.pause()
        await pilot.press("f5")
        plate_problem, phone_problem = screen.query_one("#plate-problem"), screen.query_one("#phone-number-problem")
        await wait_for(pilot, lambda: plate_problem.display, what="the plate's problem")
        assert "'ABC' is not a plate" in text_of(plate_problem) and "province character" in text_of(plate_problem)
        assert phone_problem.display and "'12345' is not a phone number" in text_of(phone_problem)
        screen.query_one("#plate").value = "沪A00001"  # typing again clears the field's problem
        await wait_for(pilot, lambda: not plate_problem.display, what="the plate's problem to go")
        assert isinstance(app.screen, NewBookingScreen)
    assert bookings.bookings_on(empty_station, MONDAY) == []
