"""Bookings in legs at the terminal: the care package (the lift, then the wash) booked from the slot picker
with a technician asked for by name, its legs in the detail, moved whole, checked in at the gate, its
first leg finished so the board puts the car on the wash bay, and a leg handed to another technician."""

from __future__ import annotations

from datetime import UTC

from edge.domain.booking_state import BookingState, Progress
from edge.services import bookings
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.tui.sample import local
from tests.tui.test_booking_detail import _choose_stage, _open_by_code
from tests.tui.test_new_booking import _free_cells_for
from tui.app import StationApp
from tui.screens.board import BoardScreen
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.checkin import CheckInScreen
from tui.screens.reschedule import RescheduleScreen
from tui.widgets.booking.slot_picker import SlotPicker


# a tune-up: the oil change on a lift, then a wheel alignment on its own bay, both a mechanic's
ALIGNMENT = """
[[bays]]
id = "A1"
name = "Alignment"
kind = "align"

[[services]]
code = "ALIGN"
name_zh = "四轮定位"
name_en = "Wheel alignment"
category = "maintenance"
duration_minutes = 30
price = 20000
skill = "mechanic"
bay_kinds = ["align"]

[[packages]]
code = "TUNE"
name_zh = "调校套餐"
name_en = "Tune-up"
services = ["OIL", "ALIGN"]
price = 45000
"""


def _care(station, hour=8, technician=None, plate="沪A12345"):
    """The test station's PKG: an oil change on a lift, then a wash in W1."""
    return bookings.book(station, services=["PKG"], start=local(hour), plate=plate, technician=technician, now=NOW)


def _legs(screen) -> list[list[str]]:
    return cells(screen.query_one("#legs"))


async def test_the_package_is_booked_from_the_picker_with_a_technician_and_its_detail_lists_both_legs(
        empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, picker = await _free_cells_for(pilot, "PKG")
        assert [str(column.label) for column in picker.columns.values()] == ["Time", "L1", "L2"]  # the first leg's
        assert str(picker.get_cell_at((0, 1))) == "free › W1 09:00"  # the oil change, then the wash at 09:00
        summary = screen.query_one("#summary")
        assert "In 2 legs: Oil change › Wash" in text_of(summary)
        picker.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.chosen == ("L1", local(8)))
        assert "In 2 legs: Oil change L1 08:00 › Wash W1 09:00" in text_of(summary)
        screen.query_one("#plate").value = "沪A00001"
        screen.query_one("#technician").value = "li"  # by name, in any letter case
        await pilot.press("f5")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the new booking")
        await loaded(pilot)
        assert [row[1:] for row in _legs(app.screen)] == [
            ["L1", "08:00–08:45", "Oil change", "T2 Li"], ["W1", "09:00–09:30", "Wash", "—"]]
        assert [row[0].strip() for row in _legs(app.screen)] == ["1", "2"]  # no car yet: no leg marked
    [booking] = bookings.bookings_on(empty_station, local(8).date())
    assert [(leg.bay_id, leg.technician_id) for leg in bookings.legs(empty_station, booking.code)] == [
        ("L1", "T2"), ("W1", None)]


async def test_a_technician_the_station_does_not_have_is_refused_by_name_and_nothing_is_booked(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen, picker = await _free_cells_for(pilot, "OIL")
        picker.focus()
        await pilot.press("enter")
        screen.query_one("#plate").value = "沪A00001"
        screen.query_one("#technician").value = "Zhao"
        await pilot.press("f5")
        summary = screen.query_one("#summary")
        await wait_for(pilot, lambda: "no technician 'Zhao'" in text_of(summary), what="the refusal")
        assert "T1 Wang" in text_of(summary) and isinstance(app.screen, type(screen))
    assert bookings.bookings_on(empty_station, local(8).date()) == []


async def test_rescheduling_the_package_moves_both_legs_and_says_where_they_went(empty_station):
    booking = _care(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        detail = await _open_by_code(pilot, booking.code)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RescheduleScreen))
        screen = app.screen
        await loaded(pilot, screen)
        assert "bay L1 › W1" in text_of(screen.query_one("#moving"))
        picker = screen.query_one(SlotPicker)
        two = picker.get_row_index(local(14).astimezone(UTC).isoformat())
        assert str(picker.get_cell_at((two, 1))) == "free › W1 15:00"
        picker.move_cursor(row=two, column=1, animate=False)
        await pilot.press("enter")
        assert "bay L1 › W1 15:00?" in str(app.screen.query_one("Label").render())  # the question names both
        await pilot.press("y")
        await wait_for(pilot, lambda: app.screen is detail, what="back on the booking")
        await wait_for(pilot, lambda: detail.booking.start_at == local(14), what="the new time")
        assert any("moved to 14:00, bay L1 › W1 15:00" in str(n.message) for n in app._notifications)
        await wait_for(pilot, lambda: [row[1:3] for row in _legs(detail)] == [
            ["L1", "14:00–14:45"], ["W1", "15:00–15:30"]], what="both legs moved")
    assert [(leg.bay_id, leg.start_at) for leg in bookings.legs(empty_station, booking.code)] == [
        ("L1", local(14)), ("W1", local(15))]


