"""Slot escrow for bookings in legs, at the station against a real station database: app bookings
whose legs HQ names (checked against the catalogue and leg rules), and the station's own bookings
with a leg on HQ's cells (tentative until HQ answers for the whole).

The test station's PKG is OIL on a lift (45 minutes and 15 of turnover: two cells), then WASH in
the wash bay W1 (one cell), which may start once the lift's cells are over, waiting at most 60
minutes.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from edge.domain.booking_state import BookingState
from edge.services import bookings
from edge.services.cell_ownership import cell_owners
from edge.services.escrow import EscrowMessageError
from tests.stations import make_station
from tests.test_escrow import ESCROW_CONFIG, MONDAY, at, cells, conflicts, downlink, events, live_firm_per_cell
from tests.test_escrow import station  # noqa: F401  (the fixture: a station with HQ's share)


def route(station, lift_owner: str, wash_owner: str, *, lift_bay: str = "L1",
          after: datetime | None = None) -> tuple[datetime, datetime]:
    """A lift start on `lift_bay` (two cells, after `after`) and the wash cell of W1 right after
    them, owned as asked."""
    owners = cell_owners(station, MONDAY)
    for cell in station.grid(MONDAY)[:-2]:
        lift, wash = cell.start, cell.start + timedelta(hours=1)
        if (owners[(lift_bay, lift)] == owners[(lift_bay, lift + timedelta(minutes=30))] == lift_owner
                and owners.get(("W1", wash)) == wash_owner and (after is None or lift > after)):
            return lift, wash
    raise AssertionError(f"no lift run of {lift_owner} followed by a wash cell of {wash_owner}")


def app_legs(lift: datetime, wash: datetime, *, lift_bay: str = "L1", lift_cells: int = 2,
             booking_id: str = "app-1", plate: str = "沪C33333", **extra) -> dict:
    legs = [{"bay_id": lift_bay, "cells": cells(lift, lift_cells)}, {"bay_id": "W1", "cells": cells(wash, 1)}]
    return {"booking_id": booking_id, "bay_id": lift_bay, "cells": legs[0]["cells"], "legs": legs,
            "services": ["PKG"], "plate": plate, **extra}


def claims(station, booking_id: str) -> tuple[list[tuple[str, str]], int]:
    """The booking's bay cells, and how many technician cells it holds."""
    with station.store.read() as conn:
        bays = [tuple(r) for r in conn.execute(
            "SELECT bay_id, slot_start FROM slot_claim WHERE booking_id = ? ORDER BY slot_start", (booking_id,))]
        techs = conn.execute("SELECT count(*) FROM technician_claim WHERE booking_id = ?", (booking_id,)).fetchone()[0]
    return bays, techs


def answers(station) -> dict[str, dict]:
    return {e["booking_id"]: e for e in events(station, "escrow.answered")}


def test_an_app_booking_hq_sold_in_legs_is_written_as_one_booking_over_both_bays(station):
    downlink(station, "app_booking.confirmed", app_legs(at(9), at(10), token=0))
    booking = bookings.booking(station, "app-1")
    assert (booking.state, booking.channel, booking.bay_id, booking.leg) == (BookingState.CONFIRMED, "app", "L1", 0)
    legs = bookings.legs(station, "app-1")
    assert [(leg.bay_id, leg.start_at, leg.services) for leg in legs] == [
        ("L1", at(9), ("OIL",)), ("W1", at(10), ("WASH",))]
    # the oil change has a mechanic; the wash needs no skill
    assert legs[0].technician_id in ("T1", "T2") and legs[1].technician_id is None
    assert claims(station, "app-1") == ([("L1", cells(at(9))[0]), ("L1", cells(at(9))[1]),
                                         ("W1", cells(at(10), 1)[0])], 2)
    assert answers(station) == {}  # HQ sold it: nothing to answer
    # the same message again (HQ's log resent) writes nothing more
    downlink(station, "app_booking.confirmed", app_legs(at(9), at(10), token=0))
    assert len(bookings.bookings_on(station, MONDAY)) == 1


@pytest.mark.parametrize(("legs", "reason"), [
    (dict(lift_bay="W1"), "leg 1: bay W1 cannot do OIL"),
    (dict(lift_cells=1), "leg 1: OIL takes 2 cell(s), the app booking has 1"),
    (dict(wash=at(11, 30)), "leg 2: WASH may start from 10:00, within 60 minutes, not at 11:30"),
    (dict(lift=at(17), wash=at(18)), "leg 2: WASH from 2026-11-23 18:00 is off the slot grid or runs past closing"),
])
def test_app_legs_that_do_not_make_the_work_here_are_refused_naming_the_leg(station, legs, reason):
    body = app_legs(legs.pop("lift", at(9)), legs.pop("wash", at(10)), **legs)
    downlink(station, "app_booking.requested", body)
    assert answers(station)["app-1"]["decision"] == "rejected"
    assert reason in answers(station)["app-1"]["reason"]
    # HQ sold it to the customer already: refused too, and a person is asked to call them
    downlink(station, "app_booking.confirmed", {**body, "booking_id": "app-2", "token": 0})
    assert answers(station)["app-2"]["decision"] == "rejected" and reason in answers(station)["app-2"]["reason"]
    assert [c["kind"] for c in conflicts(station)] == ["escrow_app_legs_refused"]
    assert bookings.bookings_on(station, MONDAY) == []


