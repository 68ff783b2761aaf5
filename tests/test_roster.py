"""Roster exceptions on a real station file: availability, placement and live capacity follow them at
once (in another process too), bookings in the way are reported and left alone, HQ gets an event."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from edge.domain.roster import ExceptionKind
from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import bookings, live_capacity, live_state, roster
from edge.services.availability import free_starts
from edge.services.station import Station
from edge.store.db import Store
from tests.stations import MANAGER, NOW, TEST_CONFIG, make_station

TZ = ZoneInfo("Asia/Shanghai")
TUESDAY = date(2026, 11, 24)  # the station's clock says Monday 07:00


def _at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ).astimezone(UTC)


def _starts(station: Station, services: str = "OIL", day: date = TUESDAY) -> dict[str, tuple[str, ...]]:
    """Local start time -> technicians free for it, on the first bay that can do the services."""
    options = free_starts(station, day=day, services=[services])
    first_bay = options[0].bay_id if options else None
    return {f"{station.local(o.start):%H:%M}": o.technician_ids for o in options if o.bay_id == first_bay}


def _second_process(station: Station) -> Station:
    """Another process on the same file: its own Station, store and connections."""
    return Station(settings=station.settings, store=Store(station.store.path), clock=station.clock)


def _events(station: Station, event_type: str) -> list[dict]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT stream, entity_id, idem_key, body FROM outbox WHERE type = ? ORDER BY seq",
                            (event_type,)).fetchall()
    return [{**dict(row), "body": json.loads(row["body"])} for row in rows]


def test_leave_takes_the_technicians_starts_away_at_once_in_another_process_too(station):
    other = _second_process(station)
    try:
        before = _starts(other)  # warms whatever the other process keeps
        assert before["09:00"] == ("T1", "T2")
        roster.set_exception(station, "T1", day=TUESDAY, kind="leave", note="annual leave", manager=MANAGER)
        assert _starts(other)["09:00"] == ("T2",)
        roster.set_exception(station, "Li", day=TUESDAY, kind="sick", manager=MANAGER)  # by name
        assert _starts(other) == {}  # no mechanic left: no OIL start at all
        assert _starts(other, "WASH")  # work without skills does not need them
        assert _starts(other, day=TUESDAY + timedelta(days=1))["09:00"] == ("T1", "T2")  # only that date
        roster.remove_exception(other, "T2", day=TUESDAY, manager=MANAGER)
        assert _starts(station)["09:00"] == ("T2",)
    finally:
        other.store.close()


def test_holiday_hours_replace_the_day_and_an_extra_shift_adds_starts(tmp_path):
    # Li works only mornings on Tuesdays; the station is open 08:00-18:00
    head, li = TEST_CONFIG.split('name = "Li"')
    station = make_station(tmp_path, config=head + 'name = "Li"' + li.replace(
        'tue = ["08:00-18:00"]', 'tue = ["08:00-12:00"]', 1))
    try:
        roster.set_exception(station, "T1", day=TUESDAY, kind="leave", manager=MANAGER)
        assert list(_starts(station)) == ["08:00", "08:30", "09:00", "09:30", "10:00", "10:30", "11:00"]
        change = roster.set_exception(station, "T2", day=TUESDAY, kind="extra", start_minute=14 * 60,
                                      end_minute=16 * 60, note="covers for Wang", manager=MANAGER)
        assert change.exception.kind is ExceptionKind.EXTRA and change.affected == ()
        assert list(_starts(station))[-3:] == ["14:00", "14:30", "15:00"]  # OIL takes 60 minutes of shift
        roster.set_exception(station, "T2", day=TUESDAY, kind="hours", start_minute=10 * 60, end_minute=11 * 60, manager=MANAGER)
        assert list(_starts(station)) == ["10:00"]  # replaces the morning and the extra shift alike
        assert [e.kind for e in roster.exceptions(station, day=TUESDAY)] == ["leave", "hours"]
    finally:
        station.store.close()


def test_placement_gives_the_work_to_whoever_is_rostered(station):
    roster.set_exception(station, "T1", day=TUESDAY, kind="sick", manager=MANAGER)
    booked = bookings.book(station, services=["OIL"], start=_at(TUESDAY, 9), plate="沪A12345")
    assert booked.technician_id == "T2"
    roster.set_exception(station, "T2", day=TUESDAY, kind="leave", manager=MANAGER)
    with pytest.raises(RuleViolation, match="rostered"):
        bookings.book(station, services=["TYRE"], start=_at(TUESDAY, 11), plate="沪B12345")


def test_bookings_holding_the_technician_are_reported_not_moved(station):
    roster.set_exception(station, "T2", day=TUESDAY, kind="leave", manager=MANAGER)  # both bookings go to Wang
    morning = bookings.book(station, services=["OIL"], start=_at(TUESDAY, 9), plate="沪A12345")
    afternoon = bookings.book(station, services=["TYRE"], start=_at(TUESDAY, 16), plate="沪B12345")
    assert roster.remove_exception(station, "T2", day=TUESDAY, manager=MANAGER).affected == ()  # Li had none
    change = roster.set_exception(station, "T1", day=TUESDAY, kind="sick", note="flu", manager=MANAGER)
    assert [b.code for b in change.affected] == [morning.code, afternoon.code]
    assert {bookings.booking(station, b.code).technician_id for b in change.affected} == {"T1"}  # left for the desk
    # holiday hours that still cover a booking leave it off the list
    change = roster.set_exception(station, "T1", day=TUESDAY, kind="hours", start_minute=8 * 60, end_minute=12 * 60, manager=MANAGER)
    assert [b.code for b in change.affected] == [afternoon.code]
    bookings.cancel(station, afternoon.code)
    assert roster.set_exception(station, "T1", day=TUESDAY, kind="leave", manager=MANAGER).affected == (
        bookings.booking(station, morning.code),)  # a cancelled booking holds no one


def test_every_change_writes_its_event_for_hq_and_a_refused_one_writes_nothing(station):
    roster.set_exception(station, "T1", day=TUESDAY, kind="extra", start_minute=18 * 60, end_minute=20 * 60,
                         note="late cover", manager=MANAGER)
    removed = roster.remove_exception(station, "T1", day=TUESDAY, manager=MANAGER)
    assert removed.removed and removed.exception.kind is ExceptionKind.EXTRA
    [set_event] = _events(station, "roster.exception_set")
    [removed_event] = _events(station, "roster.exception_removed")
    assert set_event["stream"] == "ops" and set_event["entity_id"] == "T1"
    assert set_event["body"] | {"at": None} == {
        "technician_id": "T1", "date": "2026-11-24", "kind": "extra", "from": "18:00", "to": "20:00",
        "note": "late cover", "station": "TST-001", "affected_bookings": [], "at": None}
    assert removed_event["body"]["kind"] == "extra" and set_event["idem_key"] != removed_event["idem_key"]
    with pytest.raises(NotFound, match="no roster exception"):
        roster.remove_exception(station, "T1", day=TUESDAY, manager=MANAGER)
    with pytest.raises(InvalidInput) as refused:
        roster.set_exception(station, "T1", day=TUESDAY - timedelta(days=2), kind="leave", manager=MANAGER)
    assert refused.value.field == "date"
    with pytest.raises(NotFound, match="Wang"):
        roster.set_exception(station, "Zhao", day=TUESDAY, kind="leave", manager=MANAGER)
    assert len(_events(station, "roster.exception_set")) == 1
    assert roster.exceptions(station) == []


def test_live_capacity_waits_for_the_first_shift_the_exception_gives(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG.replace('id = "T2"\nname = "Li"',
                                                                'id = "T2"\nname = "Li"\ncard_id = "12345"'))
    try:
        today = NOW.astimezone(TZ).date()
        live_state.clock_card(station, "12345", now=_at(today, 8))  # clock-in is in use today: Li came
        wang = station.catalog().technicians["T1"]
        with station.store.read() as conn:  # 11:00: Wang's 08:00 shift began long ago and he is not in
            assert live_capacity.absent_technicians(conn, station, day=today, now=_at(today, 11)) == {"T1"}
        roster.set_exception(station, "T1", day=today, kind="hours", start_minute=13 * 60, end_minute=18 * 60, manager=MANAGER)
        assert station.shifts(wang, today) == ((_at(today, 13), _at(today, 18)),)
        with station.store.read() as conn:  # today he starts at 13:00: not missed yet
            assert live_capacity.absent_technicians(conn, station, day=today, now=_at(today, 11)) == frozenset()
        shown = roster.roster_day(station, "Wang", today)
        assert shown.weekly == ((480, 1080),) and shown.exception.kind is ExceptionKind.HOURS
        assert shown.ranges == ((780, 1080),) and shown.shifts == station.shifts(wang, today)
    finally:
        station.store.close()
