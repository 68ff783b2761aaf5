"""What time alone changes: reminders, late alerts and no-show release, each exactly once.

Every rule here is a sweep over the store that any process may run at any moment: the
daemon's scheduler runs them every few seconds, and a restart simply runs them again.
A reminder or alert is marked in `notification_sent` in the same transaction as its event,
so it is never sent twice; one that fell due while the daemon was down is still sent if
it is still useful (a reminder before the start, a late alert before the no-show). Which
reminders a booking gets at all depends on how far ahead it was made (edge.domain.reminders).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.domain.booking_state import BookingState
from edge.domain.reminders import reminders_for
from edge.errors import BookingError
from edge.services import bookings, delivery
from edge.services.booking_store import BookingRecord, get_booking, query_bookings
from edge.services.members import find_member
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

LATE_ALERT = "late_alert"
FEEDBACK = "feedback_request"


@dataclass(frozen=True, slots=True)
class Notice:
    booking_code: str
    kind: str
    due_at: datetime


def send_due_notices(station: Station, *, now: datetime | None = None) -> list[Notice]:
    """Reminders (day before, 2 h before) and late alerts that are due and not yet sent."""
    now = now or station.clock()
    settings = station.settings.booking
    late = timedelta(minutes=settings.late_alert_minutes)
    no_show = timedelta(minutes=settings.no_show_minutes)
    sent: list[Notice] = []
    with station.store.write() as conn:
        candidates = query_bookings(
            conn, "start_at >= ? AND start_at < ? AND state IN (?, ?) ORDER BY start_at",
            (to_db_time(now - no_show), to_db_time(now + timedelta(hours=24, minutes=1)),
             BookingState.CONFIRMED, BookingState.HELD),
        )
        for booking in candidates:
            due = reminders_for(booking.start_at, _made_at(conn, booking)) if now < booking.start_at else []
            if booking.state == BookingState.CONFIRMED and now < booking.start_at + no_show:
                due.append((LATE_ALERT, booking.start_at + late))
            for kind, due_at in due:
                if due_at <= now and _mark(conn, booking, kind, due_at, now):
                    _announce(conn, station, booking, kind, due_at, now)
                    sent.append(Notice(booking.code, kind, due_at))
    return sent


def send_due_feedback_requests(station: Station, *, now: datetime | None = None) -> list[Notice]:
    """Ask for feedback 24 h after completion (delivery decides what is due), once per booking."""
    now = now or station.clock()
    sent: list[Notice] = []
    due = delivery.due_feedback_requests(station, now=now)
    if not due:
        return sent
    with station.store.write() as conn:
        for request in due:
            booking = get_booking(conn, request.booking_id)
            if _mark(conn, booking, FEEDBACK, request.due_at, now):
                _announce(conn, station, booking, FEEDBACK, request.due_at, now)
                sent.append(Notice(booking.code, FEEDBACK, request.due_at))
    return sent


def release_no_shows(station: Station, *, now: datetime | None = None) -> list[BookingRecord]:
    """Confirmed bookings whose customer is `no_show_minutes` late become no-shows (cells freed,
    credit score lowered), each in its own transaction."""
    now = now or station.clock()
    cutoff = now - timedelta(minutes=station.settings.booking.no_show_minutes)
    with station.store.read() as conn:
        overdue = query_bookings(
            conn, "state = ? AND start_at <= ? AND start_at >= ?",
            (BookingState.CONFIRMED, to_db_time(cutoff), to_db_time(cutoff - timedelta(days=2))),
        )
    released = []
    for booking in overdue:
        try:
            released.append(bookings.mark_no_show(station, booking.id, now=now))
        except BookingError:
            continue  # checked in or cancelled meanwhile by another process: nothing to release
    return released


def _made_at(conn, booking: BookingRecord) -> datetime:
    """When the customer chose the booking's time: its creation, or the last time it was moved."""
    if booking.updated_at == booking.created_at:
        return booking.created_at  # never changed since it was made
    # a booking's events are keyed "booking:<id>:<version>": the key's range is its history, read by primary key
    row = conn.execute(
        "SELECT MAX(created_at) FROM outbox WHERE idem_key >= ? AND idem_key < ? AND type = 'booking.rescheduled'",
        (f"booking:{booking.id}:", f"booking:{booking.id};"),
    ).fetchone()
    return max(booking.created_at, from_db_time(row[0])) if row[0] else booking.created_at


def _mark(conn, booking: BookingRecord, kind: str, due_at: datetime, now: datetime) -> bool:
    cursor = conn.execute(
        "INSERT INTO notification_sent (booking_id, kind, due_at, sent_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (booking_id, kind) DO NOTHING",
        (booking.id, kind, to_db_time(due_at), to_db_time(now)),
    )
    return cursor.rowcount == 1


def _announce(conn, station: Station, booking: BookingRecord, kind: str, due_at: datetime, now: datetime) -> None:
    member = find_member(conn, member_id=booking.member_id) if booking.member_id else None
    body = {
        "kind": kind, "booking": booking.code, "booking_id": booking.id, "plate": booking.plate,
        "bay": booking.bay_id, "start_local": station.local(booking.start_at).isoformat(),
        "phone": member.phone if member else None, "due_at": to_db_time(due_at),
        "station": station.settings.station.id,
    }
    # customers are reminded through HQ's SMS/app gateway; a late car is the attendant's alert
    event_type = "booking.late" if kind == LATE_ALERT else "notification.requested"
    append_event(conn, event_type=event_type, entity_id=booking.id,
                 idem_key=f"notice:{booking.id}:{kind}", body=body, now=now)
