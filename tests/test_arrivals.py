"""Arrivals against a real station database: one rule for a QR, a plate and a typed code, from the daemon's
router, the service and the CLI alike; refusals say why."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drivers.events import CodeScanned, PlateRead
from edge.cli.main import main
from edge.config import DeviceSettings
from edge.daemon.devices import Router
from edge.domain.arrivals import ArrivalWindow, Refusal, state_refusal, time_refusal
from edge.domain.booking_state import BookingState, Progress
from edge.domain.tokens import read_token
from edge.errors import InvalidTransition, RuleViolation
from edge.services import arrivals, bookings, live_state
from edge.services.arrivals import By, CheckedIn, MovedInBay, NoMatch, Prompt, Refused
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
KEY_CONFIG = TEST_CONFIG + '\n[security]\ntoken_key = "TST-001-test-signing-key"\n'
ENTRANCE = DeviceSettings(id="qr-gate", driver="sim_qr")
AT_L1 = DeviceSettings(id="qr-l1", driver="sim_qr", role="bay", bay="L1")
CAMERA = DeviceSettings(id="anpr", driver="sim_anpr")


def at(hh: int, mm: int = 0, day: int = 23) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=KEY_CONFIG)
    yield station
    station.store.close()


def book(station, plate="沪A12345", start=None, **kwargs):
    return bookings.book(station, services=kwargs.pop("services", ["WASH"]), start=start or at(9), plate=plate,
                         now=NOW, **kwargs)


def events(station, prefix: str) -> list[dict]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, body FROM outbox WHERE type LIKE ? ORDER BY hlc", (prefix + "%",))
        return [{"type": row[0], **json.loads(row[1])} for row in rows]


def refused(outcome) -> Refusal:
    assert isinstance(outcome, Refused), outcome
    return outcome.reason


# -- the booking's state -------------------------------------------------------------------


def test_a_cancelled_bookings_qr_is_refused_counted_and_logged(station, caplog):
    booking = book(station)
    token = bookings.booking_token(station, booking.id)
    bookings.cancel(station, booking.id, now=NOW)
    router = Router(station)
    with caplog.at_level(logging.WARNING, logger="edge.daemon.devices"):
        router.route(ENTRANCE, CodeScanned(token, "qr-gate", NOW))
    assert router.refused["qr-gate"] == 1
    assert bookings.booking(station, booking.id).state == BookingState.CANCELLED
    assert "reason=cancelled" in caplog.text and f"booking {booking.code} was cancelled" in caplog.text


@pytest.mark.parametrize(("make_it", "reason"), [
    (lambda s, b: bookings.cancel(s, b.id, now=NOW), Refusal.CANCELLED),
    (lambda s, b: bookings.mark_no_show(s, b.id, now=at(9, 40)), Refusal.NO_SHOW),
    (lambda s, b: bookings.check_in(s, b.id, now=at(8, 30)), Refusal.ALREADY_CHECKED_IN),
    (lambda s, b: (bookings.check_in(s, b.id, now=at(8, 30)), bookings.set_progress(s, b.id, "in_service", now=NOW),
                   bookings.complete(s, b.id, now=NOW)), Refusal.COMPLETED),
])
def test_a_booking_that_cannot_arrive_again_says_which_state_it_is_in(station, make_it, reason):
    booking = book(station)
    token = bookings.booking_token(station, booking.id)
    make_it(station, booking)
    for text, by in ((token, By.QR), (booking.code, By.BOOKING), (booking.code.lower(), By.TYPED)):
        outcome = arrivals.arrive(station, text, by=by, now=at(8, 45))
        assert refused(outcome) == reason and outcome.booking.id == booking.id
    error = arrivals.arrive(station, booking.code, by=By.BOOKING, now=at(8, 45)).error()
    assert isinstance(error, InvalidTransition) and booking.code in str(error)


def test_a_lapsed_hold_is_refused_as_expired_before_and_after_the_sweep(station):
    held = book(station, hold=True)
    assert held.hold_until is not None and held.hold_until < at(8, 45)
    assert refused(arrivals.arrive(station, held.code, by=By.BOOKING, now=at(8, 45))) == Refusal.EXPIRED
    bookings.expire_holds(station, now=at(8, 45))
    outcome = arrivals.arrive(station, held.code, by=By.BOOKING, now=at(8, 45))
    assert refused(outcome) == Refusal.EXPIRED and "hold lapsed" in outcome.message


# -- the day and the time ------------------------------------------------------------------


def test_another_days_booking_is_refused_with_its_local_time(station):
    tomorrow = book(station, start=at(9, 30, day=24))
    outcome = arrivals.arrive(station, tomorrow.code, by=By.BOOKING, now=at(9, 30))
    assert refused(outcome) == Refusal.TOO_EARLY and "booked for 2026-11-24 09:30" in outcome.message
    with pytest.raises(RuleViolation, match="booked for 2026-11-24 09:30"):
        bookings.check_in(station, tomorrow.code, now=at(9, 30))
    # by its QR, or its plate, the same answer
    token = bookings.booking_token(station, tomorrow.id)
    assert refused(arrivals.arrive(station, token, by=By.QR, now=at(9, 30))) == Refusal.TOO_EARLY
    assert refused(arrivals.arrive(station, "沪A12345", by=By.PLATE, now=at(9, 30))) == Refusal.TOO_EARLY
    assert bookings.booking(station, tomorrow.id).state == BookingState.CONFIRMED


def test_the_early_window_is_the_configured_one_and_a_car_past_the_no_show_time_is_late(tmp_path):
    config = KEY_CONFIG.replace("[booking]\n", "[booking]\nearly_arrival_minutes = 30\n")
    station = make_station(tmp_path, config=config)
    try:
        booking = book(station, start=at(10))
        outcome = arrivals.arrive(station, booking.code, by=By.BOOKING, now=at(9, 29))
        assert refused(outcome) == Refusal.TOO_EARLY and "check-in opens at 2026-11-23 09:30" in outcome.message
        late = arrivals.arrive(station, booking.code, by=By.BOOKING, now=at(10, 30))  # no_show_minutes = 30
        assert refused(late) == Refusal.TOO_LATE and "booked for 2026-11-23 10:00" in late.message
        assert isinstance(arrivals.arrive(station, booking.code, by=By.BOOKING, now=at(9, 30)), CheckedIn)
    finally:
        station.store.close()


def test_the_cli_refuses_another_days_booking_and_completing_a_car_never_checked_in(tmp_path, capsys):
    station = make_station(tmp_path, config=KEY_CONFIG)
    # the CLI runs on the real clock: a booking the day after tomorrow, made as if the day before it
    day = datetime.now(TZ).date() + timedelta(days=2)
    start = datetime(day.year, day.month, day.day, 9, 30, tzinfo=TZ)
    booking = bookings.book(station, services=["WASH"], start=start, plate="沪A12345", now=start - timedelta(days=1))
    station.store.close()
    data = str(tmp_path / "data")
    assert main(["--data-dir", data, "checkin", "--booking", booking.code]) == 6
    assert f"booked for {day:%Y-%m-%d} 09:30" in capsys.readouterr().err
    assert main(["--data-dir", data, "checkin", "--plate", "沪A12345"]) == 6
    assert f"booked for {day:%Y-%m-%d} 09:30" in capsys.readouterr().err
    assert main(["--data-dir", data, "booking", "complete", booking.code]) == 7
    assert "never checked in" in capsys.readouterr().err
    assert main(["--data-dir", data, "checkin", "--plate", "粤Z99999"]) == 4
    assert "no booking expected now for plate 粤Z99999" in capsys.readouterr().err
    assert main(["--data-dir", data, "checkin", "--plate", "!!"]) == 2
    assert "argument --plate: '!!' is not a plate" in capsys.readouterr().err


# -- rescheduled: earlier tokens are stale ------------------------------------------------


def test_a_reschedule_makes_the_old_qr_stale_and_sends_the_new_one(station):
    booking = book(station, start=at(9))
    old = bookings.booking_token(station, booking.id)
    moved = bookings.reschedule(station, booking.id, start=at(9, day=24), now=NOW)
    new = bookings.booking_token(station, booking.id)
    assert new != old and read_token(new, "TST-001", b"TST-001-test-signing-key").generation == 1
    (issued,) = events(station, "token.")
    assert (issued["type"], issued["booking_id"], issued["generation"], issued["token"]) == (
        "token.issued", booking.id, 1, new)
    # the old QR on the old day (its window still covers it) and on the new day: stale either way
    for now in (at(8, 50), at(8, 50, day=24)):
        outcome = arrivals.arrive(station, old, by=By.QR, now=now)
        assert refused(outcome) == Refusal.TOKEN_STALE and "rescheduled to 2026-11-24 09:00" in outcome.message
    assert bookings.booking(station, booking.id).state == BookingState.CONFIRMED
    checked = arrivals.arrive(station, new, by=By.QR, now=at(8, 50, day=24))
    assert isinstance(checked, CheckedIn) and checked.booking.id == moved.id


def test_a_station_without_a_token_key_still_makes_old_tokens_stale_but_sends_none(tmp_path):
    station = make_station(tmp_path)
    try:
        booking = book(station)
        bookings.reschedule(station, booking.id, start=at(10), now=NOW)
        with station.store.read() as conn:
            assert bookings.token_generation(conn, booking.id) == 1
        assert events(station, "token.") == []
        assert refused(arrivals.arrive(station, "SE1.x.y", by=By.QR, now=NOW)) == Refusal.NO_TOKEN_KEY
    finally:
        station.store.close()


def test_a_token_spelled_another_way_is_refused_at_the_gate(station):
    booking = book(station)
    token = bookings.booking_token(station, booking.id)
    router = Router(station)
    router.route(ENTRANCE, CodeScanned(token + "==", "qr-gate", at(8, 30)))
    router.route(ENTRANCE, CodeScanned("SE1.e30.AAAA", "qr-gate", at(8, 30)))
    assert router.refused["qr-gate"] == 2 and bookings.booking(station, booking.id).state == BookingState.CONFIRMED
    outcome = arrivals.arrive(station, token + "==", by=By.QR, now=at(8, 30))
    assert refused(outcome) == Refusal.TOKEN_MALFORMED


# -- plates ---------------------------------------------------------------------------------


def test_a_plate_checks_in_only_when_it_is_one_booking_expected_now(station):
    exact = book(station, "沪A12345", at(8, 30))
    twice_a = book(station, "沪B11111", at(8, 30), bay_id="L1", services=["TYRE"])
    twice_b = book(station, "沪B11111", at(9, 30), bay_id="L1", services=["TYRE"])
    later = book(station, "沪C22222", at(15))
    now = at(8, 20)
    assert isinstance(arrivals.arrive(station, "沪a·12345", by=By.PLATE, now=now), CheckedIn)
    several = arrivals.arrive(station, "沪B11111", by=By.PLATE, now=now)
    assert isinstance(several, Prompt) and [c.booking.id for c in several.candidates] == [twice_a.id, twice_b.id]
    assert refused(arrivals.arrive(station, "沪C22222", by=By.PLATE, now=now)) == Refusal.TOO_EARLY
    assert isinstance(arrivals.arrive(station, "粤Z99999", by=By.PLATE, now=now), NoMatch)
    assert bookings.booking(station, later.id).state == BookingState.CONFIRMED
    assert bookings.booking(station, exact.id).state == BookingState.CHECKED_IN
    assert bookings.booking(station, twice_a.id).state == BookingState.CONFIRMED


def test_an_exact_plate_with_a_look_alike_expected_is_asked_and_the_camera_opens_a_prompt(station):
    wanted = book(station, "沪A12348", at(9))
    alike = book(station, "沪A1234B", at(9), bay_id="L1", services=["TYRE"])
    router = Router(station)
    router.route(CAMERA, PlateRead("沪A12348", 0.9, "1", "anpr", at(8, 30)))
    (prompt,) = live_state.open_prompts(station)
    assert {c.booking_id for c in prompt.candidates} == {wanted.id, alike.id}
    assert prompt.candidates[0].booking_id == wanted.id and router.refused["anpr"] == 0
    assert bookings.booking(station, wanted.id).state == BookingState.CONFIRMED


# -- at a bay reader --------------------------------------------------------------------------


def write_transactions(station, arrival) -> tuple[object, int]:
    """The arrival's outcome and how many write transactions it took."""
    statements: list[str] = []
    with station.store.read() as conn:  # this thread's connection, the one the service writes on
        conn.set_trace_callback(statements.append)
    try:
        outcome = arrival()
    finally:
        with station.store.read() as conn:
            conn.set_trace_callback(None)
    return outcome, statements.count("BEGIN IMMEDIATE")


