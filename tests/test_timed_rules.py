"""Reminders, late alerts and no-show release: due ones fire once, never again after a restart."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from edge.domain.booking_state import BookingState
from edge.services import bookings, timed_rules
from edge.services.station import open_station

TZ = ZoneInfo("Asia/Shanghai")
TOMORROW_10 = datetime(2026, 11, 24, 10, tzinfo=TZ)
BOOKED_40H_AHEAD = TOMORROW_10 - timedelta(hours=40)  # far enough ahead for both reminders


def kinds(notices):
    return sorted(n.kind for n in notices)


def test_reminders_and_late_alert_each_fire_once(station):
    booking = bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345", phone="13800138000",
                            now=BOOKED_40H_AHEAD)
    assert timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(hours=25)) == []
    assert kinds(timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(hours=23))) == ["reminder_day_before"]
    assert timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(hours=22)) == []
    assert kinds(timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(minutes=90))) == ["reminder_2h"]
    assert kinds(timed_rules.send_due_notices(station, now=TOMORROW_10 + timedelta(minutes=11))) == ["late_alert"]
    # a restarted daemon (a fresh station object on the same files) sends nothing again
    again = open_station(station.store.path.parent)
    assert timed_rules.send_due_notices(again, now=TOMORROW_10 + timedelta(minutes=15)) == []
    with station.store.read() as conn:
        rows = conn.execute("SELECT type, body FROM outbox WHERE entity_id = ? AND type IN "
                            "('notification.requested', 'booking.late') ORDER BY hlc", (booking.id,)).fetchall()
    assert [r["type"] for r in rows] == ["notification.requested", "notification.requested", "booking.late"]
    assert '"phone":"13800138000"' in rows[0]["body"]
    again.store.close()


def test_a_daemon_down_through_the_reminders_sends_only_what_is_still_useful(station):
    bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345", now=BOOKED_40H_AHEAD)
    # back up 30 minutes before the start: the day-before and 2 h reminders are both still useful
    assert kinds(timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(minutes=30))) == [
        "reminder_2h", "reminder_day_before"]
    other = bookings.book(station, services=["WASH"], start=TOMORROW_10 + timedelta(hours=2), plate="沪B22222")
    # back up after the start: no reminders, only the late alert
    notices = timed_rules.send_due_notices(station, now=other.start_at + timedelta(minutes=12))
    assert [(n.booking_code, n.kind) for n in notices] == [(other.code, "late_alert")]


def test_a_booking_made_a_few_hours_ahead_gets_only_the_reminders_that_tell_the_customer_something(station):
    same_day = bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345",
                             now=TOMORROW_10 - timedelta(hours=5))
    evening_before = bookings.book(station, services=["WASH"], start=TOMORROW_10 + timedelta(hours=1),
                                   plate="沪B22222", now=TOMORROW_10 - timedelta(hours=30))
    last_minute = bookings.book(station, services=["WASH"], start=TOMORROW_10 + timedelta(hours=2),
                                plate="沪C33333", now=TOMORROW_10 - timedelta(minutes=30))
    # a sweep long after every day-before time: none of them was made 36 h ahead
    sent = timed_rules.send_due_notices(station, now=TOMORROW_10 - timedelta(minutes=90))
    assert [(n.booking_code, n.kind) for n in sent] == [(same_day.code, "reminder_2h")]
    sent = timed_rules.send_due_notices(station, now=TOMORROW_10 + timedelta(minutes=50))
    assert [(n.booking_code, n.kind) for n in sent] == [(evening_before.code, "reminder_2h")]
    assert kinds(timed_rules.send_due_notices(station, now=TOMORROW_10 + timedelta(hours=2, minutes=5))) == []
    assert last_minute.code not in {n.booking_code for n in sent}


def test_a_booking_moved_is_made_again_at_the_move_and_a_note_changes_nothing(station):
    monday = TOMORROW_10 - timedelta(days=1)
    moved_close = bookings.book(station, services=["WASH"], start=monday + timedelta(hours=5), plate="沪A12345",
                                now=monday - timedelta(days=2))
    moved_far = bookings.book(station, services=["WASH"], start=monday + timedelta(hours=6), plate="沪B22222",
                              now=monday)
    noted = bookings.book(station, services=["WASH"], start=TOMORROW_10 + timedelta(hours=1), plate="沪C33333",
                          now=TOMORROW_10 - timedelta(hours=40))
    # on Monday at 10:00 the first customer moves to Tuesday 12:00 (26 h ahead: no day-before reminder),
    # the second from Monday 16:00 to Wednesday 16:00 (54 h ahead: both reminders again)
    bookings.reschedule(station, moved_close.code, start=TOMORROW_10 + timedelta(hours=2), now=monday)
    bookings.reschedule(station, moved_far.code, start=TOMORROW_10 + timedelta(days=1, hours=6), now=monday)
    bookings.set_notes(station, noted.code, "bring the winter tyres", now=TOMORROW_10 - timedelta(hours=26))
    sent = timed_rules.send_due_notices(station, now=TOMORROW_10 + timedelta(minutes=30))
    assert sorted((n.booking_code, n.kind) for n in sent) == sorted([
        (moved_close.code, "reminder_2h"), (noted.code, "reminder_2h"), (noted.code, "reminder_day_before")])
    sent = timed_rules.send_due_notices(station, now=TOMORROW_10 + timedelta(days=1, hours=4, minutes=30))
    assert sorted((n.booking_code, n.kind) for n in sent) == [
        (moved_far.code, "reminder_2h"), (moved_far.code, "reminder_day_before")]


def test_no_show_release_frees_the_slot_once(station):
    checked = bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345")
    missed = bookings.book(station, services=["WASH"], start=TOMORROW_10 + timedelta(hours=1), plate="沪B22222")
    bookings.check_in(station, checked.code, now=TOMORROW_10 - timedelta(minutes=5))
    later = missed.start_at + timedelta(minutes=31)
    (released,) = timed_rules.release_no_shows(station, now=later)
    assert released.id == missed.id and released.state == BookingState.NO_SHOW
    assert timed_rules.release_no_shows(station, now=later + timedelta(minutes=5)) == []


def test_the_waitlist_sweep_offers_capacity_that_appears_without_a_release(tmp_path, station):
    from edge.services import waitlist
    from edge.services.setup import init_station
    from tests.stations import TEST_CONFIG

    bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345")
    entry = waitlist.join(station, services=["WASH"], day=TOMORROW_10.date(), plate="沪B22222",
                          earliest=TOMORROW_10.time(), latest=(TOMORROW_10 + timedelta(minutes=30)).time())
    assert entry.state == "waiting" and waitlist.offer_open_slots(station) == []
    # the manager opens a second wash bay: no booking was released, yet there is room now
    config = tmp_path / "more.toml"
    config.write_text(TEST_CONFIG.replace('[[bays]]\nid = "L1"', '[[bays]]\nid = "W2"\nname = "Wash 2"\nkind = "wash"\n\n[[bays]]\nid = "L1"'),
                      encoding="utf-8")
    bigger = init_station(config, tmp_path / "data")
    bigger.clock = station.clock
    (offer,) = waitlist.offer_open_slots(bigger)
    assert offer.bay_id == "W2" and offer.plate == "沪B22222" and offer.state == BookingState.HELD
    assert waitlist.entries(bigger)[0].state == "offered"
    bigger.store.close()


def test_feedback_is_requested_once_a_day_after_completion(station):
    booking = bookings.book(station, services=["WASH"], start=TOMORROW_10, plate="沪A12345", phone="13800138000")
    bookings.check_in(station, booking.code, now=TOMORROW_10)
    done = bookings.complete(station, booking.code, now=TOMORROW_10 + timedelta(minutes=25))
    assert timed_rules.send_due_feedback_requests(station, now=done.updated_at + timedelta(hours=23)) == []
    (notice,) = timed_rules.send_due_feedback_requests(station, now=done.updated_at + timedelta(hours=25))
    assert notice.kind == "feedback_request" and notice.booking_code == booking.code
    assert timed_rules.send_due_feedback_requests(station, now=done.updated_at + timedelta(hours=26)) == []
