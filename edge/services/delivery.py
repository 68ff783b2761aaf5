"""After the work: service reports with the next service due, feedback requests and ratings, complaints.

`record_service_report` and `request_feedback` run inside the completion transaction
(edge.services.bookings._complete); the rest are public writes and reads of their own.
Events: `service.reported` (keyed service_report:<booking>:<version>), `feedback.requested`
(feedback_request:<booking>), `feedback.recorded` (feedback:<booking>), `complaint.raised`
(complaint:<id>).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from sqlite3 import Connection
from typing import Any

from edge.domain import delivery as rules
from edge.domain import inventory as stock_rules
from edge.domain.booking_state import BookingState
from edge.domain.delivery import MileageReading, NextService, ServiceReportInput
from edge.domain.ids import uuid7
from edge.domain.plates import normalize_plate
from edge.domain.slots import local_day
from edge.errors import InvalidTransition, NotFound
from edge.services.booking_store import BookingRecord, get_booking
from edge.services.station import Station
from edge.store.inventory import find_material, list_materials, record_movement
from edge.store.outbox import append_event
from edge.store.types import dumps, from_db_time, to_db_time

_REPORT_COLUMNS = (
    "r.booking_id, b.code AS booking_code, r.plate, r.technician_id, r.services, r.work_done, r.parts, r.findings,"
    " r.advice, r.mileage_km, r.next_due_date, r.next_due_km, r.next_due_basis, r.completed_at, r.version,"
    " r.updated_at"
)


@dataclass(frozen=True, slots=True)
class ServiceReportRecord:
    booking_id: str
    booking_code: str
    plate: str
    technician_id: str | None
    services: tuple[str, ...]
    work_done: str
    parts: tuple[dict[str, Any], ...]
    findings: tuple[str, ...]
    advice: tuple[str, ...]
    mileage_km: int | None
    next_due_date: date | None
    next_due_km: int | None
    next_due_basis: str
    completed_at: datetime
    version: int
    updated_at: datetime

    @classmethod
    def from_row(cls, row: Any) -> ServiceReportRecord:
        data = dict(row)
        for key in ("services", "parts", "findings", "advice"):
            data[key] = tuple(json.loads(data[key]))
        data["next_due_date"] = date.fromisoformat(data["next_due_date"]) if data["next_due_date"] else None
        data["completed_at"] = from_db_time(data["completed_at"])
        data["updated_at"] = from_db_time(data["updated_at"])
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        data = {name: getattr(self, name) for name in self.__slots__}
        for key in ("services", "parts", "findings", "advice"):
            data[key] = list(data[key])
        data["next_due_date"] = self.next_due_date.isoformat() if self.next_due_date else None
        data["completed_at"] = to_db_time(self.completed_at)
        data["updated_at"] = to_db_time(self.updated_at)
        return data


@dataclass(frozen=True, slots=True)
class FeedbackRequest:
    booking_id: str
    booking_code: str
    plate: str
    member_id: str | None
    phone: str | None
    due_at: datetime


@dataclass(frozen=True, slots=True)
class FeedbackRecord:
    booking_id: str
    booking_code: str
    rating: int
    comment: str
    recorded_at: datetime
    complaint_id: str | None  # set when the rating raised a complaint

    def to_json(self) -> dict[str, Any]:
        return {"booking_id": self.booking_id, "booking_code": self.booking_code, "rating": self.rating,
                "comment": self.comment, "recorded_at": to_db_time(self.recorded_at),
                "complaint_id": self.complaint_id}


@dataclass(frozen=True, slots=True)
class ComplaintRecord:
    id: str
    booking_id: str
    booking_code: str
    plate: str
    member_id: str | None
    technician_id: str | None
    rating: int
    comment: str
    state: str
    created_at: datetime
    assigned_to: str | None = None  # the staff member following it up
    note: str = ""  # the latest note (how it was resolved, why it was closed)

    def to_json(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__} | {"created_at": to_db_time(self.created_at)}


@dataclass(frozen=True, slots=True)
class DueService:
    """When a car is due for one service again, from the last report that included it."""

    service_code: str
    last_booking_code: str
    last_done_on: date
    last_mileage_km: int | None
    next: NextService

    def to_json(self) -> dict[str, Any]:
        return {"service_code": self.service_code, "last_booking_code": self.last_booking_code,
                "last_done_on": self.last_done_on.isoformat(), "last_mileage_km": self.last_mileage_km,
                **self.next.to_json()}


# -- service reports -------------------------------------------------------------


def record_service_report(
    conn: Connection, station: Station, booking: BookingRecord, *, report: ServiceReportInput | None,
    mileage_km: int | None, now: datetime,
) -> ServiceReportRecord:
    """The report of a booking completing at `now`, inside its completion transaction.

    Extra parts are taken out of stock; the odometer reading is recorded on the vehicle.
    """
    report = report or ServiceReportInput()
    reading = None
    if mileage_km is not None:
        reading = _record_odometer(conn, booking.plate, mileage_km, floor=_recorded_mileage(conn, booking.plate))
    standard = stock_rules.materials_needed(_items(station, booking))
    _take_extra_parts(conn, booking, report.parts, now)
    return _write_report(conn, station, booking, previous=None, work_done=report.work_done,
                         parts=rules.parts_used(standard, report.parts), findings=report.findings,
                         advice=report.advice, reading=reading, completed_at=now, now=now)


def amend_service_report(
    station: Station, ref: str, *, report: ServiceReportInput, mileage_km: int | None = None,
    now: datetime | None = None,
) -> ServiceReportRecord:
    """Add to a completed booking's report: given texts replace the old ones, given parts are
    added (and taken out of stock), a given reading replaces the old one."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        if booking.state != BookingState.COMPLETED:
            raise InvalidTransition(
                f"booking {booking.code} is {booking.state}; its report is written when it completes"
            )
        previous = _find_report(conn, booking.id)
        if previous is None:
            raise NotFound(f"booking {booking.code} has no service report (completed before reports were kept)")
        reading = previous.mileage_km
        if mileage_km is not None:
            reading = _correct_odometer(conn, station, booking, previous, mileage_km)
        standard = {p["sku"]: p["quantity"] for p in previous.parts if p["source"] == "standard"}
        extra = [(p["sku"], p["quantity"]) for p in previous.parts if p["source"] == "extra"]
        _take_extra_parts(conn, booking, report.parts, now)
        return _write_report(
            conn, station, booking, previous=previous, work_done=report.work_done.strip() or previous.work_done,
            parts=rules.parts_used(standard, extra + list(report.parts)),
            findings=report.findings or previous.findings, advice=report.advice or previous.advice,
            reading=reading, completed_at=previous.completed_at, now=now,
        )


