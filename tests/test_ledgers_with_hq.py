"""Points at a station once HQ's snapshots arrive: lots HQ has counted still expire here,
a redemption takes from them, and points the member spent at another station are neither
spent again nor written off twice."""

from __future__ import annotations

from datetime import timedelta

import pytest

from edge.errors import RuleViolation
from edge.services import ledgers, members
from edge.services.hq_updates import apply_member
from tests.stations import NOW, make_station
from tests.test_checkout import CONFIG


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=CONFIG)
    yield station
    station.store.close()


def earn(station, member_id: str, points: int) -> str:
    with station.store.write() as conn:
        return ledgers.earn_points(conn, station, member_id=member_id, points=points, now=NOW)


def snapshot(station, member, points: int, counted: list[str]) -> None:
    body = {"member_id": member.id, "phone": member.phone, "name": member.name, "tier": member.tier,
            "points": points, "prepaid_minor": 0, "counted_points": counted, "counted_prepaid": []}
    with station.store.write() as conn:
        apply_member(station, conn, "member.snapshot", body, NOW)


def balance(station, member_id: str) -> int:
    with station.store.read() as conn:
        return ledgers.points_balance(conn, member_id)


def redeem(station, member_id: str, points: int) -> None:
    with station.store.write() as conn:
        ledgers.redeem_points(conn, station, member_id=member_id, points=points, now=NOW)


def expire_all(station) -> int:
    with station.store.write() as conn:
        return ledgers.expire_points(conn, station, now=NOW + timedelta(days=400))


def test_a_lot_hq_has_counted_is_redeemed_here_and_does_not_expire_afterwards(station):
    member = members.enroll(station, phone="13800138000", now=NOW).member
    lot = earn(station, member.id, 100)
    snapshot(station, member, 100, [lot])
    assert balance(station, member.id) == 100
    redeem(station, member.id, 100)
    assert expire_all(station) == 0
    assert balance(station, member.id) == 0


def test_points_spent_at_another_station_are_neither_spent_again_nor_expired_twice(station):
    member = members.enroll(station, phone="13800138000", now=NOW).member
    lot = earn(station, member.id, 100)
    snapshot(station, member, 30, [lot])  # 70 of them went at another station
    with pytest.raises(RuleViolation):
        redeem(station, member.id, 31)
    assert expire_all(station) == 30  # only what is left of the lot lapses
    assert balance(station, member.id) == 0
