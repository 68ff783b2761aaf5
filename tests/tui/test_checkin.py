"""Check-in: a typed plate with an OCR look-alike finds today's booking; the gate camera's look-alike reads wait
for the attendant, live, and Enter confirms (d dismisses) them."""

from __future__ import annotations

from datetime import UTC

from edge.domain.booking_state import BookingState
from edge.services import arrivals, bookings, live_state
from edge.services.live_state import PromptCandidate
from edge.services.station import open_station
from tests.stations import NOW
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.tui.sample import local
from tui.app import StationApp
from tui.screens.checkin import CheckInScreen


def _book(station, plate, hour, bay="W1"):
    return bookings.book(station, services=["WASH"], start=local(hour), plate=plate, bay_id=bay, now=NOW)


async def test_a_plate_typed_with_an_ocr_confusion_checks_the_right_car_in(empty_station):
    wanted = _book(empty_station, "沪A12348", 9)
    _book(empty_station, "沪K55555", 10)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        await pilot.press("c")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen))
        screen = app.screen
        await pilot.press(*"沪A1234B")  # B for 8: the camera's (and the tired eye's) favourite
        table = screen.query_one("#candidates")
        await wait_for(pilot, lambda: table.row_count == 1 and screen.typed == "沪A1234B", what="the candidate")
        row = cells(table)[0]
        assert row[0] == "沪A12348" and row[-1] == wanted.code
        assert "★" in row[5]  # the match the plate matcher would put to the attendant
        await pilot.press("enter")  # from the plate field to the candidates
        assert app.focused is table
        await pilot.press("enter")  # the attendant confirms this one
        await wait_for(pilot, lambda: bookings.booking(empty_station, wanted.code).state == BookingState.CHECKED_IN,
                       what="the check-in")
        await wait_for(pilot, lambda: "沪A12348" in text_of(screen.query_one("#last")))
        assert app.focused is screen.query_one("#plate")


def test_what_is_typed_finds_close_plates_or_the_code(empty_station):
    wanted = _book(empty_station, "沪A12348", 9)
    _book(empty_station, "沪K55555", 10)

    def found(typed):
        outcome = arrivals.preview(empty_station, typed)
        return [c.booking.plate for c in outcome.candidates] if isinstance(outcome, arrivals.Prompt) else outcome

    assert found("沪A1234B") == ["沪A12348"]
    assert arrivals.preview(empty_station, wanted.code.lower()).booking.id == wanted.id
    # the province character dropped by a camera still finds it
    assert found("A12348") == ["沪A12348"] and found("A1234B") == ["沪A12348"]
    assert isinstance(found("沪A12349"), arrivals.NoMatch)  # a plain typo is another car, not a look-alike
    assert isinstance(found("京Z99999"), arrivals.NoMatch)
    assert isinstance(found("!!"), arrivals.NoMatch)  # not a plate: nothing, not an error


async def test_a_plate_prompt_from_the_daemon_shows_live_and_enter_confirms_it(empty_station):
    wanted = _book(empty_station, "沪A12348", 9)
    decoy = _book(empty_station, "沪A12346", 10)
    app = StationApp(empty_station)
    daemon = open_station(empty_station.store.path.parent, clock=empty_station.clock)  # its own connections
    try:
        async with app.run_test(size=(100, 30)) as pilot:
            await loaded(pilot)
            await pilot.press("c")
            await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen))
            screen = app.screen
            await loaded(pilot, screen)
            prompts = screen.query_one("#prompts")
            assert not prompts.display  # nothing waiting: no room spent on it
            live_state.create_plate_prompt(daemon, "沪A1234B", 0.72, "gate-anpr", [
                PromptCandidate(wanted.id, wanted.code, wanted.plate, 0.5),
                PromptCandidate(decoy.id, decoy.code, decoy.plate, 1.0)], now=NOW)
            await wait_for(pilot, lambda: prompts.row_count == 2 and prompts.display, timeout=10,
                           what="the prompt on screen")
            assert [row[2] for row in cells(prompts)] == ["沪A12348", "沪A12346"]
            assert cells(prompts)[0][0] == "沪A1234B" and "gate-anpr" in cells(prompts)[0][1]
            prompts.focus()
            await pilot.press("enter")  # the first candidate: the attendant sees it is the car
            await wait_for(pilot, lambda: bookings.booking(empty_station, wanted.code).state == BookingState.CHECKED_IN,
                           what="the check-in")
            await wait_for(pilot, lambda: not prompts.display, what="the prompt answered")
            assert live_state.open_prompts(empty_station) == []
        assert bookings.booking(empty_station, decoy.code).state == BookingState.CONFIRMED
    finally:
        daemon.store.close()


