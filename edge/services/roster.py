"""Roster exceptions at the desk: leave, sick days, extra shifts and holiday hours per technician and date.

The weekly roster comes from the config; an exception changes one technician's date and is
kept in the database, so every process sees it at once: `Station.shifts` (the one place a
technician's shifts of a day are worked out, used by availability, placement, live capacity,
the board and the demo) applies it on every call. Each change writes `roster.exception_set`
or `roster.exception_removed` to the outbox in its own transaction.

Bookings that already hold the technician are never moved: a change returns the live
bookings of that technician and date that its new shifts no longer cover, so the desk can
reassign them (reschedule, or `service disruptions` when the customer must choose).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from sqlite3 import Connection
from typing import Any

from edge.domain.booking_state import LIVE_STATES
from edge.domain.capacity import on_shift
from edge.domain.catalog import Technician
from edge.domain.ids import uuid7
from edge.domain.roster import Ranges, RosterException, day_ranges, exception_kind, make_exception
from edge.domain.slots import day_bounds
from edge.domain.permissions import Actor, Permission, authorise
from edge.errors import InvalidInput, NotFound
from edge.services import audit
from edge.services.booking_store import BookingRecord, query_bookings
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.roster import delete_exception, exception_on, query_exceptions, save_exception
from edge.store.types import from_db_time, to_db_time

_LIVE = tuple(sorted(str(state) for state in LIVE_STATES))


@dataclass(frozen=True, slots=True)
class RosterChange:
    """An exception set or removed, and the bookings of that technician and date the day's
    shifts no longer cover (the desk reassigns them; nothing is moved automatically)."""

    exception: RosterException  # the one set, or the one removed
    removed: bool
    affected: tuple[BookingRecord, ...]

    def to_json(self) -> dict[str, Any]:
        return {**self.exception.to_json(), "removed": self.removed,
                "affected": [booking.to_json() for booking in self.affected]}


@dataclass(frozen=True, slots=True)
class RosterDay:
    """One technician's local day: the weekly roster's hours, the exception, and the shifts that result."""

    technician: Technician
    day: date
    weekly: Ranges  # local minutes, as the config's roster has them for that weekday
    exception: RosterException | None
    shifts: tuple[tuple[datetime, datetime], ...]  # UTC, the exception applied

    @property
    def ranges(self) -> Ranges:
        return day_ranges(self.weekly, self.exception)

    def to_json(self) -> dict[str, Any]:
        return {
            "technician_id": self.technician.id, "name": self.technician.name, "date": self.day.isoformat(),
            "exception": self.exception.to_json() if self.exception else None,
            "shifts": [{"start": to_db_time(start), "end": to_db_time(end)} for start, end in self.shifts],
        }


def set_exception(
    station: Station,
    technician: str,
    *,
    day: date,
    kind: str,
    start_minute: int | None = None,
    end_minute: int | None = None,
    note: str = "",
    now: datetime | None = None,
    manager: Actor | None = None,
) -> RosterChange:
    """Give `technician` (id or name) an exception on the local `day`, replacing any earlier one.

    `leave` and `sick` take the day off (no hours); `extra` adds the shift `start_minute` to
    `end_minute` (local minutes) to the weekly ones; `hours` replaces that day's shifts by it.
    A manager's change.
    """
    answering = authorise(station.actor, Permission.ROSTER_CHANGE, manager)
    now = now or station.clock()
    # the arguments first: a malformed one is named even when the technician is misspelt too
    exception = make_exception(technician, day, exception_kind(kind), start_minute=start_minute,
                               end_minute=end_minute, note=note)
    _not_past(station, day, now)
    tech = station.catalog().technician(technician)
    exception = replace(exception, technician_id=tech.id)
    with station.store.write() as conn:
        earlier = exception_on(conn, tech.id, day)
        save_exception(conn, exception, now=now)
        affected = _uncovered_bookings(conn, station, tech, day)
        _record(conn, station, "roster.exception_set", exception, affected, now, before=earlier,
                authorised_by=answering.id)
    return RosterChange(exception, False, affected)


def remove_exception(station: Station, technician: str, *, day: date, now: datetime | None = None,
                     manager: Actor | None = None) -> RosterChange:
    """Take `technician`'s exception on `day` away: the weekly roster holds again that day. A manager's change."""
    answering = authorise(station.actor, Permission.ROSTER_CHANGE, manager)
    now = now or station.clock()
    tech = station.catalog().technician(technician)
    _not_past(station, day, now)
    with station.store.write() as conn:
        exception = exception_on(conn, tech.id, day)
        if exception is None:
            raise NotFound(f"{tech.name} ({tech.id}) has no roster exception on {day}")
        delete_exception(conn, tech.id, day)
        affected = _uncovered_bookings(conn, station, tech, day)
        _record(conn, station, "roster.exception_removed", exception, affected, now, before=exception,
                authorised_by=answering.id, removed=True)
    return RosterChange(exception, True, affected)


def exceptions(
    station: Station, *, day: date | None = None, technician: str | None = None, since: date | None = None
) -> list[RosterException]:
    """Exceptions by date then technician: of one `day`, of one technician (id or name), from `since` on."""
    tech_id = station.catalog().technician(technician).id if technician else None
    with station.store.read() as conn:
        return query_exceptions(conn, day=day, technician_id=tech_id, since=since)


def roster_day(station: Station, technician: str, day: date) -> RosterDay:
    """`technician`'s effective shifts on the local `day`, with the weekly hours and the exception behind them."""
    tech = station.catalog().technician(technician)
    with station.store.read() as conn:
        exception = exception_on(conn, tech.id, day)
        shifts = station.shifts(tech, day)  # in the same read: the exception and the shifts agree
    return RosterDay(tech, day, tuple(sorted(tech.shifts.get(day.weekday(), ()))), exception, shifts)


