"""Members and vehicles: enrolment, plates, lookup, and their outbox events."""

from __future__ import annotations

import json

import pytest

from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import members


def events(station, entity_id):
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, idem_key, body FROM outbox WHERE entity_id = ? ORDER BY hlc", (entity_id,))
        return [(r["type"], r["idem_key"], json.loads(r["body"])) for r in rows]


def test_enrol_link_and_look_up(station):
    profile = members.enroll(station, phone="138 0013 8000", name="张三", tier="gold", plates=("沪A·12345",))
    assert profile.member.phone == "13800138000" and profile.member.tier == "gold"
    assert profile.plates == ("沪A12345",) and profile.member.credit_score == 100
    updated = members.add_vehicle(station, phone="13800138000", plate="沪B-54321")
    assert updated.plates == ("沪A12345", "沪B54321") and updated.member.version == 2
    assert members.lookup(station, "沪b54321").member.id == profile.member.id
    assert members.lookup(station, "13800138000").plates == updated.plates
    history = events(station, profile.member.id)
    assert [(t, k) for t, k, _ in history] == [
        ("member.created", f"member:{profile.member.id}:1"),
        ("member.updated", f"member:{profile.member.id}:2"),
    ]
    assert history[1][2]["member"]["vehicles"] == ["沪A12345", "沪B54321"]


def test_member_errors_name_the_thing(station):
    members.enroll(station, phone="13800138000")
    with pytest.raises(RuleViolation, match="13800138000 exists already"):
        members.enroll(station, phone="13800138000")
    with pytest.raises(InvalidInput, match="unknown tier 'platinum'"):
        members.enroll(station, phone="13900000000", tier="platinum")
    with pytest.raises(InvalidInput, match="not a phone number"):
        members.enroll(station, phone="call me")
    with pytest.raises(NotFound, match="13700000000"):
        members.add_vehicle(station, phone="13700000000", plate="沪A12345")
    with pytest.raises(NotFound, match="沪Z00000"):
        members.lookup(station, "沪Z00000")