def service_report(station: Station, ref: str) -> ServiceReportRecord:
    """The report of a booking (by id or code)."""
    with station.store.read() as conn:
        booking = get_booking(conn, ref)
        found = _find_report(conn, booking.id)
    if found is None:
        raise NotFound(f"booking {booking.code} has no service report (it is {booking.state})")
    return found


def next_service(station: Station, plate: str) -> list[DueService]:
    """Per service the car has had (with an interval), when it is due again; soonest first."""
    plate = normalize_plate(plate)
    with station.store.read() as conn:
        rows = conn.execute(
            f"SELECT {_REPORT_COLUMNS} FROM service_report r JOIN booking b ON b.id = r.booking_id"
            " WHERE r.plate = ? ORDER BY r.completed_at", (plate,),
        ).fetchall()
        readings = _readings(conn, station, plate, None)
    if not rows:
        raise NotFound(f"no service report for {plate}")
    latest: dict[str, ServiceReportRecord] = {}
    for report in map(ServiceReportRecord.from_row, rows):
        latest.update(dict.fromkeys(report.services, report))
    services = station.catalog().services
    due = []
    for code, report in latest.items():
        item = services.get(code)
        if item is None:
            continue  # retired from the catalogue: its interval is no longer known
        done_on = local_day(report.completed_at, station.tz)
        prediction = rules.predict_next_service(
            completed_on=done_on, mileage_km=report.mileage_km, interval_days=[item.interval_days],
            interval_km=[item.interval_km], readings=readings,
        )
        if prediction is not None:
            due.append(DueService(code, report.booking_code, done_on, report.mileage_km, prediction))
    return sorted(due, key=lambda d: (d.next.due_date is None, d.next.due_date or date.max, d.service_code))