def test_a_qr_at_its_bay_checks_in_and_moves_in_bay_in_one_write_transaction(station):
    booking = book(station, start=at(9), bay_id="L1", services=["OIL"])
    token = bookings.booking_token(station, booking.id)
    outcome, writes = write_transactions(station, lambda: arrivals.arrive(station, token, by=By.QR, bay="L1",
                                                                          now=at(8, 50)))
    assert isinstance(outcome, MovedInBay) and outcome.checked_in
    assert (outcome.booking.state, outcome.booking.progress) == (BookingState.CHECKED_IN, Progress.IN_BAY)
    assert writes == 1  # check-in and in bay: one write transaction
    # nothing to write, no write lock: a refusal, a plate nobody booked
    assert write_transactions(station, lambda: arrivals.arrive(station, "SE1.e30.AAAA", by=By.QR))[1] == 0
    assert write_transactions(station, lambda: arrivals.arrive(station, "粤Z99999", by=By.PLATE))[1] == 0
    again = arrivals.arrive(station, token, by=By.QR, bay="L1", now=at(8, 51))
    assert refused(again) == Refusal.ALREADY_IN_BAY


def test_a_qr_at_another_bay_checks_in_but_says_the_car_is_at_the_wrong_bay(station):
    booking = book(station, start=at(9), bay_id="L1", services=["OIL"])
    token = bookings.booking_token(station, booking.id)
    first = arrivals.arrive(station, token, by=By.QR, bay="L2", now=at(8, 50))
    assert isinstance(first, CheckedIn) and first.booking.progress == Progress.RECEIVED
    assert first.not_in_bay is not None and first.not_in_bay.reason == Refusal.WRONG_BAY
    assert "booked on bay L1, not bay L2" in first.not_in_bay.message
    assert refused(arrivals.arrive(station, token, by=By.QR, bay="L2", now=at(8, 51))) == Refusal.WRONG_BAY