async def test_checked_in_at_the_gate_the_first_leg_done_puts_the_car_on_the_wash_bay(empty_station):
    booking = _care(empty_station, technician="T1")
    bookings.book(empty_station, services=["OIL"], start=local(14), plate="沪B00002", technician="T1", now=NOW)
    empty_station.clock = lambda: local(7, 55).astimezone(UTC)
    app = StationApp(empty_station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        technicians = app.screen.query_one("#technicians")
        assert cells(technicians)[0][0] == "Wang" and "2 booked" in cells(technicians)[0][2]  # two legs ahead
        today = {row[1]: row[3] for row in cells(app.screen.query_one("#today"))}
        assert today["沪A12345"] == "L1›W1" and today["沪B00002"] == "L1"  # the package's bays in leg order
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen))
        checkin = app.screen
        await pilot.press(*"沪A12345")
        candidates = checkin.query_one("#candidates")
        await wait_for(pilot, lambda: candidates.row_count == 1 and checkin.typed == "沪A12345", what="the car")
        await pilot.press("enter", "enter")
        await wait_for(pilot, lambda: bookings.booking(empty_station, booking.code).state == BookingState.CHECKED_IN,
                       what="the check-in")
        await pilot.press("escape")
        detail = await _open_by_code(pilot, booking.code)
        assert [row[0] for row in _legs(detail)] == ["▶ 1", "  2"]  # the car is on its first leg
        for stage in (Progress.IN_BAY, Progress.IN_SERVICE, Progress.QUALITY_CHECK):
            await _choose_stage(pilot, detail, stage)
        await pilot.press("end", "enter")  # done: with the oil change, not with the booking
        await wait_for(pilot, lambda: detail.booking.leg == 1, what="the car on its second leg")
        assert (detail.booking.state, detail.booking.bay_id, detail.booking.progress) == (
            BookingState.CHECKED_IN, "W1", Progress.IN_BAY)
        await wait_for(pilot, lambda: [row[0] for row in _legs(detail)] == ["  1", "▶ 2"], what="leg 2 marked")
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen))
        board = app.screen
        await wait_for(pilot, lambda: "沪A12345" in cells(board.query_one("#bays"))[0][4], what="the car in W1")
        bays = cells(board.query_one("#bays"))
        assert [row[0] for row in bays] == ["W1", "L1", "L2"] and "沪A12345" not in bays[1][4]
        assert board.data.timeline["W1"][2] == "busy" and board.data.timeline["L1"][0] == "done"
        assert "1 booked" in cells(board.query_one("#technicians"))[0][2]  # the oil change is behind Wang


async def test_a_leg_is_handed_to_another_technician_and_a_refusal_is_shown_as_the_service_says_it(
        empty_station):
    booking = _care(empty_station, technician="T1")
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        detail = await _open_by_code(pilot, booking.code)
        assert _legs(detail)[0][4] == "T1 Wang"
        await pilot.press("a")  # the leg under the cursor: the car's current one, the oil change
        answer = app.screen.query_one("#answer")
        assert answer.value == "T1"
        answer.value = "Li"
        await pilot.press("enter")
        await wait_for(pilot, lambda: _legs(detail)[0][4] == "T2 Li", what="Li on the oil change")
        assert any("leg 1 handed to Li" in str(n.message) for n in app._notifications)
        await pilot.press("tab")
        assert app.focused is detail.query_one("#legs")
        await pilot.press("down", "a")  # the wash
        app.screen.query_one("#answer").value = "Wang"
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("WASH needs no technician" in str(n.message) for n in app._notifications),
                       what="the refusal")
    assert [leg.technician_id for leg in bookings.legs(empty_station, booking.code)] == ["T2", None]


async def test_the_technicians_screen_lists_the_legs_given_to_each_and_enter_opens_the_booking(empty_station):
    booking = _care(empty_station, technician="T1")
    at = lambda hour, minute: local(hour, minute).astimezone(UTC)  # noqa: E731
    bookings.check_in(empty_station, booking.code, now=at(7, 55))
    for stage, minute in (("in_bay", 0), ("in_service", 1), ("quality_check", 40), ("done", 45)):
        bookings.set_progress(empty_station, booking.code, stage, now=at(8, minute))
    empty_station.clock = lambda: at(8, 50)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("t")
        await loaded(pilot)
        screen = app.screen
        assert [row[-1] for row in cells(screen.query_one("#roster"))] == ["1", "0"]
        # Wang's leg is the oil change on L1, finished; the car is in the wash bay now, on no one's leg
        assert cells(screen.query_one("#assigned")) == [
            ["Wang", "08:00–08:45", "沪A12345", "Oil change", "L1", "done"]]
        screen.query_one("#assigned").focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen), what="the booking")
        assert app.screen.ref == booking.code


async def test_the_board_counts_a_technicians_legs_so_one_booking_over_two_of_their_bays_counts_two(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG.replace("[[technicians]]", ALIGNMENT + "[[technicians]]", 1))
    booking = bookings.book(station, services=["TUNE"], start=local(8), plate="沪A12345", technician="T1", now=NOW)
    assert [leg.technician_id for leg in bookings.legs(station, booking.code)] == ["T1", "T1"]
    app = StationApp(station)
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            await loaded(pilot)
            wang, li = cells(app.screen.query_one("#technicians"))
            assert wang[0] == "Wang" and "2 booked" in wang[2] and "0 booked" in li[2]
            assert app.screen.data.timeline["L1"][:2] == ("booked", "booked")  # 08:00-09:00: the oil change
            assert app.screen.data.timeline["A1"][2] == "booked"  # 09:00: the alignment
    finally:
        station.store.close()