def _write_report(
    conn: Connection, station: Station, booking: BookingRecord, *, previous: ServiceReportRecord | None,
    work_done: str, parts: list[dict[str, Any]], findings: tuple[str, ...], advice: tuple[str, ...],
    reading: int | None, completed_at: datetime, now: datetime,
) -> ServiceReportRecord:
    items = _items(station, booking)
    readings = _readings(conn, station, booking.plate, booking.id)
    completed_on = local_day(completed_at, station.tz)
    if reading is not None:
        readings.append(MileageReading(completed_on, reading))
    prediction = rules.predict_next_service(
        completed_on=completed_on, interval_days=[i.interval_days for i in items],
        interval_km=[i.interval_km for i in items], readings=readings,
        mileage_km=reading if reading is not None else _recorded_mileage(conn, booking.plate),
    )
    record = ServiceReportRecord(
        booking_id=booking.id, booking_code=booking.code, plate=booking.plate, technician_id=booking.technician_id,
        services=booking.services, work_done=work_done.strip() or _names(station, items), parts=tuple(parts),
        findings=tuple(findings), advice=tuple(advice), mileage_km=reading,
        next_due_date=prediction.due_date if prediction else None,
        next_due_km=prediction.due_km if prediction else None,
        next_due_basis=prediction.basis if prediction else "", completed_at=completed_at,
        version=previous.version + 1 if previous else 1, updated_at=now,
    )
    row = record.to_json()
    columns = [name for name in row if name != "booking_code"]
    values = [dumps(row[c]) if c in ("services", "parts", "findings", "advice") else row[c] for c in columns]
    conn.execute(
        f"INSERT INTO service_report ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        f" ON CONFLICT (booking_id) DO UPDATE SET {', '.join(f'{c} = excluded.{c}' for c in columns[1:])}",
        values,
    )
    body = {**row, "next_service": prediction.to_json() if prediction else None, "station": station.settings.station.id}
    append_event(conn, event_type="service.reported", entity_id=booking.id,
                 idem_key=f"service_report:{booking.id}:{record.version}", body=body, now=now)
    return record


def _find_report(conn: Connection, booking_id: str) -> ServiceReportRecord | None:
    row = conn.execute(
        f"SELECT {_REPORT_COLUMNS} FROM service_report r JOIN booking b ON b.id = r.booking_id WHERE r.booking_id = ?",
        (booking_id,),
    ).fetchone()
    return ServiceReportRecord.from_row(row) if row else None


def _items(station: Station, booking: BookingRecord) -> list:
    # the booking's own service list: a package changed since does not change what was done
    services = station.catalog().services
    return [services[code] for code in booking.services if code in services]


def _names(station: Station, items: list) -> str:
    chinese = station.settings.station.locale.startswith("zh")
    return " + ".join(item.name_zh if chinese else item.name_en for item in items)


def _readings(conn: Connection, station: Station, plate: str, exclude_booking: str | None) -> list[MileageReading]:
    rows = conn.execute(
        "SELECT completed_at, mileage_km FROM service_report WHERE plate = ? AND mileage_km IS NOT NULL"
        " AND booking_id IS NOT ? ORDER BY completed_at", (plate, exclude_booking),
    )
    return [MileageReading(local_day(from_db_time(at), station.tz), km) for at, km in rows]


