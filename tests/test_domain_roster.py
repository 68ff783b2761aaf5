"""Roster exception rules: what a kind does to the day's weekly shifts, and which hours are refused."""

from __future__ import annotations

from datetime import date

import pytest

from edge.domain.roster import ExceptionKind, day_ranges, exception_kind, make_exception, merge_ranges, parse_clock
from edge.errors import InvalidInput

DAY = date(2026, 11, 24)
WEEKLY = ((13 * 60, 17 * 60), (8 * 60, 12 * 60))  # split shift, listed out of order


def _exception(kind: str, start: int | None = None, end: int | None = None):
    return make_exception("T1", DAY, exception_kind(kind), start_minute=start, end_minute=end)


def test_without_an_exception_the_weekly_shifts_hold_in_time_order():
    assert day_ranges(WEEKLY, None) == ((480, 720), (780, 1020))


@pytest.mark.parametrize("kind", ["leave", "sick"])
def test_leave_and_sick_take_the_whole_day_off(kind):
    assert day_ranges(WEEKLY, _exception(kind)) == ()


def test_an_extra_shift_is_added_and_joins_the_shift_it_touches():
    assert day_ranges(WEEKLY, _exception("extra", 17 * 60, 20 * 60)) == ((480, 720), (780, 1200))
    assert day_ranges(WEEKLY, _exception("extra", 12 * 60, 13 * 60)) == ((480, 1020),)  # the lunch gap filled
    assert day_ranges((), _exception("extra", 9 * 60, 11 * 60)) == ((540, 660),)  # a day off in the week


def test_holiday_hours_replace_the_days_shifts():
    assert day_ranges(WEEKLY, _exception("hours", 10 * 60, 14 * 60)) == ((600, 840),)


def test_merge_keeps_apart_what_does_not_touch():
    assert merge_ranges([(600, 700), (100, 200), (150, 300), (300, 350)]) == ((100, 350), (600, 700))


@pytest.mark.parametrize(("kind", "start", "end", "field", "says"), [
    ("leave", 600, None, "from", "whole day off"),
    ("sick", None, 600, "to", "whole day off"),
    ("extra", None, 600, "from", "needs its hours"),
    ("hours", 600, None, "to", "needs its hours"),
    ("hours", 600, 600, "to", "must be after"),
    ("extra", 900, 600, "to", "must be after"),
    ("extra", 1440, 1500, "from", "not a time of that day"),
    ("hours", 600, 1441, "to", "latest is 24:00"),
])
def test_hours_that_do_not_fit_the_kind_or_the_day_are_refused_naming_the_argument(kind, start, end, field, says):
    with pytest.raises(InvalidInput, match=says) as refused:
        _exception(kind, start, end)
    assert refused.value.field == field


def test_a_shift_may_end_at_midnight_and_the_note_is_kept_trimmed():
    e = make_exception("T1", DAY, ExceptionKind.EXTRA, start_minute=20 * 60, end_minute=24 * 60, note=" cover ")
    assert e.hours_text() == "20:00-24:00" and e.note == "cover"
    assert e.to_json() == {"technician_id": "T1", "date": "2026-11-24", "kind": "extra", "from": "20:00",
                           "to": "24:00", "note": "cover"}
    with pytest.raises(InvalidInput) as refused:
        make_exception("T1", DAY, ExceptionKind.LEAVE, start_minute=None, end_minute=None, note="x" * 201)
    assert refused.value.field == "note"


def test_kinds_and_clock_times_are_read_from_what_a_person_types():
    assert exception_kind(" Sick ") is ExceptionKind.SICK
    with pytest.raises(InvalidInput, match="leave|sick|extra|hours") as refused:
        exception_kind("holiday")
    assert refused.value.field == "kind"
    assert parse_clock("7:30", "from") == 450 and parse_clock("24:00", "to") == 1440
    for bad in ("24:01", "12", "ab:cd", "12:60"):
        with pytest.raises(InvalidInput) as refused:
            parse_clock(bad, "to")
        assert refused.value.field == "to"
