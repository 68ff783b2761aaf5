"""The waitlist: a wish for a full day, offered as a hold automatically when a fitting slot frees."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlite3 import Connection

from edge.domain.booking_state import BookingState
from edge.domain.ids import uuid7
from edge.domain.plates import validate_plate
from edge.domain.slots import local_instant
from edge.errors import InvalidTransition, NotFound, RuleViolation, SlotTaken
from edge.services.availability import options_on
from edge.services.booking_store import BookingRecord
from edge.services import booking_pipeline
from edge.services.members import get_member, register_member, typed_phone
from edge.services.placement import Wishes
from edge.services.station import Station
from edge.services.vehicle_sizes import plan_for_car
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

_COLUMNS = "id, plate, phone, member_id, services, day, window_start, window_end, state, offered_booking_id, version"


@dataclass(frozen=True, slots=True)
class WaitlistRecord:
    id: str
    plate: str
    phone: str
    member_id: str | None
    services: tuple[str, ...]
    day: str
    window_start: datetime
    window_end: datetime
    state: str  # waiting, offered, cancelled
    offered_booking_id: str | None
    version: int

    @classmethod
    def from_row(cls, row: Any) -> "WaitlistRecord":
        data = dict(row)
        data["services"] = tuple(json.loads(data["services"]))
        data["window_start"] = from_db_time(data["window_start"])
        data["window_end"] = from_db_time(data["window_end"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "plate": self.plate, "phone": self.phone, "member_id": self.member_id,
            "services": list(self.services), "day": self.day,
            "window_start": to_db_time(self.window_start), "window_end": to_db_time(self.window_end),
            "state": self.state, "offered_booking_id": self.offered_booking_id, "version": self.version,
        }


def join(
    station: Station,
    *,
    services: list[str],
    day: date,
    plate: str,
    phone: str | None = None,
    earliest: time | None = None,
    latest: time | None = None,
    foreign_plate: bool = False,
    now: datetime | None = None,
) -> WaitlistRecord:
    """Put a customer on the waitlist for `day`, optionally between two local times.

    The plate must have a mainland format unless `foreign_plate`; the phone the station's format."""
    now = now or station.clock()
    plate = validate_plate(plate, foreign=foreign_plate)
    phone = typed_phone(station, phone) if phone else ""
    station.catalog().plan(services)  # unknown codes fail here, not when a slot frees
    start_minute = 0 if earliest is None else earliest.hour * 60 + earliest.minute
    end_minute = 1440 if latest is None else latest.hour * 60 + latest.minute
    if end_minute <= start_minute:
        raise RuleViolation("the waitlist window must end after it starts")
    entry = WaitlistRecord(
        id=uuid7(), plate=plate, phone=phone, member_id=None,
        services=tuple(services), day=day.isoformat(),
        window_start=local_instant(day, start_minute, station.tz),
        window_end=local_instant(day, end_minute, station.tz),
        state="waiting", offered_booking_id=None, version=1,
    )
    with station.store.write() as conn:
        if phone:
            entry = replace(entry, member_id=register_member(conn, station, phone=phone, now=now).id)
        stamp = to_db_time(now)
        conn.execute(
            f"INSERT INTO waitlist_entry ({_COLUMNS}, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (*_params(entry), stamp, stamp),
        )
        _record(conn, station, entry, "waitlist.joined", now)
        # the day may have a free slot already: offer it at once rather than wait for a release
        offer_freed(conn, station, day=day, now=now)
    return entry


