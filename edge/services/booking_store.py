"""Booking rows, their cell claims and their outbox events: the write steps under every booking service."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlite3 import Connection
from sqlite3 import IntegrityError

from edge.domain.booking_state import LIVE_STATES, BookingState
from edge.domain.catalog import WorkPlan
from edge.domain.ids import short_code
from edge.errors import NotFound, RuleViolation
from edge.services import audit
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

_COLUMNS = (
    "id, code, plate, member_id, channel, state, progress, bay_id, technician_id, start_at, end_at,"
    " services, package_code, price_minor, currency, price_version, hold_until, notes, reason,"
    " version, created_at, updated_at, overlap_allowed, leg"
)
_COLUMN_NAMES = tuple(name.strip() for name in _COLUMNS.split(","))
_SERVICES = _COLUMN_NAMES.index("services")
_INSERT = f"INSERT INTO booking ({_COLUMNS}) VALUES ({', '.join('?' * len(_COLUMN_NAMES))})"
_UPDATE = f"UPDATE booking SET {', '.join(f'{name} = ?' for name in _COLUMN_NAMES[1:])} WHERE id = ?"

_INSTANTS = ("start_at", "end_at", "created_at", "updated_at", "hold_until")
# a booking's cells lie within its opening day: a day from its start bounds them
CLAIM_RANGE = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class BookingRecord:
    id: str
    code: str
    plate: str
    member_id: str | None
    channel: str
    state: BookingState
    progress: str | None
    bay_id: str
    technician_id: str | None
    start_at: datetime
    end_at: datetime
    services: tuple[str, ...]
    package_code: str | None
    price_minor: int
    currency: str
    price_version: str
    hold_until: datetime | None
    notes: str
    reason: str
    version: int
    created_at: datetime
    updated_at: datetime
    overlap_allowed: bool = False  # a fleet booked this car for overlapping work on purpose
    leg: int = 0  # the leg the car is on: `bay_id` and `technician_id` are that leg's

    @classmethod
    def from_row(cls, row: Any) -> "BookingRecord":
        data = dict(row)
        for key in _INSTANTS:
            if data[key] is not None:
                data[key] = from_db_time(data[key])
        data["services"] = tuple(json.loads(data["services"]))
        data["state"] = BookingState(data["state"])
        data["overlap_allowed"] = bool(data["overlap_allowed"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        """The booking as scripts and HQ see it: instants in ISO 8601 UTC."""
        data = {name: getattr(self, name) for name in self.__slots__}
        for key in _INSTANTS:
            if data[key] is not None:
                data[key] = to_db_time(data[key])
        data["services"] = list(self.services)
        data["state"] = str(self.state)
        return data


@dataclass(frozen=True, slots=True)
class LegRecord:
    """One leg of a booking: its services on one bay, with its technician, from `start_at`
    (its cells begin there) until its work ends at `end_at`."""

    seq: int
    bay_id: str
    technician_id: str | None
    start_at: datetime
    end_at: datetime
    services: tuple[str, ...]

    @classmethod
    def from_row(cls, row: Any) -> "LegRecord":
        """A leg from (seq, bay_id, technician_id, start_at, end_at, services) as stored."""
        seq, bay, tech, start, end, services = row
        return cls(seq, bay, tech, from_db_time(start), from_db_time(end), tuple(json.loads(services)))

    def to_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "bay_id": self.bay_id, "technician_id": self.technician_id,
                "start_at": to_db_time(self.start_at), "end_at": to_db_time(self.end_at),
                "services": list(self.services)}


def legs_of(conn: Connection, booking_id: str) -> tuple[LegRecord, ...]:
    """The booking's legs in order (every booking has at least one)."""
    rows = conn.execute(
        "SELECT seq, bay_id, technician_id, start_at, end_at, services FROM booking_leg WHERE booking_id = ?"
        " ORDER BY seq", (booking_id,),
    )
    return tuple(LegRecord.from_row(row) for row in rows)


def write_legs(conn: Connection, booking_id: str, legs: tuple[LegRecord, ...], *, new: bool = False) -> None:
    """Write the booking's legs: a `new` booking's, or in place of those it had (a reschedule)."""
    if not new:
        conn.execute("DELETE FROM booking_leg WHERE booking_id = ?", (booking_id,))
    conn.executemany(
        "INSERT INTO booking_leg (booking_id, seq, bay_id, technician_id, start_at, end_at, services)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(booking_id, leg.seq, leg.bay_id, leg.technician_id, to_db_time(leg.start_at), to_db_time(leg.end_at),
          json.dumps(list(leg.services))) for leg in legs],
    )


def _row_params(data: dict[str, Any]) -> list[Any]:
    """The booking's column values from its JSON form (services as stored JSON text)."""
    params = [data[name] for name in _COLUMN_NAMES]
    params[_SERVICES] = json.dumps(data["services"])
    return params


def get_booking(conn: Connection, ref: str) -> BookingRecord:
    """A booking by id or by its short code; NotFound names the reference."""
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM booking WHERE id = ? OR code = ?", (ref, ref.upper())
    ).fetchone()
    if row is None:
        raise NotFound(f"no booking {ref!r}")
    return BookingRecord.from_row(row)


