"""Slot escrow at HQ against its real database (SQLite file and PostgreSQL): decisions on the
station's requests, claims freed when the station lets a booking go, lease acks, revokes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from edge.domain.escrow import HQ, STATION, SplitRule
from edge.store.types import to_db_time
from sync.hq import escrow as hq_escrow
from sync.hq.db import transaction
from tests.stations import NOW

STATION_ID = "TST-001"
RULE = SplitRule.from_share(STATION_ID, 0.3)
DAY = datetime(2026, 11, 23, tzinfo=UTC)


def first(owner: str, bay: str = "L1", count: int = 2) -> datetime:
    """The first start from DAY with `count` cells of `bay` owned by `owner` under RULE."""
    for i in range(96):
        start = DAY + timedelta(minutes=30 * i)
        if all(RULE.owner(bay, start + timedelta(minutes=30 * k)) == owner for k in range(count)):
            return start
    raise AssertionError("no such run")


def cells(start: datetime, count: int = 2) -> list[str]:
    return [to_db_time(start + timedelta(minutes=30 * i)) for i in range(count)]


@pytest.fixture
def hq(hq_engine):
    with transaction(hq_engine) as session:
        hq_escrow.configure_station(session, STATION_ID, hq_share=0.3, now=NOW)
    return hq_engine


def event(event_type: str, body: dict, entity_id: str = "") -> dict:
    return {"type": event_type, "entity_id": entity_id or body.get("booking_id", ""), "idem_key": "k", "hlc": "",
            "body": body, "seq": 1, "stream": "booking", "epoch": "e"}


def from_station(engine, event_type: str, body: dict, entity_id: str = "") -> None:
    with transaction(engine) as session:
        hq_escrow.on_station_event(session, STATION_ID, event(event_type, body, entity_id), NOW)


def downlink(engine) -> list[tuple]:
    with transaction(engine) as session:
        return [(r.type, r.entity_id, r.body if isinstance(r.body, dict) else json.loads(r.body))
                for r in session.execute(text("SELECT type, entity_id, body FROM hq_downlink ORDER BY stream, seq"))]


def book(engine, start: datetime, count: int = 2, plate: str = "沪A1") -> dict:
    with transaction(engine) as session:
        return hq_escrow.book_app(session, STATION_ID, bay_id="L1", start=start, cells=count, services=["OIL"],
                                  plate=plate, now=NOW)


def test_a_station_request_on_free_hq_cells_is_confirmed_and_a_sold_one_rejected(hq):
    start = first(HQ)
    sold = book(hq, start)
    assert sold["state"] == "confirmed"
    request = {"booking_id": "st-1", "bay_id": "L1", "cells": cells(start), "rule": RULE.fingerprint()}
    from_station(hq, "escrow.requested", request)
    # an HQ cell after the sold ones
    other = next(DAY + timedelta(minutes=30 * i) for i in range(96)
                 if RULE.owner("L1", DAY + timedelta(minutes=30 * i)) == HQ
                 and DAY + timedelta(minutes=30 * i) >= start + timedelta(hours=1))
    from_station(hq, "escrow.requested", {"booking_id": "st-2", "bay_id": "L1", "cells": cells(other, 1),
                                          "rule": RULE.fingerprint()})
    decisions = {entity: body for kind, entity, body in downlink(hq) if kind == "escrow.decided"}
    assert decisions["st-1"]["decision"] == "rejected" and "sold the cell in the app" in decisions["st-1"]["reason"]
    assert decisions["st-2"]["decision"] == "confirmed"
    # the confirmed request holds its cell at HQ: the app cannot sell it now
    with pytest.raises(hq_escrow.EscrowRefused):
        book(hq, other, 1)
    # the same request again changes nothing and sends nothing
    before = len(downlink(hq))
    from_station(hq, "escrow.requested", {"booking_id": "st-2", "bay_id": "L1", "cells": cells(other, 1),
                                          "rule": RULE.fingerprint()})
    assert len(downlink(hq)) == before


def test_a_request_split_by_another_rule_is_rejected_naming_both(hq):
    from_station(hq, "escrow.requested", {"booking_id": "st-1", "bay_id": "L1", "cells": cells(first(HQ)),
                                          "rule": "500/1000@120m"})
    [(_, _, body)] = [d for d in downlink(hq) if d[0] == "escrow.decided"]
    assert body["decision"] == "rejected" and "500/1000@120m" in body["reason"] and "300/1000@120m" in body["reason"]


def test_a_booking_the_station_lets_go_frees_hqs_claims(hq):
    start = first(HQ)
    from_station(hq, "escrow.requested", {"booking_id": "st-1", "bay_id": "L1", "cells": cells(start),
                                          "rule": RULE.fingerprint()})
    with pytest.raises(hq_escrow.EscrowRefused):
        book(hq, start)
    from_station(hq, "booking.cancelled", {"booking": {}}, entity_id="st-1")
    assert book(hq, start)["state"] == "confirmed"
    with transaction(hq) as session:
        assert session.execute(text("SELECT state FROM hq_escrow_booking WHERE booking_id = 'st-1'")).scalar() == \
            "cancelled"
    # events escrow has no part in are let by
    from_station(hq, "member.updated", {"member": {}}, entity_id="m-1")


def test_a_refused_grant_gives_the_cells_back_to_hq_and_an_applied_one_keeps_them_away(hq):
    start = first(HQ, count=4)
    with transaction(hq) as session:
        lease = hq_escrow.grant_lease(session, STATION_ID, bay_id="L1", start=start,
                                      end=start + timedelta(hours=2), now=NOW)
    assert lease["cells"] == cells(start, 4) and lease["token"] == 1
    # granted and not yet acked: HQ no longer sells them, and a second grant finds nothing
    assert book(hq, start, 1)["state"] == "tentative"
    with transaction(hq) as session, pytest.raises(hq_escrow.EscrowRefused):
        hq_escrow.grant_lease(session, STATION_ID, bay_id="L1", start=start, end=start + timedelta(hours=2), now=NOW)
    from_station(hq, "escrow.lease_acked", {"lease_id": lease["lease_id"], "kind": "grant", "token": 1,
                                            "applied": cells(start, 4)[:2], "refused": {c: "stale" for c in
                                                                                        cells(start, 4)[2:]}})
    third = start + timedelta(minutes=60)
    assert book(hq, third, 2, plate="沪A2")["state"] == "confirmed"  # refused cells are HQ's again
    with transaction(hq) as session:
        assert session.execute(text("SELECT state FROM hq_lease")).scalar() == "acked"


def test_a_revoke_leaves_out_cells_an_app_customer_waits_for_and_tokens_grow(hq):
    start = first(STATION, count=4)
    waiting = book(hq, start, 2)
    assert waiting["state"] == "tentative"  # the station owns them: it decides
    with transaction(hq) as session:
        lease = hq_escrow.revoke_lease(session, STATION_ID, bay_id="L1", start=start,
                                       end=start + timedelta(hours=2), now=NOW)
        again = hq_escrow.revoke_lease(session, STATION_ID, bay_id="L2", start=start,
                                       end=start + timedelta(hours=2), now=NOW)
    assert lease["cells"] == cells(start, 4)[2:]
    assert again["token"] == lease["token"] + 1
    [(kind, _, body)] = [d for d in downlink(hq) if d[1] == lease["lease_id"]]
    assert kind == "lease.revoke" and body["token"] == lease["token"] and body["cells"] == lease["cells"]
    # the station answers the app request: rejected, and HQ frees the cells
    from_station(hq, "escrow.answered", {"booking_id": waiting["booking_id"], "decision": "rejected",
                                         "reason": "bay L1 is already booked"})
    with transaction(hq) as session:
        row = session.execute(text("SELECT state, reason FROM hq_escrow_booking WHERE booking_id = :b"),
                              {"b": waiting["booking_id"]}).one()
        assert tuple(row) == ("rejected", "bay L1 is already booked")
        assert session.execute(text("SELECT count(*) FROM hq_escrow_claim")).scalar() == 0


# -- bookings in legs ------------------------------------------------------------------------------


def claimed(engine, booking_id: str) -> list[tuple[str, str]]:
    with transaction(engine) as session:
        return sorted(tuple(r) for r in session.execute(text(
            "SELECT bay_id, slot_start FROM hq_escrow_claim WHERE booking_id = :b"), {"b": booking_id}))


HALF = SplitRule.from_share(STATION_ID, 0.5)  # each bay's HQ blocks alternate with the station's


@pytest.fixture
def hq_half(hq_engine):
    with transaction(hq_engine) as session:
        hq_escrow.configure_station(session, STATION_ID, hq_share=0.5, now=NOW)
    return hq_engine


def two_hq_legs() -> tuple[datetime, datetime]:
    """The last hour of an HQ block of L1, and the next cell, HQ's on W1."""
    for i in range(96):
        lift = DAY + timedelta(minutes=30 * i)
        wash = lift + timedelta(hours=1)
        if all(HALF.owner("L1", c) == HQ for c in (lift, lift + timedelta(minutes=30))) and \
                HALF.owner("W1", wash) == HQ:
            return lift, wash
    raise AssertionError("no such pair")