def test_a_bay_that_refuses_a_second_car_in_bay_is_a_refusal_not_a_crash(station):
    first = book(station, "沪A11111", at(9), bay_id="L1", services=["TYRE"])
    second = book(station, "沪A22222", at(9, 30), bay_id="L1", services=["TYRE"])
    # the store's own rule refuses a second car in L1 (the index of edge.services.one_car_per_bay)
    token = bookings.booking_token(station, second.id)
    assert isinstance(arrivals.arrive(station, first.code, by=By.BOOKING, bay="L1", now=at(8, 50)), MovedInBay)
    outcome = arrivals.arrive(station, token, by=By.QR, bay="L1", now=at(9, 5))
    assert isinstance(outcome, CheckedIn) and outcome.not_in_bay.reason == Refusal.BAY_TAKEN
    assert bookings.booking(station, second.id).progress == Progress.RECEIVED  # the check-in stands
    router = Router(station)
    router.route(AT_L1, CodeScanned(token, "qr-l1", at(9, 6)))
    assert router.refused["qr-l1"] == 1 and bookings.booking(station, second.id).progress == Progress.RECEIVED


# -- the rule itself, without a database -------------------------------------------------------


@pytest.mark.parametrize(("state", "reason"), [
    (BookingState.HELD, None), (BookingState.CONFIRMED, None),
    (BookingState.CHECKED_IN, Refusal.ALREADY_CHECKED_IN), (BookingState.IN_SERVICE, Refusal.ALREADY_CHECKED_IN),
    (BookingState.COMPLETED, Refusal.COMPLETED), (BookingState.CANCELLED, Refusal.CANCELLED),
    (BookingState.NO_SHOW, Refusal.NO_SHOW), (BookingState.EXPIRED, Refusal.EXPIRED),
    (BookingState.REJECTED, Refusal.REJECTED), (BookingState.PENDING_APPROVAL, Refusal.AWAITING_DECISION),
    (BookingState.TENTATIVE, Refusal.AWAITING_DECISION),
])
def test_every_booking_state_has_its_answer(state, reason):
    assert state_refusal(state, None, at(9)) == reason


def test_a_hold_lapses_at_its_deadline_and_the_window_is_half_open():
    assert state_refusal(BookingState.HELD, at(9), at(8, 59)) is None
    assert state_refusal(BookingState.HELD, at(9), at(9)) == Refusal.EXPIRED
    window = ArrivalWindow(early=timedelta(minutes=120), late=timedelta(minutes=30))
    assert time_refusal(at(10), at(7, 59), window) == Refusal.TOO_EARLY
    assert time_refusal(at(10), at(8), window) is None and time_refusal(at(10), at(10, 29), window) is None
    assert time_refusal(at(10), at(10, 30), window) == Refusal.TOO_LATE