def query_bookings(conn: Connection, where: str, params: tuple) -> list[BookingRecord]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM booking WHERE {where}", params)
    return [BookingRecord.from_row(row) for row in rows]


def record_event(
    conn: Connection, station: Station, booking: BookingRecord, event_type: str, data: dict[str, Any] | None = None,
    *, legs: tuple[LegRecord, ...] | None = None, before_state: str | None = None,
) -> None:
    """The outbox row for the booking's latest version (idem key = booking id + version) and
    its audit entry (the state before and after); `data` is the booking's JSON form when the
    caller has it already; `legs` go with it when they were just written (a new or moved booking)."""
    body: dict[str, Any] = {"booking": booking.to_json() if data is None else data,
                            "station": station.settings.station.id}
    if legs is not None:
        body["legs"] = [leg.to_json() for leg in legs]
    append_event(
        conn,
        event_type=event_type,
        entity_id=booking.id,
        idem_key=f"booking:{booking.id}:{booking.version}",
        body=body,
        now=booking.updated_at,
    )
    audit.record(conn, station, action=event_type, entity="booking", entity_id=booking.id,
                 before=None if before_state is None else {"state": before_state},
                 after={"state": booking.state, "code": booking.code, "version": booking.version},
                 now=booking.updated_at)


def require_car_free(
    conn: Connection, station: Station, *, plate: str, start: datetime, end: datetime, now: datetime,
    booking_id: str | None = None,
) -> None:
    """RuleViolation naming the other booking when the car already has a live booking overlapping
    [start, end); a hold that has lapsed does not count, nor the booking `booking_id` itself."""
    other = car_booking_at(conn, plate=plate, start=start, end=end, now=now, booking_id=booking_id)
    if other is not None:
        raise RuleViolation(
            f"{plate} already has booking {other.code} ({other.state}) from "
            f"{station.local(other.start_at):%Y-%m-%d %H:%M} to {station.local(other.end_at):%H:%M}; a car has one "
            "booking at a time (a fleet booking may allow an overlap)")


def car_booking_at(
    conn: Connection, *, plate: str, start: datetime, end: datetime, now: datetime, booking_id: str | None = None
) -> BookingRecord | None:
    """The car's first live booking overlapping [start, end), other than `booking_id`; None if it is free."""
    live = tuple(LIVE_STATES)
    row = conn.execute(
        f"SELECT {_COLUMNS} FROM booking WHERE plate = ? AND start_at < ? AND start_at > ? AND end_at > ?"
        f" AND state IN ({', '.join('?' * len(live))}) AND id IS NOT ? AND (hold_until IS NULL OR hold_until >= ?)"
        " ORDER BY start_at LIMIT 1",
        (plate, to_db_time(end), to_db_time(start - CLAIM_RANGE), to_db_time(start), *live, booking_id,
         to_db_time(now)),
    ).fetchone()
    return None if row is None else BookingRecord.from_row(row)


def insert_booking(conn: Connection, station: Station, booking: BookingRecord, event_type: str,
                   legs: tuple[LegRecord, ...]) -> BookingRecord:
    """Write a new booking, its legs and its event; returns it (with a fresh code if its code was taken).

    Six-letter codes are short enough to read out on the phone, so a busy station will meet
    the same code twice: the code's unique index notices, and the booking draws another.
    """
    for _attempt in range(8):
        data = booking.to_json()
        try:
            conn.execute(_INSERT, _row_params(data))
            break
        except IntegrityError as err:
            if "booking.code" not in str(err):
                raise
            booking = replace(booking, code=short_code())
    else:
        raise RuntimeError("could not draw an unused booking code in 8 attempts")
    write_legs(conn, booking.id, legs, new=True)
    record_event(conn, station, booking, event_type, data, legs=legs)
    return booking


def update_booking(
    conn: Connection, station: Station, booking: BookingRecord, event_type: str, *, now: datetime,
    legs: tuple[LegRecord, ...] | None = None, **changes: Any
) -> BookingRecord:
    """Apply `changes` as the booking's next version (with new `legs`, when it moved) and write its event."""
    updated = replace(booking, **changes, version=booking.version + 1, updated_at=now)
    data = updated.to_json()
    params = _row_params(data)
    conn.execute(_UPDATE, (*params[1:], updated.id))
    if legs is not None:
        write_legs(conn, updated.id, legs)
    record_event(conn, station, updated, event_type, data, legs=legs, before_state=booking.state)
    return updated


