"""The daemon's scheduled jobs under an injected clock: each timed rule fires once, and not again after a restart."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.daemon import jobs
from edge.domain.booking_state import BookingState
from edge.services import bookings, waitlist
from edge.services.station import Station, open_station
from tests.stations import NOW

TZ = ZoneInfo("Asia/Shanghai")
TUESDAY_10 = datetime(2026, 11, 24, 10, tzinfo=TZ)
TUESDAY_11 = datetime(2026, 11, 24, 11, tzinfo=TZ)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def run_every_job(station: Station) -> None:
    for _job_id, function, _trigger, _args in jobs.SCHEDULE:
        function(station)


def outbox(station: Station) -> Counter[tuple[str, str]]:
    with station.store.read() as conn:
        return Counter((r["type"], r["entity_id"]) for r in conn.execute("SELECT type, entity_id FROM outbox"))


def notices(station: Station) -> Counter[tuple[str, str]]:
    with station.store.read() as conn:
        return Counter((r[0], r[1]) for r in conn.execute("SELECT booking_id, kind FROM notification_sent"))


def test_each_timed_rule_fires_once_and_not_again_after_a_restart(station):
    clock = Clock(NOW)  # Monday 07:00 in Shanghai
    station.clock = clock
    lapsing = bookings.book(station, services=["WASH"], start=TUESDAY_10, plate="沪A11111", hold=True)
    # booked the evening before: far enough ahead for the day-before reminder too
    missed = bookings.book(station, services=["WASH"], start=TUESDAY_11, plate="沪A22222", phone="13800138000",
                           now=NOW - timedelta(hours=12))
    served = bookings.book(station, services=["WASH"], start=NOW + timedelta(hours=2), plate="沪A33333",
                           phone="13900139000")
    wish = waitlist.join(station, services=["WASH"], day=TUESDAY_10.date(), plate="沪B44444",
                         earliest=TUESDAY_10.time(), latest=(TUESDAY_10 + timedelta(minutes=30)).time())
    bookings.check_in(station, served.id, now=served.start_at)
    bookings.complete(station, served.id, now=served.start_at + timedelta(minutes=25))

    stations = [station]
    timeline = [
        NOW + timedelta(minutes=11),  # the hold lapsed: expired, its cell offered to the waitlist
        TUESDAY_11 - timedelta(hours=23),  # the day-before reminder
        TUESDAY_11 - timedelta(minutes=90),  # the 2 h reminder; the feedback request (a day after completion)
        TUESDAY_11 + timedelta(minutes=11),  # the late alert
        TUESDAY_11 + timedelta(minutes=31),  # the no-show release
    ]
    for moment in timeline:
        clock.now = moment
        run_every_job(stations[-1])
        after_first = (outbox(stations[-1]), notices(stations[-1]))
        run_every_job(stations[-1])  # the next tick of every interval job
        restarted = open_station(station.store.path.parent, clock=clock)  # a restarted daemon
        stations.append(restarted)
        run_every_job(restarted)
        assert (outbox(restarted), notices(restarted)) == after_first, f"a job acted twice at {moment}"

    events = outbox(stations[-1])
    assert events[("booking.expired", lapsing.id)] == 1
    assert bookings.booking(station, lapsing.id).state == BookingState.EXPIRED
    (entry,) = waitlist.entries(station, day=TUESDAY_10.date())
    assert entry.id == wish.id and entry.state == "offered" and events[("waitlist.offered", wish.id)] == 1
    assert notices(station) == Counter({(missed.id, "reminder_day_before"): 1, (missed.id, "reminder_2h"): 1,
                                        (missed.id, "late_alert"): 1, (served.id, "feedback_request"): 1})
    assert events[("booking.late", missed.id)] == 1
    assert events[("booking.no_show", missed.id)] == 1
    assert events[("feedback.requested", served.id)] == 1
    for opened in stations[1:]:
        opened.store.close()
