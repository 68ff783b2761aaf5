"""Work found during service against a real station database: the brake job found during an oil
change extends the leg, becomes a new leg or a follow-up booking; approved at the counter or
from HQ; refused or lapsed work gives its cells back and is never billed.

The test station has no brake job: TYRE (a mechanic's 30 minutes on a lift) plays the work found.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.domain.booking_state import BookingState
from edge.domain.found_work import APPROVAL_WAIT, Where, WorkState
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services import bookings, checkout, found_work
from tests.stations import make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def utc(when: datetime) -> str:
    return when.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%dT%H:%M:%SZ")


def claims(station, booking_id) -> list[tuple[str, str, str | None]]:
    with station.store.read() as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT bay_id, slot_start, hold_until FROM slot_claim WHERE booking_id = ? ORDER BY slot_start, bay_id",
            (booking_id,))]


def tech_claims(station, booking_id) -> list[tuple[str, str]]:
    with station.store.read() as conn:
        return [tuple(row) for row in conn.execute(
            "SELECT technician_id, slot_start FROM technician_claim WHERE booking_id = ? ORDER BY slot_start",
            (booking_id,))]


def event_types(station, prefix: str) -> list[tuple[str, dict]]:
    with station.store.read() as conn:
        return [(row[0], json.loads(row[1])) for row in conn.execute(
            "SELECT type, body FROM outbox WHERE type LIKE ? ORDER BY stream, seq", (prefix + "%",))]


def oil_change_in(station, start: datetime = at(9), bay: str = "L1", plate: str = "沪A12345"):
    """An oil change (two lift cells) whose car has arrived and is being served."""
    booking = bookings.book(station, services=["OIL"], start=start, plate=plate, bay_id=bay)
    bookings.check_in(station, booking.code, now=start - timedelta(minutes=5))
    return bookings.set_progress(station, booking.code, "in_service", now=start)


def test_work_found_joins_the_leg_when_the_next_cells_are_free_and_waits_for_the_customer(station):
    booking = oil_change_in(station)
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 20))
    assert (work.state, work.placement, work.bay_id, work.cells) == (WorkState.PENDING, Where.EXTENDED, "L1",
                                                                     (at(10),))
    assert work.hold_until == at(9, 20) + APPROVAL_WAIT and work.price_minor == 8000
    (leg,) = bookings.legs(station, booking.code)
    assert leg.services == ("OIL", "TYRE") and leg.end_at == at(10, 15)
    # the extra cell is claimed (held until the answer), the technician's too
    assert claims(station, booking.id) == [("L1", utc(at(9)), None), ("L1", utc(at(9, 30)), None),
                                           ("L1", utc(at(10)), utc(work.hold_until))]
    assert tech_claims(station, booking.id)[-1] == (booking.technician_id, utc(at(10)))
    held = bookings.booking(station, booking.code)
    # not agreed yet: the booking's services and price are as booked; its end follows the cells
    assert (held.services, held.price_minor, held.end_at) == (("OIL",), 29900, at(10, 15))
    ((_, added),) = event_types(station, "found_work.added")
    assert added["ask_customer"] is True and added["work"]["service_code"] == "TYRE"
    assert (added["name_en"], added["plate"], added["work"]["price_minor"]) == ("Tyre rotation", "沪A12345", 8000)

    (approved,) = found_work.approve(station, booking.code, now=at(9, 30))
    assert (approved.state, approved.decided_by) == (WorkState.APPROVED, "desk")
    agreed = bookings.booking(station, booking.code)
    assert (agreed.services, agreed.price_minor) == (("OIL", "TYRE"), 37900)
    assert claims(station, booking.id)[-1] == ("L1", utc(at(10)), None)  # firm now
    ((_, decided),) = event_types(station, "found_work.decided")
    assert decided["work"]["state"] == "approved"
    with pytest.raises(NotFound, match="no work awaiting"):
        found_work.refuse(station, booking.code, now=at(9, 31))


def test_with_the_customer_present_it_is_approved_at_once_and_billed(station):
    booking = oil_change_in(station)
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], customer_present=True, now=at(9, 20))
    assert (work.state, work.decided_by, work.hold_until) == (WorkState.APPROVED, "customer", None)
    assert claims(station, booking.id)[-1] == ("L1", utc(at(10)), None)
    receipt = checkout.checkout(station, booking_ref=booking.code, payments=[("bank_card", 37900)], now=at(10, 20))
    assert [(line.code, line.gross_minor) for line in receipt.receipt.lines] == [("OIL", 29900), ("TYRE", 8000)]


def test_refused_work_frees_its_cells_and_is_not_billed(station):
    booking = oil_change_in(station)
    found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 20))
    # pending work is not billed either
    with pytest.raises(RuleViolation, match="29900|299.00"):
        checkout.checkout(station, booking_ref=booking.code, payments=[("bank_card", 37900)], now=at(9, 25))
    (refused,) = found_work.refuse(station, booking.code, ["TYRE"], now=at(9, 30))
    assert refused.state == WorkState.REFUSED
    assert [bay_cell[:2] for bay_cell in claims(station, booking.id)] == [("L1", utc(at(9))), ("L1", utc(at(9, 30)))]
    assert len(tech_claims(station, booking.id)) == 2
    (leg,) = bookings.legs(station, booking.code)
    assert leg.services == ("OIL",) and leg.end_at == at(9, 45)
    assert bookings.booking(station, booking.code).end_at == at(9, 45)
    # the freed cell is bookable again
    other = bookings.book(station, services=["TYRE"], start=at(10), plate="沪B12345", bay_id="L1", now=at(9, 31))
    assert other.bay_id == "L1"
    receipt = checkout.checkout(station, booking_ref=booking.code, payments=[("bank_card", 29900)], now=at(10))
    assert [line.code for line in receipt.receipt.lines] == ["OIL"]
    with pytest.raises(InvalidTransition, match="refused already"):
        found_work.approve(station, booking.code, ["TYRE"], now=at(9, 40))


def test_work_waits_for_a_new_leg_later_that_day_when_the_bay_is_taken_next(station):
    booking = oil_change_in(station)
    bookings.book(station, services=["OIL"], start=at(10), plate="沪B12345", bay_id="L1")
    bookings.book(station, services=["OIL"], start=at(10), plate="沪C12345", bay_id="L2")
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 20))
    # both lifts are busy 10:00-11:00: the first start where a lift is free after the oil change
    assert (work.placement, work.cells) == (Where.NEW_LEG, (at(11),))
    legs = bookings.legs(station, booking.code)
    assert [(leg.bay_id, leg.services, leg.start_at) for leg in legs] == [
        ("L1", ("OIL",), at(9)), (work.bay_id, ("TYRE",), at(11))]
    assert bookings.booking(station, booking.code).end_at == at(11, 30)
    # lapsed: the leg goes, its cell is free again
    assert found_work.lapse_overdue(station, now=at(9, 40)) == []
    (lapsed,) = found_work.lapse_overdue(station, now=at(9, 20) + APPROVAL_WAIT + timedelta(seconds=1))
    assert (lapsed.state, lapsed.decided_by) == (WorkState.LAPSED, "deadline")
    assert [leg.services for leg in bookings.legs(station, booking.code)] == [("OIL",)]
    assert [c[0:2] for c in claims(station, booking.id)] == [("L1", utc(at(9))), ("L1", utc(at(9, 30)))]
    assert bookings.booking(station, booking.code).end_at == at(9, 45)


def test_the_leg_does_not_grow_when_its_technician_is_busy_next(station):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1", technician="T1")
    bookings.check_in(station, booking.code, now=at(8, 55))
    bookings.book(station, services=["TYRE"], start=at(10), plate="沪B12345", bay_id="L2", technician="T1")
    # L1 is free at 10:00 but Wang is not: the tyre job is a new leg, with Li
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 20))
    assert (work.placement, work.bay_id, work.technician_id, work.cells) == (Where.NEW_LEG, "L1", "T2", (at(10),))
    assert [leg.technician_id for leg in bookings.legs(station, booking.code)] == ["T1", "T2"]


def test_a_service_the_bay_cannot_do_becomes_a_leg_on_a_bay_that_can(station):
    booking = oil_change_in(station)
    (work,) = found_work.add_work(station, booking.code, ["WASH"], customer_present=True, now=at(9, 20))
    assert (work.placement, work.bay_id, work.cells) == (Where.NEW_LEG, "W1", (at(10),))
    assert [leg.bay_id for leg in bookings.legs(station, booking.code)] == ["L1", "W1"]
    assert bookings.booking(station, booking.code).services == ("OIL", "WASH")


def test_work_becomes_a_follow_up_booking_another_day_when_the_day_is_full(station):
    booking = oil_change_in(station, start=at(17))  # the station closes at 18:00
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(17, 10))
    assert work.placement == Where.FOLLOW_UP and work.cells == ()
    follow = bookings.booking(station, work.follow_up_booking_id)
    tuesday = MONDAY + timedelta(days=1)
    assert (follow.state, follow.plate, follow.services, follow.start_at) == (
        BookingState.HELD, booking.plate, ("TYRE",), at(8, day=tuesday))
    assert follow.hold_until == work.hold_until
    # the booking itself is unchanged
    assert [leg.services for leg in bookings.legs(station, booking.code)] == [("OIL",)]
    found_work.approve(station, booking.code, now=at(17, 20))
    assert bookings.booking(station, follow.id).state == BookingState.CONFIRMED
    assert all(hold is None for _bay, _cell, hold in claims(station, follow.id))


def test_a_follow_up_skips_a_day_the_car_is_booked_already(station):
    tuesday, wednesday = MONDAY + timedelta(days=1), MONDAY + timedelta(days=2)
    bookings.book(station, services=["WASH"], start=at(8, day=tuesday), plate="沪A12345")
    booking = oil_change_in(station, start=at(17))
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], customer_present=True, now=at(17, 10))
    follow = bookings.booking(station, work.follow_up_booking_id)
    assert (follow.state, follow.start_at) == (BookingState.CONFIRMED, at(8, day=wednesday))


def test_a_refused_follow_up_is_cancelled_and_its_cells_freed(station):
    booking = oil_change_in(station, start=at(17))
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(17, 10))
    found_work.refuse(station, booking.code, now=at(17, 20))
    follow = bookings.booking(station, work.follow_up_booking_id)
    assert follow.state == BookingState.CANCELLED and claims(station, follow.id) == []


def test_work_is_added_only_while_the_car_is_in_and_once(station):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345")
    with pytest.raises(InvalidTransition, match="while the car is in"):
        found_work.add_work(station, booking.code, ["TYRE"], now=at(8))
    booking = oil_change_in(station, start=at(11), plate="沪B12345")
    with pytest.raises(RuleViolation, match="OIL is in booking"):
        found_work.add_work(station, booking.code, ["OIL"], now=at(11, 5))
    found_work.add_work(station, booking.code, ["TYRE"], now=at(11, 5))
    with pytest.raises(RuleViolation, match="TYRE is in booking"):
        found_work.add_work(station, booking.code, ["TYRE"], now=at(11, 6))
    with pytest.raises(RuleViolation, match="package"):
        found_work.add_work(station, booking.code, ["PKG"], now=at(11, 6))
    with pytest.raises(NotFound, match="BRAKES"):
        found_work.add_work(station, booking.code, ["BRAKES"], now=at(11, 6))


def test_the_customers_answer_from_hq_is_applied_by_the_downlink(station):
    from sync.station.downlink import APPLIERS

    booking = oil_change_in(station)
    found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 20))
    with station.store.write() as conn:
        APPLIERS["booking"](station, conn, "found_work.decided",
                            {"booking_id": booking.id, "service": "TYRE", "decision": "refused"}, at(9, 25))
    (work,) = found_work.work_on(station, booking.code)
    assert (work.state, work.decided_by) == (WorkState.REFUSED, "hq")
    assert bookings.booking(station, booking.code).services == ("OIL",)
    # a second copy of the answer changes nothing
    with station.store.write() as conn:
        APPLIERS["booking"](station, conn, "found_work.decided",
                            {"booking_id": booking.id, "service": "TYRE", "decision": "approved"}, at(9, 26))
    assert found_work.work_on(station, booking.code)[0].state == WorkState.REFUSED


def test_added_work_in_the_next_leg_s_way_goes_after_it(tmp_path):
    station = make_station(tmp_path)
    booking = bookings.book(station, services=["PKG"], start=at(9), plate="沪A12345", bay_id="L1")
    bookings.check_in(station, booking.code, now=at(8, 55))
    # OIL+TYRE would run on the lift until 10:30: the wash leg starts at 10:00, so the tyre job follows it
    (work,) = found_work.add_work(station, booking.code, ["TYRE"], now=at(9, 10))
    assert work.placement == Where.NEW_LEG
    legs = bookings.legs(station, booking.code)
    assert [leg.bay_id for leg in legs][:2] == ["L1", "W1"] and legs[2].start_at >= at(10, 30)
    station.store.close()


def test_refusing_the_work_of_the_leg_the_car_is_on_keeps_the_leg_and_bills_nothing_for_it(station):
    booking = oil_change_in(station)
    (work,) = found_work.add_work(station, booking.code, ["WASH"], now=at(9, 20))
    assert (work.placement, work.cells) == (Where.NEW_LEG, (at(10),))
    bookings.set_progress(station, booking.code, "quality_check", now=at(9, 40))
    moved = bookings.set_progress(station, booking.code, "done", now=at(9, 45))
    assert (moved.leg, moved.bay_id) == (1, "W1")  # the car went on to the wash before the answer came
    found_work.refuse(station, booking.code, now=at(10, 5))
    assert [leg.bay_id for leg in bookings.legs(station, booking.code)] == ["L1", "W1"]
    assert ("W1", utc(at(10)), None) in claims(station, booking.id)  # begun: kept, and no longer held
    receipt = checkout.checkout(station, booking_ref=booking.code, payments=[("bank_card", 29900)], now=at(10, 30))
    assert [line.code for line in receipt.receipt.lines] == ["OIL"]