def _not_past(station: Station, day: date, now: datetime) -> None:
    today = station.local(now).date()
    if day < today:
        raise InvalidInput("date", f"{day} is past (today is {today}): the roster of a past day stays as it was")


def _uncovered_bookings(conn: Connection, station: Station, technician: Technician, day: date
                        ) -> tuple[BookingRecord, ...]:
    """Live bookings of the technician on `day` that the day's shifts (read in this transaction,
    the change included) no longer cover wholly."""
    first, last = day_bounds(day, station.tz)
    shifts = station.shifts(technician, day)
    # a booking in legs may give this technician only one of them: the legs are what they work
    legs = conn.execute(
        f"SELECT l.booking_id, l.start_at, l.end_at FROM booking_leg l JOIN booking b ON b.id = l.booking_id"
        f" WHERE l.technician_id = ? AND l.start_at >= ? AND l.start_at < ? AND l.seq >= b.leg"
        f" AND b.state IN ({', '.join('?' * len(_LIVE))})",
        (technician.id, to_db_time(first), to_db_time(last), *_LIVE),
    ).fetchall()
    uncovered = sorted({booking_id for booking_id, start, end in legs
                        if not on_shift(shifts, from_db_time(start), from_db_time(end))})
    if not uncovered:
        return ()
    return tuple(query_bookings(conn, f"id IN ({', '.join('?' * len(uncovered))}) ORDER BY start_at, code",
                                tuple(uncovered)))


def _record(conn: Connection, station: Station, event_type: str, exception: RosterException,
            affected: tuple[BookingRecord, ...], now: datetime, *, before: RosterException | None,
            authorised_by: str, removed: bool = False) -> None:
    body = {**exception.to_json(), "station": station.settings.station.id,
            "affected_bookings": [b.code for b in affected], "at": to_db_time(now)}
    append_event(conn, event_type=event_type, entity_id=exception.technician_id,
                 idem_key=f"roster:{exception.technician_id}:{exception.day.isoformat()}:{uuid7()}",
                 body=body, now=now)
    audit.record(conn, station, action=event_type, entity="technician", entity_id=exception.technician_id,
                 before=before.to_json() if before else None, after=None if removed else exception.to_json(),
                 authorised_by=authorised_by, now=now)