def test_app_legs_must_be_as_many_as_the_work_has_here(station):
    body = app_legs(at(9), at(10))
    body["legs"] = body["legs"][:1]
    downlink(station, "app_booking.requested", body)
    assert "OIL+WASH is 2 leg(s) at this station, the app booking has 1" in answers(station)["app-1"]["reason"]


def test_the_transfer_gap_decides_when_the_next_leg_may_start(tmp_path):
    config = ESCROW_CONFIG + '\n[booking.transfer_minutes]\n"lift>wash" = 30\n'
    gapped = make_station(tmp_path, config=config)
    try:
        downlink(gapped, "app_booking.requested", app_legs(at(9), at(10)))
        downlink(gapped, "app_booking.requested", app_legs(at(9), at(10, 30), booking_id="app-2", plate="沪C44444"))
        decided = answers(gapped)
        assert "leg 2: WASH may start from 10:30" in decided["app-1"]["reason"]
        assert decided["app-2"]["decision"] == "confirmed"
    finally:
        gapped.store.close()


def test_an_app_request_in_legs_on_the_stations_cells_is_confirmed_whole_or_refused_whole(station):
    lift, wash = route(station, "station", "station")
    downlink(station, "app_booking.requested", app_legs(lift, wash))
    # another customer: a free lift, but the same wash cell
    downlink(station, "app_booking.requested", app_legs(lift, wash, lift_bay="L2", booking_id="app-2",
                                                        plate="沪C44444"))
    decided = answers(station)
    assert decided["app-1"]["decision"] == "confirmed"
    assert decided["app-2"]["decision"] == "rejected" and "bay W1 is already booked" in decided["app-2"]["reason"]
    assert [leg.bay_id for leg in bookings.legs(station, "app-1")] == ["L1", "W1"]
    assert claims(station, "app-2") == ([], 0)
    assert set(live_firm_per_cell(station).values()) == {1}


def test_a_booking_with_one_leg_on_hqs_cells_is_tentative_until_hq_answers_for_the_whole(station):
    lift, wash = route(station, "station", "hq")
    kept = bookings.book(station, services=["PKG"], start=lift, plate="沪A11111", bay_id="L1")
    assert kept.state == BookingState.TENTATIVE
    [asked] = events(station, "escrow.requested")
    # only the wash leg is HQ's to decide; the lift's cells are the station's, settled when booked
    assert asked["legs"] == [{"bay_id": "W1", "cells": cells(wash, 1)}]
    assert (asked["bay_id"], asked["cells"]) == ("W1", cells(wash, 1))
    downlink(station, "escrow.decided", {"booking_id": kept.id, "decision": "confirmed"})
    assert bookings.booking(station, kept.id).state == BookingState.CONFIRMED

    later_lift, _ = route(station, "station", "hq", lift_bay="L2", after=lift)
    lost = bookings.book(station, services=["PKG"], start=later_lift, plate="沪A22222", bay_id="L2")
    assert lost.state == BookingState.TENTATIVE and claims(station, lost.id)[0]
    downlink(station, "escrow.decided", {"booking_id": lost.id, "decision": "rejected", "reason": "sold in the app"})
    rejected = bookings.booking(station, lost.id)
    assert rejected.state == BookingState.REJECTED and "sold in the app" in rejected.reason
    # every leg's cells are free again, the station's lift too
    assert claims(station, lost.id) == ([], 0)
    again = bookings.book(station, services=["OIL"], start=later_lift, plate="沪A33333", bay_id="L2")
    assert again.state == BookingState.CONFIRMED


def test_malformed_legs_are_refused_naming_them_and_a_one_bay_message_cannot_carry_two_legs_of_work(station):
    with pytest.raises(EscrowMessageError, match="legs must follow one another"):
        downlink(station, "app_booking.requested", app_legs(at(9), at(9, 30)))
    with pytest.raises(EscrowMessageError, match="legs must be a non-empty list"):
        downlink(station, "app_booking.requested", {**app_legs(at(9), at(10)), "legs": []})
    assert events(station) == []
    # as before legs: a message naming one bay for work over two is refused, not half booked
    downlink(station, "app_booking.requested", {"booking_id": "app-1", "bay_id": "L1", "cells": cells(at(9)),
                                                "services": ["PKG"], "plate": "沪C33333"})
    assert "spans 2 bays" in answers(station)["app-1"]["reason"]
    assert bookings.bookings_on(station, MONDAY) == []
