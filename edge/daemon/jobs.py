"""The daemon's scheduled jobs: module-level functions with fixed ids, each a sweep of the store.

Every job derives what to do from the database, so a restart neither loses nor repeats work:
missed runs are coalesced into one, and each job's own marks (states, once-only notification
rows) keep it from acting twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from edge.services import bookings, enterprise_bookings, found_work, ledgers, live_state, loyalty, timed_rules, waitlist
from edge.services.station import Station

log = logging.getLogger(__name__)


def expire_holds(station: Station) -> None:
    expired = bookings.expire_holds(station)
    if expired:
        log.info("holds expired count=%d codes=%s", len(expired), ",".join(b.code for b in expired))


def lapse_found_work(station: Station) -> None:
    lapsed = found_work.lapse_overdue(station)
    if lapsed:
        log.info("added work lapsed count=%d services=%s", len(lapsed), ",".join(w.service_code for w in lapsed))


def send_notices(station: Station) -> None:
    for notice in timed_rules.send_due_notices(station):
        log.info("notice sent booking=%s kind=%s", notice.booking_code, notice.kind)


def send_feedback_requests(station: Station) -> None:
    for notice in timed_rules.send_due_feedback_requests(station):
        log.info("feedback requested booking=%s", notice.booking_code)


def release_no_shows(station: Station) -> None:
    for booking in timed_rules.release_no_shows(station):
        log.info("no-show released booking=%s bay=%s", booking.code, booking.bay_id)


def offer_waitlist(station: Station) -> None:
    offers = waitlist.offer_open_slots(station)
    if offers:
        log.info("waitlist offers count=%d", len(offers))


def expire_approvals(station: Station) -> None:
    for request in enterprise_bookings.expire_approvals(station):
        log.info("approval closed booking=%s state=%s", request.booking_code, request.state)


def close_stale_prompts(station: Station) -> None:
    live_state.close_stale_prompts(station)


def expire_points(station: Station) -> None:
    with station.store.write() as conn:
        points = ledgers.expire_points(conn, station, now=station.clock())
        reminded = ledgers.remind_expiring_points(conn, station, now=station.clock())
    if points or reminded:
        log.info("points expired total=%d lots_reminded=%d", points, reminded)


def close_tier_periods(station: Station) -> None:
    changed = loyalty.close_tier_periods(station)
    if changed:
        log.info("tier periods closed members_changed=%d", len(changed))


# (job id, function, trigger, trigger arguments): intervals in seconds, daily jobs at local times
SCHEDULE = (
    ("expire_holds", expire_holds, "interval", {"seconds": 5}),
    ("lapse_found_work", lapse_found_work, "interval", {"seconds": 15}),
    ("send_notices", send_notices, "interval", {"seconds": 15}),
    ("release_no_shows", release_no_shows, "interval", {"seconds": 30}),
    ("send_feedback_requests", send_feedback_requests, "interval", {"seconds": 60}),
    ("offer_waitlist", offer_waitlist, "interval", {"seconds": 60}),
    ("expire_approvals", expire_approvals, "interval", {"seconds": 60}),
    ("close_stale_prompts", close_stale_prompts, "interval", {"seconds": 60}),
    ("expire_points", expire_points, "cron", {"hour": 3, "minute": 0}),
    ("close_tier_periods", close_tier_periods, "cron", {"hour": 3, "minute": 10}),
)
INTERVAL_GRACE = timedelta(seconds=60)
DAILY_GRACE = timedelta(hours=6)
