"""Booking detail: progress moved stage by stage to done; notes; the QR; cancel with a reason; no-show; reschedule."""

from __future__ import annotations

from datetime import UTC

from edge.domain.booking_state import BookingState, Progress
from edge.domain.tokens import verify_token
from edge.services import bookings
from tests.stations import NOW
from tests.tui.conftest import loaded, text_of, wait_for
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.booking_detail import BookingDetailScreen
from tui.screens.reschedule import RescheduleScreen
from tui.widgets.booking.qr import DARK


def _wash(station, hour=8, plate="沪A12345"):
    return bookings.book(station, services=["WASH"], start=local(hour), plate=plate, bay_id="W1", now=NOW)


async def _open_by_code(pilot, code: str) -> BookingDetailScreen:
    """The keyboard way: g, the code, Enter."""
    await loaded(pilot)
    await pilot.press("g")
    pilot.app.screen.query_one("#answer").value = code
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, BookingDetailScreen))
    screen = pilot.app.screen
    await loaded(pilot, screen)
    return screen


async def _choose_stage(pilot, screen, stage: Progress) -> None:
    """Highlight `stage` among the next stages and press Enter; wait until the screen shows it."""
    options = screen.query_one("#stages")
    offered = [options.get_option_at_index(i).id for i in range(options.option_count)]
    assert pilot.app.focused is options
    await pilot.press("home", *["down"] * offered.index(stage), "enter")
    await wait_for(pilot, lambda: screen.booking.progress == stage, what=f"stage {stage}")


async def test_progress_moves_through_every_stage_to_done(empty_station):
    booking = _wash(empty_station)
    bookings.check_in(empty_station, booking.code, now=NOW)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_by_code(pilot, booking.code)
        assert booking.code in text_of(screen.query_one("#facts"))  # the code the customer quotes
        # "Enter moves it": at once, on the first stage offered, without moving the cursor first
        assert screen.query_one("#stages").get_option_at_index(0).id == Progress.IN_BAY
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.booking.progress == Progress.IN_BAY, what="in bay by Enter alone")
        for stage in (Progress.IN_SERVICE, Progress.WAITING_PARTS, Progress.IN_SERVICE,
                      Progress.QUALITY_CHECK, Progress.DONE):
            await _choose_stage(pilot, screen, stage)
        assert screen.booking.state == BookingState.COMPLETED
        assert screen.query_one("#stages").option_count == 1  # "no progress to move now"
    assert bookings.booking(empty_station, booking.code).state == BookingState.COMPLETED


async def test_cancel_asks_for_a_reason(empty_station):
    booking = _wash(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_by_code(pilot, booking.code)
        await pilot.press("x")
        app.screen.query_one("#answer").value = "customer called"
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.booking.state == BookingState.CANCELLED, what="the cancellation")
        assert not screen.check_action("cancel_booking", ())  # nothing left to cancel
    assert bookings.booking(empty_station, booking.code).reason == "customer called"


async def test_escape_keeps_the_booking(empty_station):
    booking = _wash(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await _open_by_code(pilot, booking.code)
        await pilot.press("x", "escape")
        await pilot.pause(0.1)
    assert bookings.booking(empty_station, booking.code).state == BookingState.CONFIRMED


async def test_no_show_after_the_start(empty_station):
    booking = _wash(empty_station)
    empty_station.clock = lambda: local(8, 45)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_by_code(pilot, booking.code)
        await pilot.press("o", "y")
        await wait_for(pilot, lambda: screen.booking.state == BookingState.NO_SHOW, what="the no-show")


async def test_reschedule_to_the_first_free_cell(empty_station):
    _wash(empty_station, 8, "沪B00001")
    booking = _wash(empty_station, 10)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        detail = await _open_by_code(pilot, booking.code)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, RescheduleScreen))
        await loaded(pilot)
        await pilot.press("enter", "y")  # the first free cell (08:30, after the other car), then Yes
        await wait_for(pilot, lambda: app.screen is detail, what="back on the booking")
        await wait_for(pilot, lambda: detail.booking.start_at == local(8, 30), what="the new time")


async def test_an_unknown_code_is_said_so(empty_station):
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("g")
        app.screen.query_one("#answer").value = "NOPE99"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app._notifications, what="the error")
        assert "no booking 'NOPE99'" in list(app._notifications)[-1].message
        assert len(app.screen_stack) == 1  # still on the board


async def test_notes_are_edited_and_saved(empty_station):
    booking = _wash(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_by_code(pilot, booking.code)
        await pilot.press("e")
        answer = app.screen.query_one("#answer")
        assert answer.value == ""
        answer.value = "左后视镜有划痕 / scratch on the left mirror"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "scratch on the left mirror" in text_of(screen.query_one("#facts")),
                       what="the notes on screen")
        await pilot.press("e")  # the dialog opens on what is saved, to be corrected
        assert app.screen.query_one("#answer").value == "左后视镜有划痕 / scratch on the left mirror"
        await pilot.press("escape")
    saved = bookings.booking(empty_station, booking.code)
    assert saved.notes == "左后视镜有划痕 / scratch on the left mirror"
    with empty_station.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE type = 'booking.notes'").fetchone()[0] == 1


def _modules(text) -> list[list[bool]]:
    """The modules a camera sees in the half-block QR: the glyph's colour is the upper one, its background the lower."""
    rows = []
    for line in text.split("\n"):
        upper, lower = [], []
        for offset in range(len(line.plain)):
            style = next((span.style for span in line.spans if span.start <= offset < span.end), None)
            upper.append(style.color.name == DARK)
            lower.append(style.bgcolor.name == DARK)
        rows += [upper, lower]
    return rows


async def test_the_booking_qr_is_shown_and_scans_back_to_its_token(tmp_path):
    import numpy
    import zxingcpp

    from tests.stations import TEST_CONFIG, make_station
    from tui.screens.booking_qr import BookingQrScreen

    station = make_station(tmp_path, config=TEST_CONFIG + '\n[security]\ntoken_key = "TST-001-test-signing-key"\n')
    booking = _wash(station)
    app = StationApp(station)
    try:
        async with app.run_test(size=(80, 24)) as pilot:
            await _open_by_code(pilot, booking.code)
            await pilot.press("p")
            await wait_for(pilot, lambda: isinstance(app.screen, BookingQrScreen), what="the QR")
            shown = app.screen.query_one("#qr").content
            token = app.screen.token
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, BookingDetailScreen))
        assert verify_token(token, "TST-001", local(8).astimezone(UTC), b"TST-001-test-signing-key") == booking.id
        image = numpy.kron(numpy.where(numpy.array(_modules(shown)), 0, 255).astype(numpy.uint8),
                           numpy.ones((4, 4), numpy.uint8))
        [found] = zxingcpp.read_barcodes(image)
        assert found.text == token
    finally:
        station.store.close()


async def test_without_a_signing_key_the_qr_is_refused_with_the_reason(empty_station):
    booking = _wash(empty_station)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _open_by_code(pilot, booking.code)
        await pilot.press("p")
        await wait_for(pilot, lambda: app._notifications, what="the refusal")
        assert "token_key" in list(app._notifications)[-1].message
        assert app.screen is screen