def new_booking(
    station: Station,
    *,
    booking_id: str,
    plan: WorkPlan,
    legs: tuple[LegRecord, ...],
    plate: str,
    member_id: str | None,
    channel: str,
    state: BookingState,
    hold_until: datetime | None,
    notes: str,
    now: datetime,
) -> BookingRecord:
    """The booking row of `plan` placed on `legs`: at its first leg's bay, from its first leg's
    start until its last leg's work ends."""
    return BookingRecord(
        id=booking_id,
        code=short_code(),
        plate=plate,
        member_id=member_id,
        channel=channel,
        state=state,
        progress=None,
        bay_id=legs[0].bay_id,
        technician_id=legs[0].technician_id,
        start_at=legs[0].start_at,
        end_at=legs[-1].end_at,
        services=plan.service_codes,
        package_code=plan.package_code,
        price_minor=plan.price_minor,
        currency=station.settings.station.currency,
        price_version=station.catalog().version,
        hold_until=hold_until,
        notes=notes,
        reason="",
        version=1,
        created_at=now,
        updated_at=now,
    )


def claim_bay(
    conn: Connection, *, booking_id: str, bay_id: str, starts: list[datetime], hold_until: datetime | None
) -> bool:
    """Claim the bay's cells for the booking; False (and nothing written) if any is taken.

    The primary key of slot_claim is the check: there is no read-then-insert window for
    another writer to slip into.
    """
    hold = None if hold_until is None else to_db_time(hold_until)
    return _insert_all_or_none(
        conn, "slot_claim (bay_id, slot_start, booking_id, hold_until)",
        [(bay_id, to_db_time(s), booking_id, hold) for s in starts],
    )


def claim_technician(conn: Connection, *, booking_id: str, technician_id: str, starts: list[datetime]) -> bool:
    """Claim the technician's cells: one car at a time per technician, by primary key."""
    return _insert_all_or_none(
        conn, "technician_claim (technician_id, slot_start, booking_id)",
        [(technician_id, to_db_time(s), booking_id) for s in starts],
    )


def _insert_all_or_none(conn: Connection, target: str, rows: list[tuple]) -> bool:
    # one multi-row INSERT is one statement: on a constraint failure SQLite undoes all its rows
    row_marks = "(" + ", ".join("?" * len(rows[0])) + ")"
    try:
        conn.execute(f"INSERT INTO {target} VALUES {', '.join([row_marks] * len(rows))}",
                     [value for row in rows for value in row])
    except IntegrityError:
        return False
    return True


def release_cells(
    conn: Connection, booking: BookingRecord, *, from_start: datetime | None = None,
    legs: tuple[LegRecord, ...] | None = None,
) -> int:
    """Give back the claims of the booking's legs (only those from `from_start` on, if given);
    returns how many bay cells were freed.

    Claims are found through the primary keys: each leg's bay (and technician) from the leg's
    start until a day later, a range no leg's cells can leave.
    """
    freed = 0
    for leg in legs if legs is not None else legs_of(conn, booking.id):
        first = to_db_time(max(leg.start_at, from_start) if from_start else leg.start_at)
        last = to_db_time(leg.start_at + CLAIM_RANGE)
        if leg.technician_id is not None:
            conn.execute(
                "DELETE FROM technician_claim WHERE technician_id = ? AND slot_start >= ? AND slot_start < ?"
                " AND booking_id = ?",
                (leg.technician_id, first, last, booking.id),
            )
        freed += conn.execute(
            "DELETE FROM slot_claim WHERE bay_id = ? AND slot_start >= ? AND slot_start < ? AND booking_id = ?",
            (leg.bay_id, first, last, booking.id),
        ).rowcount
    return freed


def firm_up_claims(conn: Connection, booking: BookingRecord) -> None:
    """A confirmed booking's claims no longer lapse."""
    for leg in legs_of(conn, booking.id):
        conn.execute(
            "UPDATE slot_claim SET hold_until = NULL WHERE bay_id = ? AND slot_start >= ? AND slot_start < ?"
            " AND booking_id = ?",
            (leg.bay_id, to_db_time(leg.start_at), to_db_time(leg.start_at + CLAIM_RANGE), booking.id),
        )


def release_claims(conn: Connection, *, booking_id: str, bay_id: str, technician_id: str | None,
                   starts: list[datetime]) -> int:
    """Give back some of the booking's cells by their keys (work taken off a leg); returns how many bay cells."""
    cells = [to_db_time(s) for s in starts]
    if not cells:
        return 0
    marks = ", ".join("?" * len(cells))
    if technician_id is not None:
        conn.execute(f"DELETE FROM technician_claim WHERE technician_id = ? AND slot_start IN ({marks})"
                     " AND booking_id = ?", (technician_id, *cells, booking_id))
    return conn.execute(f"DELETE FROM slot_claim WHERE bay_id = ? AND slot_start IN ({marks}) AND booking_id = ?",
                        (bay_id, *cells, booking_id)).rowcount


def firm_up_cells(conn: Connection, *, booking_id: str, bay_id: str, starts: list[datetime]) -> None:
    """Some held cells of the booking no longer lapse (the work on them was approved)."""
    cells = [to_db_time(s) for s in starts]
    if cells:
        conn.execute(f"UPDATE slot_claim SET hold_until = NULL WHERE bay_id = ? AND slot_start IN"
                     f" ({', '.join('?' * len(cells))}) AND booking_id = ?", (bay_id, *cells, booking_id))
