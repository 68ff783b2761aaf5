"""Bay occupancy from noisy readings, with injected time: debounce, hysteresis, silence, stuck sensors."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from drivers.errors import DriverError
from drivers.events import BayOccupancy, DeviceAlarm
from drivers.occupancy_filter import OccupancyFilter, OccupancySettings, bay_settings
from drivers.occupancy_mqtt import parse_payload
from tests.drivers.conftest import FakeClock

WALL = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def make(clock: FakeClock, **settings) -> OccupancyFilter:
    base = {"occupied_below": 1500.0, "free_above": 1800.0, "delay_on": 2.0, "delay_off": 5.0,
            "silence_timeout": 30.0}
    return OccupancyFilter("L1", "bay-sensors", OccupancySettings(**{**base, **settings}),
                           clock=clock, wall=lambda: WALL)


def states(events) -> list[str]:
    return [e.state for e in events if isinstance(e, BayOccupancy)]


def test_a_car_must_stay_delay_on_seconds_before_the_bay_is_occupied(fake_clock):
    bay = make(fake_clock)
    assert bay.feed(2500.0) == []  # free, but not for delay_off yet
    fake_clock.advance(5)
    assert states(bay.tick()) == ["free"]
    assert bay.feed(900.0) == []
    fake_clock.advance(1.9)
    assert bay.feed(910.0) == []
    fake_clock.advance(0.1)
    (event,) = bay.feed(905.0)
    assert (event.bay, event.state, event.raw, event.device, event.at) == ("L1", "occupied", 905.0, "bay-sensors", WALL)


def test_a_car_driving_through_does_not_occupy_the_bay(fake_clock):
    bay = make(fake_clock, delay_off=0.0)
    assert states(bay.feed(2500.0)) == ["free"]
    bay.feed(900.0)
    fake_clock.advance(1.0)
    assert bay.feed(2600.0) == []  # gone again within delay_on
    fake_clock.advance(10)
    assert bay.tick() == [] and bay.state == "free"


def test_leaving_needs_delay_off_and_a_brief_dropout_is_ignored(fake_clock):
    bay = make(fake_clock, delay_on=0.0)
    assert states(bay.feed(900.0)) == ["occupied"]
    bay.feed(2500.0)  # an echo lost for a moment: reads as empty
    fake_clock.advance(1.0)
    assert bay.feed(920.0) == []
    bay.feed(2500.0)  # the car really leaves
    fake_clock.advance(4.9)
    assert bay.tick() == []
    fake_clock.advance(0.1)
    assert states(bay.tick()) == ["free"]


def test_readings_inside_the_hysteresis_band_keep_the_state(fake_clock):
    bay = make(fake_clock, delay_on=0.0, delay_off=0.0)
    assert bay.feed(1600.0) == [] and bay.state == "unknown"  # in the band with nothing before: undecided
    assert states(bay.feed(1400.0)) == ["occupied"]
    for distance in (1510.0, 1790.0, 1650.0, 1799.0):  # a bonnet hovering around one threshold
        assert bay.feed(distance) == []
    assert states(bay.feed(1800.0)) == ["free"]
    for distance in (1790.0, 1501.0):
        assert bay.feed(distance) == []
    assert bay.state == "free"


def test_a_silent_sensor_makes_the_bay_unknown_and_a_new_reading_recovers(fake_clock):
    bay = make(fake_clock, delay_on=0.0, silence_timeout=30.0)
    assert states(bay.feed(900.0)) == ["occupied"]
    fake_clock.advance(29.9)
    assert bay.tick() == []
    fake_clock.advance(0.1)
    (event,) = bay.tick()
    assert event.state == "unknown" and event.raw is None
    fake_clock.advance(100)
    assert bay.tick() == []  # reported once
    assert states(bay.feed(950.0)) == ["occupied"]


def test_a_bay_never_heard_from_stays_unknown_without_events(fake_clock):
    bay = make(fake_clock)
    fake_clock.advance(1000)
    assert bay.tick() == [] and bay.state == "unknown"


def test_a_stuck_reading_raises_an_alarm_and_a_change_clears_it(fake_clock):
    bay = make(fake_clock, delay_on=0.0, stuck_after=600.0, stuck_tolerance=2.0)
    assert states(bay.feed(1234.0)) == ["occupied"]
    for _ in range(59):
        fake_clock.advance(10)
        assert bay.feed(1235.0) == []  # within tolerance: still the same reading
    fake_clock.advance(10)
    (alarm,) = bay.feed(1234.0)
    assert isinstance(alarm, DeviceAlarm) and alarm.active and alarm.alarm == "stuck" and alarm.bay == "L1"
    fake_clock.advance(10)
    assert bay.feed(1234.0) == []  # raised once
    (cleared,) = bay.feed(1190.0)
    assert isinstance(cleared, DeviceAlarm) and not cleared.active
    assert bay.state == "occupied"  # the alarm is for a person; the state stays as read


def test_jittering_readings_are_not_stuck(fake_clock):
    bay = make(fake_clock, delay_on=0.0, stuck_after=60.0, stuck_tolerance=2.0)
    for i in range(100):
        fake_clock.advance(1)
        events = bay.feed(1000.0 + (i % 2) * 5)
        assert not any(isinstance(e, DeviceAlarm) for e in events)


def test_presence_sensors_skip_hysteresis(fake_clock):
    bay = make(fake_clock, delay_on=1.0, delay_off=1.0)
    bay.feed(True)
    fake_clock.advance(1)
    assert states(bay.feed(True)) == ["occupied"]
    bay.feed(False)
    fake_clock.advance(1)
    assert states(bay.tick()) == ["free"]


def test_bad_readings_raise_value_error(fake_clock):
    bay = make(fake_clock)
    for bad in (float("nan"), -5.0, float("inf")):
        with pytest.raises(ValueError):
            bay.feed(bad)


def test_settings_are_checked_with_the_bay_named():
    with pytest.raises(DriverError, match="bay 'L1'.*occupied_below"):
        OccupancyFilter("L1", "dev", OccupancySettings(occupied_below=2000, free_above=1000),
                        clock=FakeClock(), wall=lambda: WALL)
    with pytest.raises(DriverError, match="unknown key"):
        bay_settings({"bay": "L1", "delay": 3}, OccupancySettings(), frozenset(), "bays[0]")
    assert bay_settings({"bay": "L1", "delay_on": 3}, OccupancySettings(), frozenset(), "x").delay_on == 3.0


@pytest.mark.parametrize(("payload", "field", "presence", "reading"), [
    (b"1234.5", "", False, 1234.5),
    (b' {"distance": 880} ', "", False, None),  # JSON needs a field
    (b'{"distance": 880}', "distance", False, 880.0),
    (b'{"sensor": {"range_mm": "901"}}', "sensor.range_mm", False, 901.0),
    (b'{"occupancy": true, "battery": 97}', "occupancy", True, True),
    (b"OFF", "", True, False),
    (b"detected", "", True, True),
    (b"1", "", True, True),
    (b"on", "", False, None),
    (b"\xff\xfe", "", False, None),
    (b'{"occupancy": true}', "distance", False, None),
])
def test_mqtt_payloads(payload, field, presence, reading):
    assert parse_payload(payload, field=field, presence=presence) == reading