async def test_a_prompt_opened_from_the_board_is_dismissed_with_d(empty_station):
    wanted = _book(empty_station, "沪A12348", 9)
    live_state.create_plate_prompt(empty_station, "沪A1234B", 0.72, "gate-anpr",
                                [PromptCandidate(wanted.id, wanted.code, wanted.plate, 0.5)], now=NOW)
    empty_station.clock = lambda: local(8, 50).astimezone(UTC)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        alerts = app.screen.query_one("#alerts")
        assert cells(alerts)[0][:2] == ["confirm plate", "沪A1234B"]
        alerts.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen), what="check-in on the prompt")
        screen = app.screen
        await wait_for(pilot, lambda: app.focused is screen.query_one("#prompts"), what="the prompt focused")
        await pilot.press("d")
        await wait_for(pilot, lambda: not live_state.open_prompts(empty_station), what="the dismissal")
    assert bookings.booking(empty_station, wanted.code).state == BookingState.CONFIRMED


async def _typed(pilot, app, text):
    await loaded(pilot)
    await pilot.press("c")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckInScreen))
    screen = app.screen
    await loaded(pilot, screen)
    screen.query_one("#plate").value = text
    await wait_for(pilot, lambda: screen.data and screen.data[0] == text, what="the answer to what was typed")
    return screen


async def test_the_hint_says_what_enter_does_and_enter_in_the_field_does_it(empty_station):
    wanted = _book(empty_station, "沪A12345", 9)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _typed(pilot, app, "沪A12345")
        hint = text_of(screen.query_one("#verdict"))
        assert f"Enter checks in 沪A12345 ({wanted.code}), booked for 09:00" in hint
        assert app.focused is screen.query_one("#plate")
        await pilot.press("enter")  # in the field: what the hint said
        await wait_for(pilot, lambda: bookings.booking(empty_station, wanted.code).state == BookingState.CHECKED_IN,
                       what="the check-in")
        await wait_for(pilot, lambda: "沪A12345" in text_of(screen.query_one("#last")))


async def test_a_list_of_candidates_works_from_its_first_row_without_moving_the_cursor(empty_station):
    first = _book(empty_station, "沪A12348", 9)
    second = _book(empty_station, "沪A1234B", 8)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _typed(pilot, app, "沪A12348")  # exact for one, but the other reads alike
        table = screen.query_one("#candidates")
        await wait_for(pilot, lambda: table.row_count == 2, what="two candidates")
        assert "Enter goes to the list, Enter there checks one in" in text_of(screen.query_one("#verdict"))
        assert table.border_subtitle == "Enter checks in the highlighted booking"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.focused is table, what="the list")
        assert table.cursor_row == 0
        wanted = cells(table)[0][-1]
        await pilot.press("enter")
        await wait_for(pilot, lambda: bookings.booking(empty_station, wanted).state == BookingState.CHECKED_IN,
                       what="the first candidate checked in")
        other = ({first.code, second.code} - {wanted}).pop()
        assert bookings.booking(empty_station, other).state == BookingState.CONFIRMED


async def test_a_refused_arrival_is_shown_with_its_reason_in_english_and_chinese(empty_station):
    cancelled = _book(empty_station, "沪A12345", 9)
    bookings.cancel(empty_station, cancelled.code, now=NOW)
    tomorrow = bookings.book(empty_station, services=["WASH"], start=local(9, 30, day=24), plate="沪B54321",
                             bay_id="W1", now=NOW)
    app = StationApp(empty_station)
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _typed(pilot, app, cancelled.code)
        assert f"Booking {cancelled.code} was cancelled" in text_of(screen.query_one("#verdict"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: any("was cancelled" in str(n.message) for n in app._notifications),
                       what="the refusal")
        assert bookings.booking(empty_station, cancelled.code).state == BookingState.CANCELLED
        screen.query_one("#plate").value = tomorrow.code
        await wait_for(pilot, lambda: "booked for 2026-11-24 09:30" in text_of(screen.query_one("#verdict")),
                       what="the other day's refusal")
    app = StationApp(empty_station, language="zh_CN")
    async with app.run_test(size=(100, 30)) as pilot:
        screen = await _typed(pilot, app, tomorrow.code)
        assert f"预约 {tomorrow.code} 的时间是 2026-11-24 09:30：来早了" in text_of(screen.query_one("#verdict"))
        screen.query_one("#plate").value = cancelled.code
        await wait_for(pilot, lambda: f"预约 {cancelled.code} 已取消" in text_of(screen.query_one("#verdict")),
                       what="the refusal in Chinese")