def offer_freed(conn: Connection, station: Station, *, day: date, now: datetime) -> list[BookingRecord]:
    """Offer free slots of `day` to waiting entries, first come first served, each as a hold
    for `waitlist_offer_minutes`; runs inside the transaction that freed the cells."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM waitlist_entry WHERE day = ? AND state = 'waiting' ORDER BY created_at, id",
        (day.isoformat(),),
    )
    offers = []
    for entry in [WaitlistRecord.from_row(row) for row in rows]:
        booking = _offer(conn, station, entry, day=day, now=now)
        if booking is None:
            continue
        offered = replace(entry, state="offered", offered_booking_id=booking.id, version=entry.version + 1)
        conn.execute(
            "UPDATE waitlist_entry SET state = 'offered', offered_booking_id = ?, version = ?, updated_at = ?"
            " WHERE id = ?",
            (booking.id, offered.version, to_db_time(now), entry.id),
        )
        _record(conn, station, offered, "waitlist.offered", now)
        offers.append(booking)
    return offers


def _offer(conn: Connection, station: Station, entry: WaitlistRecord, *, day: date,
           now: datetime) -> BookingRecord | None:
    """Hold the first start in the entry's window that the booking pipeline can place on the
    station's own cells (HQ's are HQ's to offer), for `waitlist_offer_minutes`; None if none fits."""
    plan = plan_for_car(conn, station, entry.services, entry.plate)
    member = get_member(conn, entry.member_id) if entry.member_id else None
    hold_until = now + timedelta(minutes=station.settings.booking.waitlist_offer_minutes)
    admission = booking_pipeline.Admission(station.tier(member.tier if member else None), None, hold_until)
    for option in options_on(conn, station, plan=plan, day=day, now=now):
        if not (entry.window_start <= option.start and option.end <= entry.window_end):
            continue
        ask = booking_pipeline.Ask(plan=plan, start=option.start, plate=entry.plate, member=member,
                                   channel="terminal", hold=True, wishes=Wishes(bay_id=option.bay_id))
        # a lapsed hold counts as free in the options but still holds its claim; the car's own
        # bookings stand: it is not offered a time it is booked for already
        conn.execute("SAVEPOINT waitlist_offer")
        try:
            placement = booking_pipeline.place(conn, station, ask, now=now)
            ownership = booking_pipeline.own(conn, station, placement)
            if ownership.tentative:
                raise RuleViolation("HQ's cells")
            booking = booking_pipeline.write(conn, station, ask, admission, placement, ownership,
                                             booking_id=uuid7(), notes=f"waitlist offer {entry.id}", now=now)
        except (SlotTaken, RuleViolation):
            conn.execute("ROLLBACK TO waitlist_offer")
            conn.execute("RELEASE waitlist_offer")
            continue
        conn.execute("RELEASE waitlist_offer")
        return booking
    return None

def cancel_entry(station: Station, entry_id: str, *, now: datetime | None = None) -> WaitlistRecord:
    now = now or station.clock()
    with station.store.write() as conn:
        row = conn.execute(f"SELECT {_COLUMNS} FROM waitlist_entry WHERE id = ?", (entry_id,)).fetchone()
        if row is None:
            raise NotFound(f"no waitlist entry {entry_id!r}")
        entry = WaitlistRecord.from_row(row)
        if entry.state != "waiting":
            raise InvalidTransition(f"waitlist entry {entry_id} is {entry.state}; only waiting entries cancel")
        cancelled = replace(entry, state="cancelled", version=entry.version + 1)
        conn.execute(
            "UPDATE waitlist_entry SET state = 'cancelled', version = ?, updated_at = ? WHERE id = ?",
            (cancelled.version, to_db_time(now), entry_id),
        )
        _record(conn, station, cancelled, "waitlist.cancelled", now)
        return cancelled


def entries(station: Station, *, day: date | None = None) -> list[WaitlistRecord]:
    where, params = ("day = ?", (day.isoformat(),)) if day else ("1 = 1", ())
    with station.store.read() as conn:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM waitlist_entry WHERE {where} ORDER BY day, created_at", params
        )
        return [WaitlistRecord.from_row(row) for row in rows]


def _params(entry: WaitlistRecord) -> tuple:
    data = entry.to_json()
    data["services"] = json.dumps(data["services"])
    return tuple(data[name.strip()] for name in _COLUMNS.split(","))


def _record(conn: Connection, station: Station, entry: WaitlistRecord, event_type: str, now: datetime) -> None:
    append_event(
        conn, event_type=event_type, entity_id=entry.id,
        idem_key=f"waitlist:{entry.id}:{entry.version}", body={"waitlist": entry.to_json()}, now=now,
    )


def offer_open_slots(station: Station, *, now: datetime | None = None) -> list[BookingRecord]:
    """Offer whatever is free now to waiting entries of today and later (the daemon's sweep:
    it catches cells freed by paths that do not offer, such as a lapsed hold taken over)."""
    now = now or station.clock()
    today = station.local(now).date().isoformat()
    offers: list[BookingRecord] = []
    with station.store.write() as conn:
        days = [row[0] for row in conn.execute(
            "SELECT DISTINCT day FROM waitlist_entry WHERE state = 'waiting' AND day >= ? ORDER BY day", (today,))]
        for day in days:
            offers.extend(offer_freed(conn, station, day=date.fromisoformat(day), now=now))
    return offers
