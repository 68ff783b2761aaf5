"""The booking pipeline's steps one by one, on a real station database: admission, placement,
ownership, side effects."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from edge.domain.booking_state import BookingState
from edge.errors import NotFound, RuleViolation, SlotTaken
from edge.services import booking_pipeline as pipeline
from edge.services import bookings
from edge.services.booking_store import legs_of
from edge.services.placement import Wishes
from tests.stations import NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


def ask(station, services=("PKG",), start=None, **kw) -> pipeline.Ask:
    return pipeline.Ask(plan=station.catalog().plan(list(services)), start=start or at(9), plate="沪A12345",
                        member=None, channel="phone", **kw)


def test_admission_checks_wishes_first_then_the_tier_and_gives_the_hold_deadline(station):
    with station.store.read() as conn:
        with pytest.raises(NotFound, match="no bay 'Q7'"):
            pipeline.admit(conn, station, ask(station, wishes=Wishes(bay_id="Q7"), start=at(9, day=date(2027, 1, 1))),
                           now=NOW)
        with pytest.raises(RuleViolation, match="bay W1 cannot do OIL"):
            pipeline.admit(conn, station, ask(station, ["OIL"], wishes=Wishes(bay_id="W1")), now=NOW)
        # the guest tier books 3 days ahead
        with pytest.raises(RuleViolation, match="3 days"):
            pipeline.admit(conn, station, ask(station, start=at(9, day=date(2026, 12, 1))), now=NOW)
        admitted = pipeline.admit(conn, station, ask(station, hold=True), now=NOW)
    assert admitted.tier.name == "regular" and admitted.fleet is None and not admitted.pending_approval
    assert admitted.hold_until is not None and (admitted.hold_until - NOW).total_seconds() == 10 * 60


def test_placement_places_every_leg_and_names_the_leg_that_does_not_fit(station):
    bookings.book(station, services=["WASH"], start=at(10), plate="沪C00001")
    bookings.book(station, services=["WASH"], start=at(10, 30), plate="沪C00002")
    bookings.book(station, services=["WASH"], start=at(11), plate="沪C00003")
    with station.store.read() as conn:
        placed = pipeline.place(conn, station, ask(station, start=at(8)), now=NOW)
        assert [(p.bay.id, p.starts[0], p.technician_id is not None) for p in placed.legs] == [
            ("L1", at(8), True), ("W1", at(9), False)]
        # from 09:00 the wash would be ready at 10:00; W1 is taken until 11:30, past the hour's wait
        with pytest.raises(SlotTaken, match="after OIL, every bay that can do WASH is booked within 60 minutes"):
            pipeline.place(conn, station, ask(station, start=at(9)), now=NOW)


def test_placement_keeps_a_car_in_one_place(station):
    bookings.book(station, services=["TYRE"], start=at(9, 30), plate="沪A12345")
    with station.store.read() as conn:
        # from 08:00 the package's lift and wash are over by 09:30, when the car is due on a lift
        assert pipeline.place(conn, station, ask(station, start=at(8)), now=NOW)
        # from 08:30 its wash (09:30-10:00) would keep the car from its tyre rotation
        with pytest.raises(RuleViolation, match="沪A12345 already has booking"):
            pipeline.place(conn, station, ask(station, start=at(8, 30)), now=NOW)


def test_ownership_finds_the_legs_on_hqs_cells(tmp_path):
    # HQ sells half of the cells, in runs of an hour
    config = TEST_CONFIG.replace("[booking]", "[escrow]\nhq_share = 0.5\nblock_minutes = 60\n\n[booking]", 1)
    station = make_station(tmp_path, config=config)
    with station.store.read() as conn:
        owned = [pipeline.own(conn, station, pipeline.place(conn, station, ask(station, start=at(h)), now=NOW))
                 for h in range(8, 17)]
    # some starts put a leg on HQ's cells and some do not: the booking is tentative exactly when one does
    assert {o.tentative for o in owned} == {True, False}
    assert all(o.tentative == bool(o.hq_legs) for o in owned)


def test_the_first_state_follows_ownership_approval_and_hold(station):
    admitted = pipeline.Admission(station.tier(None), None, hold_until=NOW)
    none, hq = pipeline.Ownership(()), pipeline.Ownership(("a leg",))  # type: ignore[arg-type]
    assert pipeline.state_of(ask(station), admitted, none) == BookingState.CONFIRMED
    assert pipeline.state_of(ask(station, hold=True), admitted, none) == BookingState.HELD
    assert pipeline.state_of(ask(station, hold=True), admitted, hq) == BookingState.TENTATIVE


def test_side_effects_write_the_booking_its_legs_claims_and_one_event(station):
    with station.store.write() as conn:
        request = ask(station, hold=True)
        admitted = pipeline.admit(conn, station, request, now=NOW)
        placed = pipeline.place(conn, station, request, now=NOW)
        booking = pipeline.write(conn, station, request, admitted, placed, pipeline.own(conn, station, placed),
                                 booking_id="01J0000000000000000000TEST", notes="", now=NOW)
        legs = legs_of(conn, booking.id)
        claims = conn.execute("SELECT bay_id, hold_until FROM slot_claim WHERE booking_id = ?",
                              (booking.id,)).fetchall()
        events = conn.execute("SELECT type FROM outbox WHERE entity_id = ?", (booking.id,)).fetchall()
    assert booking.state == BookingState.HELD and booking.hold_until == admitted.hold_until
    assert [leg.bay_id for leg in legs] == ["L1", "W1"]
    assert sorted(bay for bay, _ in claims) == ["L1", "L1", "W1"] and all(hold for _, hold in claims)
    assert [e[0] for e in events] == ["booking.held"]
