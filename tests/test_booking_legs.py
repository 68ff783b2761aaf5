"""Bookings in legs against a real station database: the lift, then the wash, as one booking.

The test station's package PKG is an oil change (lifts only) and a wash (the wash bay only):
no bay does both, so it is two legs.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from edge.domain.booking_state import BookingState, Progress
from edge.config import ConfigError
from edge.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services import arrivals, assignments, availability, bookings, waitlist
from edge.services.setup import init_station
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def utc(hh: int, mm: int = 0) -> str:
    return at(hh, mm).astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def cells(station, booking_id) -> list[tuple[str, str]]:
    with station.store.read() as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT bay_id, slot_start FROM slot_claim WHERE booking_id = ? ORDER BY slot_start, bay_id",
            (booking_id,))]


def tech_cells(station, booking_id) -> list[tuple[str, str]]:
    with station.store.read() as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT technician_id, slot_start FROM technician_claim WHERE booking_id = ? ORDER BY slot_start",
            (booking_id,))]


def events(station, booking_id) -> list[SimpleNamespace]:
    with station.store.read() as conn:
        return [SimpleNamespace(type=row[0], body=json.loads(row[1])) for row in conn.execute(
            "SELECT type, body FROM outbox WHERE entity_id = ? ORDER BY seq", (booking_id,))]


def test_a_package_no_one_bay_can_do_books_as_two_legs_with_every_cell_claimed(station):
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    legs = bookings.legs(station, booking.code)
    assert [(leg.bay_id, leg.services) for leg in legs] == [("L1", ("OIL",)), ("W1", ("WASH",))]
    # the oil change's 45 minutes and the lift's 15-minute turnover, then the wash from 10:00
    assert (legs[0].start_at, legs[0].end_at, legs[1].start_at, legs[1].end_at) == (at(9), at(9, 45), at(10), at(10, 30))
    assert (booking.start_at, booking.end_at, booking.bay_id, booking.leg) == (at(9), at(10, 30), "L1", 0)
    assert cells(station, booking.id) == [("L1", utc(9)), ("L1", utc(9, 30)), ("W1", utc(10))]
    # the wash needs no technician: only the lift's cells are a mechanic's
    assert [t for t, _ in tech_cells(station, booking.id)] == [legs[0].technician_id] * 2
    assert legs[1].technician_id is None
    (event,) = events(station, booking.id)
    assert event.type == "booking.confirmed"
    assert [leg["bay_id"] for leg in event.body["legs"]] == ["L1", "W1"]
    # the same work named service by service is the same two legs
    other = bookings.book(station, services=["OIL", "WASH"], start=at(9), plate="沪B12345")
    assert [leg.bay_id for leg in bookings.legs(station, other.id)] == ["L2", "W1"]
    assert bookings.legs(station, other.id)[1].start_at == at(10, 30)  # W1 is taken at 10:00: the next cell


def test_services_one_bay_does_stay_one_leg(station):
    booking = bookings.book(station, services=["OIL", "TYRE"], start=at(9), plate="沪A12345")
    (leg,) = bookings.legs(station, booking.id)
    assert leg.services == ("OIL", "TYRE") and leg.bay_id == booking.bay_id == "L1"


def test_slots_for_several_services_list_the_starts_where_the_whole_sequence_fits(station):
    bookings.book(station, services=["WASH"], start=at(10), plate="沪C00001")
    bookings.book(station, services=["WASH"], start=at(10, 30), plate="沪C00002")
    options = availability.free_starts(station, day=MONDAY, services=["PKG"], now=at(7).astimezone(ZoneInfo("UTC")))
    nine = [o for o in options if o.start == at(9)]
    # from 09:00 the wash would wait for 11:00: within the hour a car may wait between legs
    assert [[(leg.bay_id, leg.starts[0]) for leg in o.legs] for o in nine] == [
        [("L1", at(9)), ("W1", at(11))], [("L2", at(9)), ("W1", at(11))]]
    assert all(o.end == at(11, 30) for o in nine)
    # the last start: the wash must end by 18:00
    assert max(o.start for o in options) == at(16, 30)
    assert availability.free_starts(station, day=MONDAY, services=["PKG"], bay_id="W1") == []  # W1 is not the first leg's


def test_reschedule_moves_every_leg_or_none(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG.replace("waitlist_offer_minutes = 20",
                                                                "waitlist_offer_minutes = 20\nleg_max_wait_minutes = 0"))
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    bookings.book(station, services=["WASH"], start=at(15), plate="沪C00001")
    before = cells(station, booking.id)
    with pytest.raises(SlotTaken, match="after OIL, every bay that can do WASH is booked"):
        bookings.reschedule(station, booking.code, start=at(14))
    assert cells(station, booking.id) == before  # the old cells are kept, on both bays
    moved = bookings.reschedule(station, booking.code, start=at(13))
    assert cells(station, moved.id) == [("L1", utc(13)), ("L1", utc(13, 30)), ("W1", utc(14))]
    assert [leg.start_at for leg in bookings.legs(station, moved.id)] == [at(13), at(14)]
    assert (moved.start_at, moved.end_at) == (at(13), at(14, 30))
    (rescheduled,) = [e for e in events(station, moved.id) if e.type == "booking.rescheduled"]
    assert [leg["start_at"] for leg in rescheduled.body["legs"]] == [utc(13), utc(14)]


def test_cancel_and_no_show_free_every_leg(station):
    first = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    bookings.cancel(station, first.code)
    assert cells(station, first.id) == [] and tech_cells(station, first.id) == []
    second = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    assert [leg.bay_id for leg in bookings.legs(station, second.id)] == ["L1", "W1"]  # the same cells again
    bookings.mark_no_show(station, second.code, now=at(9, 40))
    assert cells(station, second.id) == []


def test_a_hold_lapses_and_confirms_on_every_leg(station):
    held = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", hold=True)
    with station.store.read() as conn:
        holds = {row[0] for row in conn.execute("SELECT hold_until FROM slot_claim WHERE booking_id = ?", (held.id,))}
    assert holds == {held.hold_until.strftime("%Y-%m-%dT%H:%M:%SZ")}
    bookings.confirm(station, held.code)
    with station.store.read() as conn:
        assert conn.execute("SELECT count(*) FROM slot_claim WHERE booking_id = ? AND hold_until IS NOT NULL",
                            (held.id,)).fetchone()[0] == 0
    lapsing = bookings.book(station, services=["PKG"], start=at(11), plate="沪B12345", hold=True)
    bookings.expire_holds(station, now=NOW + timedelta(hours=1))
    assert cells(station, lapsing.id) == []


def test_the_car_checks_in_at_the_first_leg_and_moves_on_to_the_wash_as_a_progress_step(station):
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    checked = arrivals.arrive(station, booking.code, by=arrivals.By.BOOKING, bay="L1", now=at(8, 55))
    assert isinstance(checked, arrivals.MovedInBay)
    bookings.set_progress(station, booking.code, "in_service", now=at(9))
    bookings.set_progress(station, booking.code, "quality_check", now=at(9, 25))
    moved = bookings.set_progress(station, booking.code, "done", now=at(9, 28))
    # the lift's leg is done early: the car is in the wash bay, not completed, and the lift's 09:30 cell is free
    assert (moved.state, moved.progress, moved.bay_id, moved.leg) == (BookingState.CHECKED_IN, "in_bay", "W1", 1)
    assert moved.technician_id is None
    assert cells(station, booking.id) == [("L1", utc(9)), ("W1", utc(10))]
    bookings.set_progress(station, booking.code, "in_service", now=at(10))
    bookings.set_progress(station, booking.code, "quality_check", now=at(10, 25))
    done = bookings.set_progress(station, booking.code, "done", now=at(10, 25))
    assert done.state == BookingState.COMPLETED


def test_a_car_waits_for_its_next_bay_while_another_car_is_in_it_then_the_bay_reader_moves_it_in(station):
    wash = bookings.book(station, services=["WASH"], start=at(9, 30), plate="沪C00001")
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345")
    arrivals.arrive(station, wash.code, by=arrivals.By.BOOKING, bay="W1", now=at(9, 30))
    arrivals.arrive(station, booking.code, by=arrivals.By.BOOKING, bay="L1", now=at(9))
    bookings.set_progress(station, booking.code, "in_service", now=at(9))
    bookings.set_progress(station, booking.code, "quality_check", now=at(9, 45))
    moved = bookings.set_progress(station, booking.code, "done", now=at(9, 50))
    assert (moved.progress, moved.bay_id) == ("received", "W1")  # W1 still has the other car
    bookings.complete(station, wash.code, now=at(9, 55))
    scanned = arrivals.arrive(station, booking.code, by=arrivals.By.BOOKING, bay="W1", now=at(10))
    assert isinstance(scanned, arrivals.MovedInBay)
    assert bookings.booking(station, booking.code).progress == "in_bay"


def test_a_technician_asked_for_by_name_does_the_legs_they_have_the_skills_for(station):
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", technician="li")
    assert [leg.technician_id for leg in bookings.legs(station, booking.id)] == ["T2", None]
    with pytest.raises(RuleViolation, match="Li is not rostered and free"):
        bookings.book(station, services=["OIL"], start=at(9), plate="沪B12345", technician="T2")
    with pytest.raises(NotFound, match="no technician 'Zhao'"):
        bookings.book(station, services=["OIL"], start=at(9), plate="沪B12345", technician="Zhao")


def test_the_desk_reassigns_a_leg_checking_skills_and_clashes(tmp_path):
    config = TEST_CONFIG.replace('[[tiers]]', '[[technicians]]\nid = "T3"\nname = "Zhou"\nskills = ["wash"]\n'
                                 '[technicians.roster]\nmon = ["08:00-18:00"]\n\n[[tiers]]', 1)
    station = make_station(tmp_path, config=config)
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", technician="Wang")
    other = bookings.book(station, services=["OIL"], start=at(9), plate="沪B12345")
    assert other.technician_id == "T2"
    with pytest.raises(RuleViolation, match="Li is busy then: booking " + other.code):
        assignments.reassign(station, booking.code, "Li")
    with pytest.raises(RuleViolation, match="Zhou has not the skills mechanic"):
        assignments.reassign(station, booking.code, "T3", leg=1)
    with pytest.raises(RuleViolation, match="WASH needs no technician"):
        assignments.reassign(station, booking.code, "Li", leg=2)
    with pytest.raises(InvalidInput, match="legs 1 to 2, not 3"):
        assignments.reassign(station, booking.code, "Li", leg=3)
    bookings.cancel(station, other.code)
    moved = assignments.reassign(station, booking.code, "Li")
    assert moved.technician_id == "T2"
    assert [t for t, _ in tech_cells(station, booking.id)] == ["T2", "T2"]
    assert "booking.reassigned" in [e.type for e in events(station, booking.id)]
    bookings.cancel(station, booking.code)
    with pytest.raises(InvalidTransition, match="cancelled"):
        assignments.reassign(station, booking.code, "Wang")


def test_a_waitlist_offer_holds_a_whole_multi_leg_booking(station):
    blocker = bookings.book(station, services=["WASH"], start=at(9), plate="沪C00001")
    for minute in range(9 * 60 + 30, 18 * 60, 30):
        bookings.book(station, services=["WASH"], start=at(minute // 60, minute % 60), plate=f"沪C{minute:05d}")
    entry = waitlist.join(station, services=["PKG"], day=MONDAY, plate="沪A12345")
    assert entry.state == "waiting"
    bookings.cancel(station, blocker.code)
    (offered,) = [e for e in waitlist.entries(station, day=MONDAY) if e.id == entry.id]
    assert offered.state == "offered"
    held = bookings.booking(station, offered.offered_booking_id)
    assert held.state == BookingState.HELD
    assert [leg.bay_id for leg in bookings.legs(station, held.id)] == ["L1", "W1"]
    assert ("W1", utc(9)) in cells(station, held.id)


def test_init_refuses_a_package_no_combination_of_bays_can_ever_serve(tmp_path):
    config = TEST_CONFIG.replace('price = 31900', 'price = 31900\n\n[[packages]]\ncode = "PKG-DAY"\nname_zh = "全天"\n'
                                 'name_en = "All day"\nservices = ["OIL", "TYRE", "WASH"]\nprice = 1')
    config = config.replace('duration_minutes = 30\nprice = 8000', 'duration_minutes = 540\nprice = 8000')
    path = tmp_path / "config.toml"
    path.write_text(config, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        init_station(path, tmp_path / "data")
    line = next(i for i, text in enumerate(config.splitlines(), 1) if text.startswith('services = ["OIL", "TYRE", "WASH"]'))
    assert f"config.toml:{line}: packages[1].services: package PKG-DAY can never be booked: WASH never finds room" \
        in str(err.value)
    assert not (tmp_path / "data").exists()


def test_a_broken_bay_of_any_leg_finds_the_booking_and_moving_it_moves_every_leg(station):
    from edge.services import disruptions

    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", bay_id="L1")
    disruptions.set_bay_in_service(station, "L1", False, "hydraulic leak", now=at(7, 30))
    (offered,) = disruptions.disruptions_for(station, bay_id="L1", now=at(7, 31))
    assert offered.offers[0].bay_id == "L2"
    moved = disruptions.resolve_disruption(station, booking.code, "other_bay", now=at(7, 40)).booking
    assert [leg.bay_id for leg in bookings.legs(station, moved.id)] == ["L2", "W1"]
    assert cells(station, booking.id) == [("L2", utc(9)), ("L2", utc(9, 30)), ("W1", utc(10))]
    # the wash bay is the second leg's: a broken wash tunnel finds the booking too, and with no
    # other wash bay it cannot move
    disruptions.set_bay_in_service(station, "W1", False, "pump", now=at(7, 50))
    (stuck,) = disruptions.disruptions_for(station, bay_id="W1", now=at(7, 51))
    assert stuck.booking.id == booking.id and all(o.kind != "other_bay" for o in stuck.offers)


def test_the_mechanic_of_a_booking_in_legs_keeps_the_job_in_the_technicians_report(station):
    from edge.domain.reports import period_of
    from edge.services.reports import station_report

    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", technician="Wang")
    bookings.check_in(station, booking.code, now=at(8, 55))
    for stage, minute in (("in_bay", 0), ("in_service", 1), ("quality_check", 40), ("done", 44),
                          ("in_service", 60), ("quality_check", 80), ("done", 85)):
        done = bookings.set_progress(station, booking.code, stage, now=at(9) + timedelta(minutes=minute))
    assert done.state == BookingState.COMPLETED and done.technician_id is None  # it ended at the wash
    (section,) = station_report(station, period_of("day", MONDAY), ["technicians"], now=at(12)).sections
    jobs = {row["technician"]: row["jobs"] for row in section.records()}
    assert jobs == {"T1": 1, "T2": 0}