def leg_request(booking_id: str, lift: datetime, wash: datetime) -> dict:
    legs = [{"bay_id": "L1", "cells": cells(lift)}, {"bay_id": "W1", "cells": cells(wash, 1)}]
    return {"booking_id": booking_id, "bay_id": "L1", "cells": cells(lift), "legs": legs, "services": ["OIL", "WASH"],
            "rule": HALF.fingerprint()}


def test_a_station_request_over_two_legs_on_hqs_cells_claims_both_and_frees_both_when_cancelled(hq_half):
    lift, wash = two_hq_legs()
    from_station(hq_half, "escrow.requested", leg_request("st-1", lift, wash))
    [(_, _, decided)] = [d for d in downlink(hq_half) if d[0] == "escrow.decided"]
    assert decided["decision"] == "confirmed"
    assert claimed(hq_half, "st-1") == sorted([("L1", c) for c in cells(lift)] + [("W1", cells(wash, 1)[0])])
    with transaction(hq_half) as session:
        legs = [tuple(r) for r in session.execute(text(
            "SELECT seq, bay_id FROM hq_escrow_leg WHERE booking_id = 'st-1' ORDER BY seq"))]
    assert legs == [(0, "L1"), (1, "W1")]
    with pytest.raises(hq_escrow.EscrowRefused):
        with transaction(hq_half) as session:
            hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=wash, services=["WASH"], plate="沪A2",
                               now=NOW)
    from_station(hq_half, "booking.cancelled", {"booking": {}}, entity_id="st-1")
    assert claimed(hq_half, "st-1") == []
    with transaction(hq_half) as session:
        assert hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=wash, services=["WASH"], plate="沪A2",
                                  now=NOW)["state"] == "confirmed"