def _recorded_mileage(conn: Connection, plate: str) -> int | None:
    row = conn.execute("SELECT mileage_km FROM vehicle WHERE plate = ?", (plate,)).fetchone()
    return row[0] if row else None


def _correct_odometer(
    conn: Connection, station: Station, booking: BookingRecord, previous: ServiceReportRecord, reading: int
) -> int:
    recorded = _recorded_mileage(conn, booking.plate)
    if previous.mileage_km is None or recorded != previous.mileage_km:
        return _record_odometer(conn, booking.plate, reading, floor=recorded)
    # the vehicle's reading is this report's own: a mistyped one may be corrected down to the car's other readings
    floor = max((r.km for r in _readings(conn, station, booking.plate, booking.id)), default=None)
    return _record_odometer(conn, booking.plate, reading, floor=floor, lower_ok=True)


def _record_odometer(conn: Connection, plate: str, reading: int, *, floor: int | None, lower_ok: bool = False) -> int:
    """Check a reading against `floor` and keep it on the vehicle (unless the vehicle already has a
    higher one, which a correction of an older report must not lower)."""
    reading = rules.check_mileage(plate, reading, floor)
    condition = "" if lower_ok else " AND (mileage_km IS NULL OR mileage_km < ?)"
    conn.execute(f"UPDATE vehicle SET mileage_km = ? WHERE plate = ?{condition}",
                 (reading, plate) if lower_ok else (reading, plate, reading))
    return reading


def _take_extra_parts(
    conn: Connection, booking: BookingRecord, parts: tuple[tuple[str, int], ...], now: datetime
) -> None:
    quantities: dict[str, int] = {}
    for sku, quantity in parts:
        quantities[sku] = quantities.get(sku, 0) + quantity
    for sku, quantity in quantities.items():
        material = find_material(conn, sku)
        if material is None:
            known = ", ".join(m.sku for m in list_materials(conn)) or "none configured"
            raise NotFound(f"no material {sku!r} for the report of booking {booking.code} (materials: {known})")
        movement = stock_rules.consumption(material.level(), quantity, booking_id=booking.id,
                                           reason=f"extra part for booking {booking.code}")
        record_movement(conn, material, movement, now=now)


# -- feedback and complaints -----------------------------------------------------


def request_feedback(conn: Connection, station: Station, booking: BookingRecord, *, now: datetime) -> datetime | None:
    """Ask the member for feedback a day after completion (HQ's app/SMS gateway sends it); a
    guest cannot be reached afterwards, so gets no request. Returns when it is due."""
    if booking.member_id is None:
        return None
    due_at = rules.feedback_due_at(now)
    conn.execute("INSERT INTO feedback_request (booking_id, due_at, created_at) VALUES (?, ?, ?)"
                 " ON CONFLICT (booking_id) DO NOTHING", (booking.id, to_db_time(due_at), to_db_time(now)))
    phone = conn.execute("SELECT phone FROM member WHERE id = ?", (booking.member_id,)).fetchone()
    body = {"booking_id": booking.id, "booking": booking.code, "plate": booking.plate, "member_id": booking.member_id,
            "phone": phone[0] if phone else None, "due_at": to_db_time(due_at), "station": station.settings.station.id}
    append_event(conn, event_type="feedback.requested", entity_id=booking.id,
                 idem_key=f"feedback_request:{booking.id}", body=body, now=now)
    return due_at


def due_feedback_requests(station: Station, *, now: datetime | None = None) -> list[FeedbackRequest]:
    """Requests due by `now`, not answered and not lapsed, oldest first: for the job that sends them."""
    now = now or station.clock()
    with station.store.read() as conn:
        rows = conn.execute(
            "SELECT r.booking_id, b.code, b.plate, b.member_id, m.phone, r.due_at FROM feedback_request r"
            " JOIN booking b ON b.id = r.booking_id LEFT JOIN member m ON m.id = b.member_id"
            " WHERE r.due_at <= ? AND r.due_at > ?"
            " AND NOT EXISTS (SELECT 1 FROM feedback f WHERE f.booking_id = r.booking_id) ORDER BY r.due_at",
            (to_db_time(now), to_db_time(now - rules.FEEDBACK_REQUEST_LAPSES_AFTER)),
        ).fetchall()
    return [FeedbackRequest(*row[:5], from_db_time(row[5])) for row in rows]


