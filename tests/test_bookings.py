"""Booking services against a real station database: claims, holds, moves, waitlist, outbox."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest

from edge.domain.booking_state import BookingState
from edge.errors import InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services import arrivals, availability, bookings, waitlist
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def claims(station, booking_id):
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT bay_id, slot_start FROM slot_claim WHERE booking_id = ? ORDER BY slot_start", (booking_id,)
        )
        return [SimpleNamespace(**dict(row)) for row in rows]


def outbox(station):
    with station.store.read() as conn:
        rows = conn.execute("SELECT stream, seq, type, idem_key FROM outbox ORDER BY stream, seq")
        return [SimpleNamespace(**dict(row)) for row in rows]


def test_book_claims_every_cell_and_writes_one_event(station):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1")
    assert booking.state == BookingState.CONFIRMED
    assert booking.end_at == at(9, 45)
    # 45 minutes of work + 15 of buffer = two 30-minute cells
    assert [c.slot_start for c in claims(station, booking.id)] == ["2026-11-23T01:00:00Z", "2026-11-23T01:30:00Z"]
    assert booking.technician_id in {"T1", "T2"}
    assert booking.price_minor == 29900 and booking.currency == "CNY"
    assert booking.price_version == station.catalog().version != ""
    events = [e for e in outbox(station) if e.type.startswith("booking.")]
    assert [(e.stream, e.seq, e.type) for e in events] == [("booking", 1, "booking.confirmed")]
    assert events[0].idem_key == f"booking:{booking.id}:1"


def test_a_taken_cell_is_refused_and_the_next_free_bay_is_used_when_none_is_named(station):
    first = bookings.book(station, services=["OIL"], start=at(9), plate="沪A11111", bay_id="L1")
    with pytest.raises(SlotTaken, match="L1 is already booked at 2026-11-23 09:30"):
        bookings.book(station, services=["TYRE"], start=at(9, 30), plate="沪A22222", bay_id="L1")
    second = bookings.book(station, services=["TYRE"], start=at(9, 30), plate="沪A22222")
    assert second.bay_id == "L2"
    assert second.technician_id != first.technician_id  # T1 and T2 each serve one car
    with pytest.raises(SlotTaken):
        bookings.book(station, services=["TYRE"], start=at(9, 30), plate="沪A33333")


def test_technicians_limit_capacity(tmp_path):
    config = TEST_CONFIG.replace('name = "Li"\nskills = ["mechanic"]', 'name = "Li"\nskills = ["washer"]')
    station = make_station(tmp_path, config=config)
    bookings.book(station, services=["OIL"], start=at(9), plate="沪A11111", bay_id="L1")
    free_l2 = [o for o in availability.free_starts(station, day=MONDAY, services=["OIL"]) if o.bay_id == "L2"]
    assert at(9) not in [o.start for o in free_l2]  # L2 is free but the only mechanic is busy
    with pytest.raises(RuleViolation, match="no technician with mechanic is rostered and free"):
        bookings.book(station, services=["OIL"], start=at(9), plate="沪A22222", bay_id="L2")
    assert bookings.book(station, services=["WASH"], start=at(9), plate="沪A22222").bay_id == "W1"


def test_a_lapsed_hold_frees_its_technician_in_the_day_view(tmp_path):
    config = TEST_CONFIG.replace('name = "Li"\nskills = ["mechanic"]', 'name = "Li"\nskills = ["washer"]')
    station = make_station(tmp_path, config=config)
    held = bookings.book(station, services=["OIL"], start=at(9), plate="沪A11111", bay_id="L1", hold=True)

    def l2_starts(now):
        return [o.start for o in availability.free_starts(station, day=MONDAY, services=["OIL"], now=now)
                if o.bay_id == "L2"]

    assert at(9) not in l2_starts(NOW)  # the only mechanic is held for L1
    assert at(9) in l2_starts(held.hold_until + timedelta(minutes=1))  # the hold lapsed: he is free again


def test_availability_lists_free_starts_per_bay(station):
    before = availability.free_starts(station, day=MONDAY, services=["WASH"])
    assert len(before) == 20 and {o.bay_id for o in before} == {"W1"}
    bookings.book(station, services=["WASH"], start=at(8), plate="沪A11111")
    after = availability.free_starts(station, day=MONDAY, services=["WASH"])
    assert at(8) not in [o.start for o in after] and len(after) == 19
    oil = availability.free_starts(station, day=MONDAY, services=["OIL"])
    assert {o.bay_id for o in oil} == {"L1", "L2"}
    assert max(o.start for o in oil) == at(17)  # 60 occupied minutes must end by 18:00


def test_hold_lapses_and_frees_its_cells(station):
    held = bookings.book(station, services=["WASH"], start=at(10), plate="沪A11111", hold=True)
    assert held.state == BookingState.HELD and held.hold_until == NOW + timedelta(minutes=10)
    later = NOW + timedelta(minutes=11)
    assert at(10) in [o.start for o in availability.free_starts(station, day=MONDAY, services=["WASH"], now=later)]
    with pytest.raises(InvalidTransition, match="hold lapsed"):
        bookings.confirm(station, held.code, now=later)
    # a new booking takes over the lapsed hold's cell; the hold expires in the same transaction
    taker = bookings.book(station, services=["WASH"], start=at(10), plate="沪A22222", now=later)
    assert bookings.booking(station, held.id).state == BookingState.EXPIRED
    assert claims(station, taker.id) and not claims(station, held.id)


def test_confirm_in_time_makes_the_hold_firm(station):
    held = bookings.book(station, services=["WASH"], start=at(10), plate="沪A11111", hold=True)
    confirmed = bookings.confirm(station, held.code, now=NOW + timedelta(minutes=5))
    assert confirmed.state == BookingState.CONFIRMED and confirmed.hold_until is None
    assert bookings.expire_holds(station, now=NOW + timedelta(hours=1)) == []


def test_reschedule_is_atomic(station):
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111")
    blocker = bookings.book(station, services=["WASH"], start=at(11), plate="沪A22222")
    with pytest.raises(SlotTaken):
        bookings.reschedule(station, booking.code, start=at(11))
    kept = bookings.booking(station, booking.id)
    assert kept.start_at == at(9) and kept.version == 1
    assert [c.slot_start for c in claims(station, booking.id)] == ["2026-11-23T01:00:00Z"]
    moved = bookings.reschedule(station, booking.code, start=at(12))
    assert moved.start_at == at(12) and moved.version == 2
    assert [c.slot_start for c in claims(station, booking.id)] == ["2026-11-23T04:00:00Z"]
    assert claims(station, blocker.id)


def test_check_in_by_plate_then_progress_to_done_releases_future_cells(station):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345", bay_id="L1")
    arrived = at(8, 50).astimezone(UTC)
    checked = arrivals.arrive(station, "沪a·12345", by=arrivals.By.PLATE, now=arrived).booking
    assert checked.id == booking.id and checked.state == BookingState.CHECKED_IN and checked.progress == "received"
    for stage in ("in_bay", "in_service", "quality_check"):
        bookings.set_progress(station, booking.code, stage, now=arrived)
    with pytest.raises(InvalidTransition, match="cannot go to in_bay"):
        bookings.set_progress(station, booking.code, "in_bay", now=arrived)
    done = bookings.set_progress(station, booking.code, "done", now=at(9, 20))
    assert done.state == BookingState.COMPLETED
    # the 09:30 cell had not begun: it is free again
    assert [c.slot_start for c in claims(station, booking.id)] == ["2026-11-23T01:00:00Z"]
    types = [e.type for e in outbox(station) if e.type.startswith("booking.")]
    assert types.count("booking.progress") == 3 and "booking.completed" in types


def test_no_show_releases_cells_and_lowers_credit(station):
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", phone="13800000000")
    with pytest.raises(InvalidTransition, match="not a no-show yet"):
        bookings.mark_no_show(station, booking.code)
    missed = bookings.mark_no_show(station, booking.code, now=at(9, 40))
    assert missed.state == BookingState.NO_SHOW and not claims(station, booking.id)
    member = bookings.member_for_phone(station, "13800000000")
    assert member.credit_score == 100 - 20


def test_cancel_offers_the_freed_slot_to_the_waitlist(station):
    booking = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111")
    entry = waitlist.join(station, services=["WASH"], day=MONDAY, plate="沪B99999",
                          earliest=at(9).timetz().replace(tzinfo=None), latest=at(9, 30).timetz().replace(tzinfo=None))
    assert entry.state == "waiting"
    bookings.cancel(station, booking.code, reason="customer called")
    (offered,) = waitlist.entries(station, day=MONDAY)
    assert offered.state == "offered"
    hold = bookings.booking(station, offered.offered_booking_id)
    assert hold.state == BookingState.HELD and hold.plate == "沪B99999" and hold.start_at == at(9)
    assert hold.hold_until == NOW + timedelta(minutes=20)


def test_tier_rules_apply(station):
    saturday = date(2026, 11, 28)
    with pytest.raises(RuleViolation, match="3 days ahead"):
        bookings.book(station, services=["WASH"], start=at(9, day=date(2026, 11, 27)), plate="沪A11111")
    thursday = at(10, day=date(2026, 11, 26))
    with pytest.raises(RuleViolation, match="hot slot kept for gold"):
        bookings.book(station, services=["WASH"], start=at(10, day=saturday), plate="沪A11111", now=thursday)
    friday_noon = at(12, day=date(2026, 11, 27))  # inside the 24 h release window
    bookings.book(station, services=["WASH"], start=at(10, day=saturday), plate="沪A11111", now=friday_noon)


def test_errors_name_the_thing(station):
    with pytest.raises(NotFound, match="no booking 'NOPE'"):
        bookings.confirm(station, "NOPE")
    with pytest.raises(NotFound, match="no bay 'X9'"):
        bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", bay_id="X9")
    with pytest.raises(RuleViolation, match="bay L1 cannot do WASH"):
        bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111", bay_id="L1")
    with pytest.raises(RuleViolation, match="runs past closing"):
        bookings.book(station, services=["OIL"], start=at(17, 30), plate="沪A11111")


def test_a_booking_whose_code_is_taken_draws_another(station, monkeypatch):
    import edge.services.booking_store as booking_store

    codes = iter(["K7Q2XM", "K7Q2XM", "P4D9TA"])
    monkeypatch.setattr(booking_store, "short_code", lambda: next(codes))
    first = bookings.book(station, services=["WASH"], start=at(9), plate="沪A11111")
    second = bookings.book(station, services=["WASH"], start=at(10), plate="沪A22222")
    assert (first.code, second.code) == ("K7Q2XM", "P4D9TA")
    assert bookings.booking(station, "P4D9TA").id == second.id
    with station.store.read() as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM outbox WHERE entity_id = ?", (second.id,))]
    assert '"code":"P4D9TA"' in bodies[0]  # HQ learns the code the customer was given
