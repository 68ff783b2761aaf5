"""Work found during service, pure: the extra cells of a grown leg, room for the next leg, who may
add or decide, and the bill split into the work booked and the approved added work."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.domain import found_work as rules
from edge.domain.booking_state import BookingState
from edge.domain.found_work import WorkState
from edge.domain.legs import LegItem, LegRules, split_into_legs
from edge.domain.slots import slot_grid
from edge.errors import InvalidTransition, RuleViolation

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)
GRID = slot_grid(MONDAY, {0: ((8 * 60, 12 * 60), (13 * 60, 17 * 60))}, frozenset(), TZ, 30)
BAYS = {"L1": frozenset({"OIL", "TYRE", "BRAKE", "ALIGN", "CHECK"})}
OIL, TYRE, BRAKE = LegItem("OIL", 45, 15, "mechanic"), LegItem("TYRE", 30, 0, "mechanic"), LegItem("BRAKE", 90, 0, None)


def at(hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, 23, hh, mm, tzinfo=TZ).astimezone(UTC)


def leg(*items: LegItem):
    (one,) = split_into_legs(items, BAYS, [frozenset({"mechanic"})])
    return one


def test_a_grown_leg_needs_the_cells_after_its_own_within_the_opening_segment():
    # the oil change holds 09:00 and 09:30; with a tyre job (75 min + 15 turnover) it needs 10:00 too
    assert rules.extension_cells(GRID, at(9), leg(OIL), leg(OIL, TYRE), 30) == (at(10),)
    # ending at 11:30 before the lunch break still fits; 90 more minutes from 10:30 would cross it
    assert rules.extension_cells(GRID, at(10, 30), leg(OIL), leg(OIL, TYRE), 30) == (at(11, 30),)
    assert rules.extension_cells(GRID, at(10, 30), leg(OIL), leg(OIL, BRAKE), 30) is None
    # work that fits in the cells the leg has already needs none more
    align, check = LegItem("ALIGN", 40, 0, None), LegItem("CHECK", 10, 0, None)
    assert rules.extension_cells(GRID, at(9), leg(align), leg(align, check), 30) == ()


def test_a_grown_leg_must_still_let_the_car_reach_its_next_leg():
    gaps = LegRules(transfer_minutes={("lift", "wash"): 10}, max_wait_minutes=60)
    assert rules.leaves_room_for_next(gaps, leg(OIL), at(9), "lift", "wash", at(10, 10))
    assert not rules.leaves_room_for_next(gaps, leg(OIL, TYRE), at(9), "lift", "wash", at(10, 10))
    # after the last leg: ready when the farthest kind of bay the work could use is reachable
    assert rules.ready_after(gaps, leg(OIL), at(9), "lift", {"lift", "wash"}) == at(10, 10)
    assert rules.ready_after(gaps, leg(OIL), at(9), "lift", ()) == at(10)


def test_work_is_added_only_while_the_car_is_in_and_each_service_once():
    rules.check_can_add("ABC123", BookingState.IN_SERVICE, ["OIL", "TYRE"])
    rules.check_can_add("ABC123", BookingState.CHECKED_IN, ["OIL"])
    for state in (BookingState.CONFIRMED, BookingState.COMPLETED, BookingState.HELD):
        with pytest.raises(InvalidTransition, match="while the car is in"):
            rules.check_can_add("ABC123", state, ["OIL"])
    with pytest.raises(RuleViolation, match="OIL is in booking ABC123"):
        rules.check_can_add("ABC123", BookingState.IN_SERVICE, ["OIL", "TYRE", "OIL"])


def test_only_pending_work_is_decided():
    rules.check_decision("ABC123", "TYRE", WorkState.PENDING, WorkState.APPROVED)
    for state in (WorkState.APPROVED, WorkState.REFUSED, WorkState.LAPSED):
        with pytest.raises(InvalidTransition, match=f"TYRE on booking ABC123 is {state}"):
            rules.check_decision("ABC123", "TYRE", state, WorkState.REFUSED)
    assert rules.approval_deadline(at(9)) == at(9) + timedelta(minutes=30)


def test_the_bill_takes_the_approved_added_work_out_of_the_booking_as_lines_of_its_own():
    bill = rules.split_bill(("OIL", "TYRE", "WASH"), 40900, [("TYRE", 8000)])
    assert (bill.services, bill.price_minor, bill.added) == (("OIL", "WASH"), 32900, (("TYRE", 8000),))
    assert rules.split_bill(("OIL",), 29900, []) == rules.Billed(("OIL",), 29900, ())