def test_a_station_request_whose_second_leg_hq_sold_is_rejected_and_claims_nothing(hq_half):
    lift, wash = two_hq_legs()
    with transaction(hq_half) as session:
        hq_escrow.book_app(session, STATION_ID, bay_id="W1", start=wash, services=["WASH"], plate="沪A2", now=NOW)
    from_station(hq_half, "escrow.requested", leg_request("st-1", lift, wash))
    decided = {entity: body for kind, entity, body in downlink(hq_half) if kind == "escrow.decided"}
    assert decided["st-1"]["decision"] == "rejected"
    # the lift's cells were free, but one decision covers the booking: none of them is held
    assert claimed(hq_half, "st-1") == []
    assert book(hq_half, lift)["state"] == "confirmed"


def test_an_app_booking_in_legs_claims_every_leg_or_none_and_says_each_leg(hq_half):
    lift, wash = two_hq_legs()
    legs = [hq_escrow.AppLeg("L1", lift, 2), hq_escrow.AppLeg("W1", wash, 1)]
    with transaction(hq_half) as session:
        made = hq_escrow.book_app(session, STATION_ID, legs=legs, services=["PKG"], plate="沪A1", now=NOW)
    assert made["state"] == "confirmed"
    assert made["legs"] == [{"bay_id": "L1", "cells": cells(lift)}, {"bay_id": "W1", "cells": cells(wash, 1)}]
    [(kind, _, body)] = [d for d in downlink(hq_half) if d[1] == made["booking_id"]]
    assert kind == "app_booking.confirmed" and body["legs"] == made["legs"]
    assert (body["bay_id"], body["cells"]) == ("L1", cells(lift))
    # a second customer wanting another lift but the same wash cell gets nothing at all
    other = lift  # on L2, HQ's then too
    assert HALF.owner("L2", lift) == HALF.owner("L2", lift + timedelta(minutes=30)) == HQ
    with transaction(hq_half) as session, pytest.raises(hq_escrow.EscrowRefused, match="already sold"):
        hq_escrow.book_app(session, STATION_ID, legs=[hq_escrow.AppLeg("L2", other, 2),
                                                      hq_escrow.AppLeg("W1", wash, 1)],
                           services=["PKG"], plate="沪A3", now=NOW)
    assert hq_rows_count(hq_half, "SELECT count(*) FROM hq_escrow_claim WHERE bay_id = 'L2'") == 0
    # legs that do not follow one another are refused before anything is claimed
    with transaction(hq_half) as session, pytest.raises(hq_escrow.EscrowRefused, match="does not follow"):
        hq_escrow.book_app(session, STATION_ID, legs=[hq_escrow.AppLeg("L2", other, 2),
                                                      hq_escrow.AppLeg("W1", other, 1)],
                           services=["PKG"], plate="沪A3", now=NOW)


def test_an_app_booking_with_a_leg_on_the_stations_cells_is_put_to_the_station_whole(hq_half):
    lift, _ = two_hq_legs()
    wash = next(lift + timedelta(minutes=30 * k) for k in range(2, 20)
                if HALF.owner("W1", lift + timedelta(minutes=30 * k)) == STATION)
    with transaction(hq_half) as session:
        made = hq_escrow.book_app(session, STATION_ID, legs=[hq_escrow.AppLeg("L1", lift, 2),
                                                             hq_escrow.AppLeg("W1", wash, 1)],
                                  services=["PKG"], plate="沪A1", now=NOW)
    assert made["state"] == "tentative"
    [(kind, _, body)] = [d for d in downlink(hq_half) if d[1] == made["booking_id"]]
    assert kind == "app_booking.requested" and len(body["legs"]) == 2
    from_station(hq_half, "escrow.answered", {"booking_id": made["booking_id"], "decision": "rejected",
                                         "reason": "leg 2: WASH may start from 10:00"})
    assert claimed(hq_half, made["booking_id"]) == []


def hq_rows_count(engine, sql: str) -> int:
    with transaction(engine) as session:
        return session.execute(text(sql)).scalar()
