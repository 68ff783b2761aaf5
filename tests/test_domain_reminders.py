"""Which reminders a booking gets from how far ahead it was made: the thresholds and a minute either side."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edge.domain.reminders import REMINDERS, reminders_for

START = datetime(2026, 11, 24, 2, 0, tzinfo=UTC)
DAY_BEFORE = ("reminder_day_before", START - timedelta(hours=24))
TWO_HOURS = ("reminder_2h", START - timedelta(hours=2))
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize(("ahead", "expected"), [
    (timedelta(days=3), [DAY_BEFORE, TWO_HOURS]),
    (timedelta(hours=36) + MINUTE, [DAY_BEFORE, TWO_HOURS]),
    (timedelta(hours=36), [DAY_BEFORE, TWO_HOURS]),  # exactly at the threshold: ahead enough
    (timedelta(hours=36) - MINUTE, [TWO_HOURS]),
    (timedelta(hours=25), [TWO_HOURS]),  # the day-before reminder would come an hour after booking
    (timedelta(hours=24) - MINUTE, [TWO_HOURS]),  # made after the day-before reminder's time
    (timedelta(hours=3) + MINUTE, [TWO_HOURS]),
    (timedelta(hours=3), [TWO_HOURS]),
    (timedelta(hours=3) - MINUTE, []),
    (timedelta(hours=2) - MINUTE, []),  # made after the 2 h reminder's time
    (timedelta(0), []),
])
def test_a_booking_gets_the_reminders_it_was_made_far_enough_ahead_for(ahead, expected):
    assert reminders_for(START, START - ahead) == expected


def test_each_reminder_needs_one_and_a_half_times_its_lead():
    assert [(r.kind, r.lead, r.booked_ahead) for r in REMINDERS] == [
        ("reminder_day_before", timedelta(hours=24), timedelta(hours=36)),
        ("reminder_2h", timedelta(hours=2), timedelta(hours=3)),
    ]