def record_feedback(
    station: Station, ref: str, *, rating: int, comment: str = "", now: datetime | None = None
) -> FeedbackRecord:
    """The customer's rating of a completed booking; a low one raises a complaint in the same transaction."""
    now = now or station.clock()
    with station.store.write() as conn:
        booking = get_booking(conn, ref)
        rules.check_rating(booking.code, rating)
        if booking.state != BookingState.COMPLETED:
            raise InvalidTransition(
                f"booking {booking.code} is {booking.state}; feedback is taken once it is completed"
            )
        earlier = conn.execute(
            "SELECT rating, recorded_at FROM feedback WHERE booking_id = ?", (booking.id,)
        ).fetchone()
        if earlier is not None:
            raise InvalidTransition(
                f"feedback for booking {booking.code} was already recorded ({earlier[0]}/5 at {earlier[1]})"
            )
        comment = comment.strip()
        conn.execute("INSERT INTO feedback (booking_id, rating, comment, recorded_at) VALUES (?, ?, ?, ?)",
                     (booking.id, rating, comment, to_db_time(now)))
        complaint_id = uuid7() if rules.raises_complaint(rating) else None
        record = FeedbackRecord(booking.id, booking.code, rating, comment, now, complaint_id)
        append_event(conn, event_type="feedback.recorded", entity_id=booking.id,
                     idem_key=f"feedback:{booking.id}",
                     body={**record.to_json(), "technician_id": booking.technician_id,
                           "station": station.settings.station.id}, now=now)
        if complaint_id is not None:
            _raise_complaint(conn, station, booking, complaint_id, rating, comment, now)
        return record


def complaints(station: Station, *, state: str | Sequence[str] | None = "open") -> list[ComplaintRecord]:
    """Complaints, newest first (only those in `state`, or in one of several states; None for all)."""
    states = [state] if isinstance(state, str) else list(state or ())
    with station.store.read() as conn:
        return complaints_where(conn, f"c.state IN ({', '.join('?' * len(states))})" if states else "1",
                                tuple(states))


def complaints_where(conn: Connection, where: str, params: tuple) -> list[ComplaintRecord]:
    """The complaints a condition on `complaint c` picks, newest first."""
    rows = conn.execute(
        "SELECT c.id, c.booking_id, b.code, b.plate, c.member_id, b.technician_id, c.rating, c.comment, c.state,"
        " c.created_at, c.assigned_to, c.note FROM complaint c JOIN booking b ON b.id = c.booking_id"
        f" WHERE {where} ORDER BY c.created_at DESC, c.id DESC", params,
    ).fetchall()
    return [ComplaintRecord(*row[:9], from_db_time(row[9]), row[10], row[11]) for row in rows]


def _raise_complaint(conn: Connection, station: Station, booking: BookingRecord, complaint_id: str, rating: int,
                     comment: str, now: datetime) -> None:
    conn.execute(
        "INSERT INTO complaint (id, booking_id, member_id, rating, comment, state, created_at)"
        " VALUES (?, ?, ?, ?, ?, 'open', ?)",
        (complaint_id, booking.id, booking.member_id, rating, comment, to_db_time(now)),
    )
    body = {"complaint_id": complaint_id, "booking_id": booking.id, "booking": booking.code, "plate": booking.plate,
            "member_id": booking.member_id, "technician_id": booking.technician_id, "rating": rating,
            "comment": comment, "station": station.settings.station.id}
    append_event(conn, event_type="complaint.raised", entity_id=complaint_id,
                 idem_key=f"complaint:{complaint_id}", body=body, now=now)
