"""Live station state against a real database: bay occupancy, clock-in and live capacity, device health, plate prompts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from drivers.events import BayOccupancy, CardPresented, CodeScanned, DeviceAlarm, PlateRead
from edge.config import DeviceSettings
from edge.daemon.devices import Router
from edge.domain.booking_state import BookingState, Progress
from edge.errors import InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services import bookings, live_state
from edge.services.availability import free_starts
from edge.services.live_state import DeviceHealth, PromptCandidate
from edge.services.station import open_station
from tests.stations import TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
AT_10 = datetime(2026, 11, 23, 10, tzinfo=TZ)  # two hours into everyone's shift
CARDS = TEST_CONFIG.replace('id = "T1"\nname = "Wang"', 'id = "T1"\nname = "Wang"\ncard_id = "0004660007"').replace(
    'id = "T2"\nname = "Li"', 'id = "T2"\nname = "Li"\ncard_id = "12345"')
WITH_READER = CARDS + '''
[[devices]]
id = "clock"
driver = "sim_clock_in"
options = { interval = 0 }
'''


@pytest.fixture
def cards_station(tmp_path):
    station = make_station(tmp_path, config=CARDS, now=AT_10)
    yield station
    station.store.close()


def outbox_types(station, prefix: str) -> list[str]:
    with station.store.read() as conn:
        return [r[0] for r in conn.execute("SELECT type FROM outbox WHERE type LIKE ? ORDER BY hlc", (prefix + "%",))]


def lift_starts(station, now, day=MONDAY):
    return {(o.bay_id, o.start) for o in free_starts(station, day=day, services=["OIL"], now=now)}


# -- bays -------------------------------------------------------------------------------


def test_a_bay_without_sensor_data_is_free_and_a_change_is_one_event(station):
    now = station.clock()
    assert {b.occupancy for b in live_state.bay_states(station).values()} == {"free"}
    assert live_state.bay_states(station)["L1"].source is None
    live_state.record_occupancy(station, "L1", "occupied", source="sensor-1", now=now)
    live_state.record_occupancy(station, "L1", "occupied", source="sensor-1", now=now + timedelta(seconds=5))
    live_state.record_occupancy(station, "L2", "unknown", source="sensor-1", now=now)
    states = live_state.bay_states(station)
    assert (states["L1"].occupancy, states["L1"].since, states["L1"].source) == ("occupied", now, "sensor-1")
    assert states["L2"].occupancy == "unknown" and states["W1"].occupancy == "free"
    assert outbox_types(station, "bay.") == ["bay.occupancy", "bay.occupancy"]
    with pytest.raises(RuleViolation, match="occupancy must be one of"):
        live_state.record_occupancy(station, "L1", "half", source="sensor-1", now=now)
    with pytest.raises(NotFound, match="no bay 'X9'"):
        live_state.record_occupancy(station, "X9", "free", source="sensor-1", now=now)


def test_a_stuck_sensor_is_flagged_on_its_bay_until_it_clears(station):
    now = station.clock()
    live_state.record_occupancy(station, "L1", "occupied", source="s", now=now)
    live_state.record_stuck(station, "L1", True, source="s", now=now)
    live_state.record_stuck(station, "L1", True, source="s", now=now)  # still stuck: nothing new
    assert live_state.bay_states(station)["L1"].stuck and live_state.bay_states(station)["L1"].occupancy == "occupied"
    live_state.record_stuck(station, "L1", False, source="s", now=now)
    assert not live_state.bay_states(station)["L1"].stuck
    assert outbox_types(station, "bay.") == ["bay.occupancy"] * 3


def test_a_car_entering_its_bay_is_in_bay_and_leaving_after_completion_frees_it(cards_station):
    station = cards_station
    start = AT_10 + timedelta(minutes=30)
    booking = bookings.book(station, services=["OIL"], start=start, plate="沪A12345", bay_id="L1")
    bystander = bookings.book(station, services=["OIL"], start=start, plate="沪B11111", bay_id="L2")
    bookings.check_in(station, booking.id)
    live_state.record_occupancy(station, "L1", "occupied", source="s", now=AT_10 + timedelta(minutes=5))
    assert bookings.booking(station, booking.id).progress == Progress.IN_BAY
    assert bookings.booking(station, bystander.id).progress is None  # confirmed, not checked in: untouched
    live_state.record_occupancy(station, "L2", "occupied", source="s", now=AT_10 + timedelta(minutes=5))
    assert bookings.booking(station, bystander.id).state == BookingState.CONFIRMED  # occupancy never checks in
    for stage in ("in_service", "quality_check", "done"):
        bookings.set_progress(station, booking.id, stage, now=AT_10 + timedelta(minutes=60))
    live_state.record_occupancy(station, "L1", "free", source="s", now=AT_10 + timedelta(minutes=70))
    with station.store.read() as conn:
        body = conn.execute("SELECT body FROM outbox WHERE type = 'bay.occupancy' ORDER BY hlc DESC").fetchone()[0]
    assert f'"booking_id":"{booking.id}"' in body and '"occupancy":"free"' in body


# -- technicians and live capacity ------------------------------------------------------


def test_a_card_toggles_its_technician_and_a_second_wave_is_the_same_presentation(cards_station):
    station = cards_station
    assert live_state.clock_card(station, "99999", now=AT_10) is None  # nobody's card
    arrived = live_state.clock_card(station, "4660007", now=AT_10, device="clock")  # leading zeros dropped
    assert (arrived.technician_id, arrived.clocked_in_at, arrived.clocked_out_at) == ("T1", AT_10, None)
    assert live_state.clock_card(station, "0004660007", now=AT_10 + timedelta(seconds=3)).clocked_out_at is None
    assert [t.technician_id for t in live_state.technicians_on_shift(station)] == ["T1"]
    assert live_state.clocked_in_ids(station, MONDAY) == {"T1"}
    left = live_state.clock_card(station, "0004660007", now=AT_10 + timedelta(hours=2))
    assert left.clocked_out_at == AT_10 + timedelta(hours=2)
    assert live_state.technicians_on_shift(station) == [] and live_state.clocked_in_ids(station, MONDAY) == set()
    assert outbox_types(station, "technician.") == ["technician.clocked_in", "technician.clocked_out"]


def test_without_clock_in_readers_or_clock_ins_the_roster_alone_governs(cards_station):
    station = cards_station
    assert {bay for bay, _ in lift_starts(station, AT_10)} == {"L1", "L2"}


def test_a_technician_who_clocks_out_takes_their_skill_off_todays_remaining_cells(cards_station):
    station = cards_station
    live_state.clock_card(station, "4660007", now=AT_10 - timedelta(hours=2))  # T1 at 08:00; T2 never came
    before = lift_starts(station, AT_10)
    assert before and all(o.technician_ids == ("T1",)
                          for o in free_starts(station, day=MONDAY, services=["OIL"], now=AT_10))
    live_state.clock_card(station, "4660007", now=AT_10)  # T1 leaves: no mechanic left today
    assert lift_starts(station, AT_10) == set()
    assert lift_starts(station, AT_10, day=MONDAY + timedelta(days=1))  # tomorrow: the roster governs
    assert free_starts(station, day=MONDAY, services=["WASH"], now=AT_10)  # a wash needs no mechanic
    with pytest.raises((RuleViolation, SlotTaken), match="no technician"):
        bookings.book(station, services=["OIL"], start=AT_10 + timedelta(hours=1), plate="沪A12345")
    live_state.clock_card(station, "4660007", now=AT_10 + timedelta(hours=1))  # back from an errand
    assert lift_starts(station, AT_10 + timedelta(hours=1))


def test_with_a_reader_configured_nobody_in_yet_means_only_shifts_not_begun_count(tmp_path):
    station = make_station(tmp_path, config=WITH_READER, now=AT_10)
    try:
        early = AT_10.replace(hour=8, minute=5)  # within the grace after 08:00: not absent yet
        assert lift_starts(station, early)
        assert lift_starts(station, AT_10) == set()  # 10:00, nobody clocked in: nobody is here
        live_state.clock_card(station, "12345", now=AT_10)
        assert {o.technician_ids for o in free_starts(station, day=MONDAY, services=["OIL"], now=AT_10)} == {("T2",)}
    finally:
        station.store.close()


# -- device health ----------------------------------------------------------------------


def test_device_health_is_kept_and_a_connection_change_is_an_event(station):
    now = station.clock()
    row = DeviceHealth("qr-1", "qr_serial", "entrance", True, None, None, 3, 1)
    live_state.record_device_health(station, [row], now=now)
    live_state.record_device_health(station, [replace(row, accepted=4, last_event_at=now)], now=now + timedelta(seconds=5))
    unplugged = replace(row, connected=False, last_error="device unplugged", accepted=4)
    live_state.record_device_health(station, [unplugged], now=now + timedelta(seconds=10))
    (stored,) = live_state.device_health(station)
    assert (stored.connected, stored.last_error, stored.accepted, stored.updated_at) == (
        False, "device unplugged", 4, now + timedelta(seconds=10))
    assert outbox_types(station, "device.") == ["device.health", "device.health"]


# -- plate prompts ----------------------------------------------------------------------


def _candidates(*records):
    return [PromptCandidate(b.id, b.code, b.plate, 0.3) for b in records]


def test_a_prompt_is_confirmed_into_a_check_in_or_dismissed(station):
    now = station.clock()
    start = now + timedelta(hours=2)
    booking = bookings.book(station, services=["WASH"], start=start, plate="沪A12345")
    other = bookings.book(station, services=["WASH"], start=start + timedelta(minutes=30), plate="沪A12346")
    prompt = live_state.create_plate_prompt(station, "沪A1234S", 0.8, "anpr", _candidates(booking, other), now=now)
    again = live_state.create_plate_prompt(station, "沪A1234S", 0.8, "anpr", _candidates(booking), now=now)
    assert again.id == prompt.id and [p.id for p in live_state.open_prompts(station)] == [prompt.id]
    assert prompt.candidates[0] == PromptCandidate(booking.id, booking.code, "沪A12345", 0.3)
    with pytest.raises(RuleViolation, match="not one of the prompt's candidates"):
        live_state.resolve_prompt(station, prompt.id, "someone-else", now=now)
    checked = live_state.resolve_prompt(station, prompt.id, booking.id, now=now)
    assert checked.state == BookingState.CHECKED_IN and live_state.open_prompts(station) == []
    with pytest.raises(InvalidTransition, match="already answered"):
        live_state.resolve_prompt(station, prompt.id, None, now=now)
    second = live_state.create_plate_prompt(station, "沪A1Z346", 0.5, "anpr", _candidates(other), now=now)
    assert live_state.resolve_prompt(station, second.id, None, now=now) is None
    assert bookings.booking(station, other.id).state == BookingState.CONFIRMED
    with pytest.raises(RuleViolation, match="at least one candidate"):
        live_state.create_plate_prompt(station, "沪A00000", 0.5, "anpr", [], now=now)


def test_prompts_nobody_needs_to_answer_are_closed(station):
    now = station.clock()
    start = now + timedelta(hours=2)
    booking = bookings.book(station, services=["WASH"], start=start, plate="沪A12345")
    other = bookings.book(station, services=["WASH"], start=start + timedelta(minutes=30), plate="沪A12346")
    third = bookings.book(station, services=["WASH"], start=start + timedelta(hours=1), plate="沪A12347")
    answered_by_qr = live_state.create_plate_prompt(station, "沪A1234S", 0.8, "anpr", _candidates(booking), now=now)
    waiting = live_state.create_plate_prompt(station, "沪A1Z346", 0.5, "anpr", _candidates(other, third), now=now)
    bookings.check_in(station, booking.id, now=now)  # the car's QR got there first
    bookings.cancel(station, third.id, now=now)  # one of two candidates gone: the prompt still asks about the other

    assert live_state.close_stale_prompts(station, now=now) == [(answered_by_qr.id, "moot")]
    assert [p.id for p in live_state.open_prompts(station)] == [waiting.id]
    still_young = now + live_state.PROMPT_LIFETIME - timedelta(minutes=1)
    assert live_state.close_stale_prompts(station, now=still_young) == []
    assert live_state.close_stale_prompts(station, now=now + live_state.PROMPT_LIFETIME) == [(waiting.id, "expired")]
    assert live_state.open_prompts(station) == []
    assert bookings.booking(station, other.id).state == BookingState.CONFIRMED  # closing a prompt checks nobody in


# -- the daemon's routing ---------------------------------------------------------------


def test_the_router_turns_device_events_into_live_state(tmp_path):
    station = make_station(tmp_path, config=CARDS, now=AT_10)
    try:
        router = Router(station)
        entrance = DeviceSettings(id="anpr", driver="sim_anpr")
        reader = DeviceSettings(id="clock", driver="sim_clock_in")
        sensor = DeviceSettings(id="sensor", driver="sim_occupancy")
        exact = bookings.book(station, services=["WASH"], start=AT_10 + timedelta(minutes=30), plate="沪A12345")
        fuzzy = bookings.book(station, services=["WASH"], start=AT_10 + timedelta(minutes=60), plate="京B88888")
        router.route(entrance, PlateRead("京B8888B", 0.7, "1", "anpr", AT_10))
        (prompt,) = live_state.open_prompts(station)
        assert [c.booking_id for c in prompt.candidates] == [fuzzy.id]
        assert bookings.booking(station, fuzzy.id).state == BookingState.CONFIRMED  # a look-alike never checks in
        router.route(entrance, PlateRead("沪A·12345", 0.9, "1", "anpr", AT_10))
        assert bookings.booking(station, exact.id).state == BookingState.CHECKED_IN
        router.route(entrance, PlateRead("粤Z99999", 0.9, "1", "anpr", AT_10))  # nobody expected: nothing
        assert len(live_state.open_prompts(station)) == 1
        router.route(reader, CardPresented("12345", "clock", AT_10))
        router.route(reader, CardPresented("777", "clock", AT_10))  # unknown card: refused, counted
        assert live_state.clocked_in_ids(station, MONDAY) == {"T2"} and router.refused["clock"] == 1
        router.route(sensor, BayOccupancy("L2", "occupied", 900.0, "sensor", AT_10))
        router.route(sensor, DeviceAlarm("sensor", "stuck", True, "900 mm for 600 s", AT_10, bay="L2"))
        router.route(sensor, BayOccupancy("X9", "free", 2000.0, "sensor", AT_10))  # no such bay: refused
        assert live_state.bay_states(station)["L2"] == live_state.BayLive("L2", "occupied", AT_10, True, "sensor")
        assert router.refused["sensor"] == 1
    finally:
        station.store.close()


def test_a_booking_qr_at_a_bay_reader_is_in_bay_only_at_its_own_bay(tmp_path):
    station = make_station(tmp_path, config=CARDS + '\n[security]\ntoken_key = "TST-001-test-signing-key"\n', now=AT_10)
    try:
        router = Router(station)
        at_l1 = DeviceSettings(id="qr-l1", driver="sim_qr", role="bay", bay="L1")
        at_l2 = DeviceSettings(id="qr-l2", driver="sim_qr", role="bay", bay="L2")
        booking = bookings.book(station, services=["OIL"], start=AT_10 + timedelta(minutes=30), plate="沪A12345",
                                bay_id="L1")
        token = bookings.booking_token(station, booking.id)
        router.route(at_l2, CodeScanned(token, "qr-l2", AT_10))
        wrong_bay = bookings.booking(station, booking.id)
        assert (wrong_bay.state, wrong_bay.progress) == (BookingState.CHECKED_IN, Progress.RECEIVED)
        router.route(at_l1, CodeScanned(token, "qr-l1", AT_10))
        assert bookings.booking(station, booking.id).progress == Progress.IN_BAY
    finally:
        station.store.close()


def test_live_state_survives_a_restart(cards_station):
    station = cards_station
    live_state.clock_card(station, "12345", now=AT_10)
    live_state.record_occupancy(station, "W1", "occupied", source="s", now=AT_10)
    again = open_station(station.store.path.parent, clock=lambda: AT_10)
    try:
        assert [t.technician_id for t in live_state.technicians_on_shift(again)] == ["T2"]
        assert live_state.bay_states(again)["W1"].occupancy == "occupied"
    finally:
        again.store.close()


def test_a_stay_left_open_yesterday_does_not_make_todays_card_a_clock_out(cards_station):
    station = cards_station
    live_state.clock_card(station, "12345", now=AT_10 - timedelta(days=1))  # Li forgot to clock out on Sunday
    assert live_state.clocked_in_ids(station, MONDAY - timedelta(days=1)) == {"T2"}
    back = live_state.clock_card(station, "12345", now=AT_10)
    assert (back.clocked_in_at, back.clocked_out_at) == (AT_10, None)
    assert live_state.clocked_in_ids(station, MONDAY) == {"T2"}
    assert live_state.clocked_in_ids(station, MONDAY - timedelta(days=1)) == set()  # Sunday's stay is closed
