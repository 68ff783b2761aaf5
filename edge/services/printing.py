"""The print queue: documents for the receipt printer, printed by the daemon's printer worker.

Asking for a printout (`print_receipt`, `print_booking_slip`, `print_shift_report`,
`print_test_page`) renders it now, for the configured printer's paper width, and stores it
as a `print_job` row in state `queued`: the terminal and the CLI never wait for paper. The
daemon (edge/daemon/printer.py) takes the oldest queued job when the printer is ready,
marks it `printing`, sends it and marks it `printed`. A job the printer could not take
(paper out, offline) goes back to `queued` with its attempts and the reason, and is sent
again once the printer is back. A job still `printing` when a daemon stopped is queued
again at the next start: it may come out twice, never not at all. A document the printer
refuses outright is `failed`.

The first printout of a receipt is the original; any later one says COPY.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edge.config import DeviceSettings
from edge.domain.ids import uuid7
from edge.domain.printout import (
    Printout, booking_slip, columns_for, printer_test_page, receipt_printout, shift_printout,
)
from edge.errors import NotFound, RuleViolation
from edge.services import bookings, shifts, staff
from edge.services.print_sources import booking_slip_data, local_text, receipt_data
from edge.services.station import Station
from edge.store.types import from_db_time, to_db_time

PRINTER_DRIVER = "receipt_printer"
PAPER_OUT = "paper_out"  # the printer's condition in its device health when the roll has run out
QUEUED, PRINTING, PRINTED, FAILED = "queued", "printing", "printed", "failed"
STATES = (QUEUED, PRINTING, PRINTED, FAILED)


@dataclass(frozen=True, slots=True)
class PrintJob:
    id: str
    kind: str  # receipt, booking_slip, shift_report, test_page
    reference: str
    document: Printout
    state: str
    attempts: int
    last_error: str | None
    device: str | None
    requested_by: str
    created_at: datetime
    updated_at: datetime
    printed_at: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "reference": self.reference, "state": self.state,
                "attempts": self.attempts, "last_error": self.last_error, "device": self.device,
                "requested_by": self.requested_by, "created_at": to_db_time(self.created_at),
                "updated_at": to_db_time(self.updated_at),
                "printed_at": to_db_time(self.printed_at) if self.printed_at else None}

    @classmethod
    def from_row(cls, row: Any) -> PrintJob:
        return cls(row["id"], row["kind"], row["reference"], Printout.from_json(json.loads(row["document"])),
                   row["state"], row["attempts"], row["last_error"], row["device"], row["requested_by"],
                   from_db_time(row["created_at"]), from_db_time(row["updated_at"]),
                   from_db_time(row["printed_at"]) if row["printed_at"] else None)


def printer_device(station: Station) -> DeviceSettings:
    """The station's receipt printer (the first one configured); RuleViolation when it has none."""
    for device in station.settings.devices:
        if device.driver == PRINTER_DRIVER:
            return device
    raise RuleViolation("no receipt printer is configured: add a [[devices]] entry with driver = \"receipt_printer\"")


def paper_columns(station: Station) -> int:
    return columns_for(int(printer_device(station).options.get("paper_mm", 80)))


# -- asking for printouts ----------------------------------------------------------------


def print_receipt(station: Station, number: str) -> PrintJob:
    """Queue the receipt `number`; a receipt printed (or queued) before comes out as a COPY."""
    columns = paper_columns(station)
    data = receipt_data(station, number)
    with station.store.read() as conn:
        before = conn.execute("SELECT 1 FROM print_job WHERE kind = 'receipt' AND reference = ? AND state != ?",
                              (data.number, FAILED)).fetchone()
    return enqueue(station, "receipt", data.number, receipt_printout(data, columns, copy=before is not None))


def print_booking_slip(station: Station, booking_ref: str) -> PrintJob:
    """Queue the booking's slip with the QR of its current token."""
    columns = paper_columns(station)
    data = booking_slip_data(station, booking_ref)
    return enqueue(station, "booking_slip", data.code,
                   booking_slip(data, bookings.booking_token(station, booking_ref), columns))


