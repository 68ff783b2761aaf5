"""What is in each bay now: the booking in it or waiting for it, the sensor's reading, and their disagreement."""

from __future__ import annotations

import itertools
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from drivers.events import BayOccupancy
from edge.cli.main import main
from edge.config import DeviceSettings
from edge.daemon.devices import Router
from edge.services import bookings, live_state
from edge.services.bay_now import CAR_NOT_BOOKED, CAR_NOT_SENSED, bays_now
from tests.stations import NOW, TEST_CONFIG, make_station
from tests.tui.sample import local


def lift(station):
    return {bay.bay_id: bay for bay in bays_now(station)}["L1"]


def test_a_car_that_came_early_and_was_moved_in_is_in_the_bay_before_its_slot(station):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.check_in(station, booking.code, now=NOW)
    assert (lift(station).state, lift(station).in_bay, [b.code for b in lift(station).waiting]) == (
        "free", None, [booking.code])  # checked in, waiting for the bay

    bookings.set_progress(station, booking.code, "in_bay", now=NOW)  # 07:00, two hours before its slot

    now = lift(station)
    assert (now.state, now.in_bay.code, now.waiting, now.sensor) == ("occupied", booking.code, (), "none")


def test_sensor_and_booking_disagreeing_is_named(station):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.check_in(station, booking.code, now=NOW)
    bookings.set_progress(station, booking.code, "in_bay", now=NOW)
    live_state.record_occupancy(station, "L1", "free", source="bay-sensors", now=NOW)

    now = lift(station)
    assert (now.state, now.sensor, now.disagreement) == ("occupied", "free", CAR_NOT_SENSED)

    bookings.set_progress(station, booking.code, "in_service", now=NOW)
    bookings.set_progress(station, booking.code, "quality_check", now=NOW)
    bookings.set_progress(station, booking.code, "done", now=NOW)
    live_state.record_occupancy(station, "L1", "occupied", source="bay-sensors", now=NOW)
    now = lift(station)
    # completed a moment ago: the car is driving out, not a car nobody booked
    assert (now.state, now.leaving.code, now.disagreement) == ("occupied", booking.code, None)

    station.clock = lambda: NOW + timedelta(minutes=20)
    now = lift(station)
    assert (now.state, now.leaving, now.disagreement) == ("occupied", None, CAR_NOT_BOOKED)


def test_a_bay_is_never_called_free_with_a_car_in_it(station):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    in_bay = bookings.set_progress(station, bookings.check_in(station, booking.code, now=NOW).code, "in_bay", now=NOW)
    template = lift(station)
    for sensor, car, in_service in itertools.product(("free", "occupied", "unknown", "stuck", "none"),
                                                     (None, in_bay), (True, False)):
        bay = replace(template, sensor=sensor, in_bay=car, in_service=in_service)
        if car is not None or sensor == "occupied":
            assert bay.state == "occupied", bay
        else:
            assert bay.state in ({"free", "unknown"} if in_service else {"out_of_service"}), bay


def test_a_stuck_sensor_leaves_the_bay_unknown_with_the_car_waiting_on_it(station):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.check_in(station, booking.code, now=NOW)
    live_state.record_stuck(station, "L1", True, source="bay-sensors", now=NOW)
    now = lift(station)
    assert (now.state, now.sensor, now.sensor_since, [b.code for b in now.waiting], now.disagreement) == (
        "unknown", "stuck", NOW, [booking.code], None)


def test_the_daemon_reports_each_sensed_bay_and_warns_when_sensor_and_booking_disagree(station, caplog):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.set_progress(station, bookings.check_in(station, booking.code, now=NOW).code, "in_bay", now=NOW)
    router = Router(station)
    sensor = DeviceSettings(id="sensor", driver="sim_occupancy")
    with caplog.at_level(logging.INFO, logger="edge.daemon.devices"):
        router.route(sensor, BayOccupancy("L1", "occupied", 900.0, "sensor", NOW))
        router.route(sensor, BayOccupancy("L1", "free", 2000.0, "sensor", NOW))
    agree, disagree = [r for r in caplog.records if r.getMessage().startswith("bay state")]
    assert agree.levelno == logging.INFO and f"in_bay={booking.code}" in agree.getMessage()
    assert disagree.levelno == logging.WARNING
    assert disagree.getMessage().endswith(f"in_bay={booking.code} waiting=- disagreement={CAR_NOT_SENSED}")


def test_todays_listing_ends_with_what_is_in_each_bay(tmp_path, capsys):
    station = make_station(tmp_path, config=TEST_CONFIG, now=datetime.now(UTC))
    # 14:00 today: outside the hot-slot window, whatever the weekday
    today = station.local(station.clock()).replace(hour=14, minute=0, second=0, microsecond=0)
    first = bookings.book(station, services=["OIL"], start=today, plate="沪A11111", bay_id="L1",
                          now=today - timedelta(days=1))
    second = bookings.book(station, services=["TYRE"], start=today + timedelta(hours=1), plate="沪B22222",
                           bay_id="L1", now=today - timedelta(days=1))
    for booking in (first, second):  # at 13:30, when both are expected
        bookings.check_in(station, booking.code, now=today - timedelta(minutes=30))
    bookings.set_progress(station, first.code, "in_bay", now=today - timedelta(minutes=30))
    live_state.record_occupancy(station, "W1", "occupied", source="bay-sensors", now=station.clock())
    station.store.close()

    assert main(["--data-dir", str(tmp_path / "data"), "booking", "list"]) == 0

    lines = capsys.readouterr().out.splitlines()
    bays = {line.split()[0]: line for line in lines[lines.index("") + 3:]}
    assert bays["L1"].split()[:5] == ["L1", "occupied", "none", first.code, "沪A11111"]
    assert f"{second.code} 沪B22222" in bays["L1"]
    assert bays["W1"].split()[:3] == ["W1", "occupied", "occupied"]
    assert bays["W1"].endswith("sensor says occupied, no booking in bay")


def test_a_flapping_sensor_disagreeing_with_the_bookings_warns_once_then_counts(station, caplog):
    booking = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    bookings.set_progress(station, bookings.check_in(station, booking.code, now=NOW).code, "in_bay", now=NOW)
    ticks = iter(range(1000))
    router = Router(station, clock=lambda: float(next(ticks)))  # one second per reading
    sensor = DeviceSettings(id="sensor", driver="sim_occupancy")
    with caplog.at_level(logging.INFO, logger="edge.daemon.devices"):
        for _ in range(50):  # 50 s of a sensor flapping to "free" under a car booked in the bay
            router.route(sensor, BayOccupancy("L1", "free", 2000.0, "sensor", NOW))
        router.flush_log()
        warnings = [r.getMessage() for r in caplog.records
                    if r.levelno == logging.WARNING and r.getMessage().startswith("bay state")]
    assert len(warnings) == 1 and warnings[0].endswith(f"disagreement={CAR_NOT_SENSED}")