def print_shift_report(station: Station, shift_id: str, *, final: bool) -> PrintJob:
    """Queue a shift's report: of an open shift its X report (the figures so far), of a closed one its Z
    report. `final` asks for the Z report: a shift still open has none yet (RuleViolation)."""
    columns = paper_columns(station)
    report = shifts.shift_report(station, shift_id)
    if final and not report.final:
        raise RuleViolation(f"shift {shift_id} is still open: its Z report is printed once it is closed")
    names = {member.id: member.name for member in staff.list_staff(station)}
    settings = station.settings.station
    return enqueue(station, "shift_report", shift_id, shift_printout(
        report, columns, station_name=settings.name, tz=station.tz, names=names,
        digits=settings.currency_minor_digits))


def print_test_page(station: Station) -> PrintJob:
    """Queue a page that shows the printer's styles, Chinese text, a QR code and the cut."""
    device = printer_device(station)
    page = printer_test_page(station.settings.station.name, device.id, paper_columns(station),
                             when=local_text(station, station.clock()))
    return enqueue(station, "test_page", device.id, page)


def enqueue(station: Station, kind: str, reference: str, document: Printout) -> PrintJob:
    now = station.clock()
    job_id = uuid7()
    with station.store.write() as conn:
        conn.execute(
            "INSERT INTO print_job (id, kind, reference, document, state, attempts, last_error, device,"
            " requested_by, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, NULL, NULL, ?, ?, ?)",
            (job_id, kind, reference, _dumps(document), QUEUED, station.actor.id, to_db_time(now), to_db_time(now)))
    return job(station, job_id)


def _dumps(document: Printout) -> str:
    return json.dumps(document.to_json(), ensure_ascii=False)


# -- reading the queue -------------------------------------------------------------------


def job(station: Station, job_id: str) -> PrintJob:
    with station.store.read() as conn:
        row = conn.execute("SELECT * FROM print_job WHERE id = ?", (job_id,)).fetchone()
    if row is None:
        raise NotFound(f"no print job {job_id!r}")
    return PrintJob.from_row(row)


def jobs(station: Station, *, state: str | None = None, limit: int = 50) -> list[PrintJob]:
    """The newest jobs first (of one state when given)."""
    where, params = ("WHERE state = ?", [state]) if state else ("", [])
    with station.store.read() as conn:
        rows = conn.execute(f"SELECT * FROM print_job {where} ORDER BY created_at DESC, id DESC LIMIT ?",
                            (*params, limit)).fetchall()
    return [PrintJob.from_row(row) for row in rows]


# -- the printer worker's side -------------------------------------------------------------


def requeue_interrupted(station: Station) -> int:
    """Jobs left `printing` by a daemon that stopped go back to the queue; returns how many."""
    with station.store.write() as conn:
        return conn.execute("UPDATE print_job SET state = ?, updated_at = ? WHERE state = ?",
                            (QUEUED, to_db_time(station.clock()), PRINTING)).rowcount


def take_next(station: Station, device: str) -> PrintJob | None:
    """The oldest queued job, now `printing` on `device` with one more attempt; None when the queue is empty."""
    with station.store.write() as conn:
        row = conn.execute("SELECT id FROM print_job WHERE state = ? ORDER BY created_at, id LIMIT 1",
                           (QUEUED,)).fetchone()
        if row is None:
            return None
        conn.execute("UPDATE print_job SET state = ?, attempts = attempts + 1, device = ?, updated_at = ?"
                     " WHERE id = ?", (PRINTING, device, to_db_time(station.clock()), row["id"]))
    return job(station, row["id"])


def mark_printed(station: Station, job_id: str) -> None:
    now = to_db_time(station.clock())
    _set(station, job_id, "state = ?, last_error = NULL, printed_at = ?, updated_at = ?", (PRINTED, now, now))


def mark_waiting(station: Station, job_id: str, reason: str) -> None:
    """The printer could not take the job now (paper out, offline): queued again with the reason."""
    _set(station, job_id, "state = ?, last_error = ?, updated_at = ?", (QUEUED, reason, to_db_time(station.clock())))


def mark_failed(station: Station, job_id: str, reason: str) -> None:
    _set(station, job_id, "state = ?, last_error = ?, updated_at = ?", (FAILED, reason, to_db_time(station.clock())))


def _set(station: Station, job_id: str, assignments: str, params: tuple) -> None:
    with station.store.write() as conn:
        conn.execute(f"UPDATE print_job SET {assignments} WHERE id = ?", (*params, job_id))
