"""Shifts and the cash drawer: open with a counted float, cash in and out, the X report, the counted close.

One shift may be open per terminal (the store's index says so). Every figure of the X and Z
reports is summed from the ledger postings the shift carries (`edge.domain.shifts`); the
closed shift keeps its counted cash, expected cash and variance, and HQ learns of the close
through the `shift.closed` event, whose body is the whole Z report.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from edge.domain.ids import uuid7
from edge.domain.money_ledger import CASH, Account, Kind, Posting
from edge.domain.shifts import (
    DENOMINATIONS, LedgerLine, ShiftReport, counted_from_denominations, drawer_figures, expected_cash, variance,
)
from edge.errors import InvalidInput, NotFound, RuleViolation
from edge.services import money_ledger
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import dumps, from_db_time, to_db_time


@dataclass(frozen=True, slots=True)
class ShiftView:
    """A shift as the terminal and the CLI show it; the figures are the drawer's now (or at the close)."""

    id: str
    terminal: str
    opened_at: datetime
    opened_by: str
    float_minor: int
    taken_by_method: dict[str, int]  # money received this shift by payment method, every kind
    cash_in_minor: int
    cash_out_minor: int
    expected_minor: int
    closed_at: datetime | None = None
    closed_by: str | None = None
    counted_minor: int | None = None
    variance_minor: int | None = None
    note: str = ""

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "terminal": self.terminal, "opened_at": self.opened_at.isoformat(),
            "opened_by": self.opened_by, "float_minor": self.float_minor, "taken_by_method": dict(self.taken_by_method),
            "cash_in_minor": self.cash_in_minor, "cash_out_minor": self.cash_out_minor, "expected_minor": self.expected_minor, "open": self.is_open,
            "closed_at": self.closed_at.isoformat() if self.closed_at else None, "closed_by": self.closed_by,
            "counted_minor": self.counted_minor, "variance_minor": self.variance_minor, "note": self.note,
        }


def default_float(station: Station) -> int:
    """The float a new shift on this terminal starts with: the last close's counted cash, or 0."""
    with station.store.read() as conn:
        row = conn.execute(
            "SELECT counted_minor FROM shift WHERE terminal = ? AND closed_at IS NOT NULL"
            " ORDER BY closed_at DESC, id DESC LIMIT 1", (station.terminal,)).fetchone()
    return row[0] if row and row[0] is not None else 0


def open_shift(station: Station, *, float_minor: int | None = None, now: datetime | None = None) -> ShiftView:
    """Open a shift on the station's terminal with the counted float (default: `default_float`)."""
    now = now or station.clock()
    if float_minor is None:
        float_minor = default_float(station)
    if float_minor < 0:
        raise InvalidInput("float", "the float is the cash counted into the drawer: 0 or more")
    shift_id = uuid7()
    with station.store.write() as conn:
        try:
            conn.execute(
                "INSERT INTO shift (id, terminal, opened_by, opened_at, float_minor, note) VALUES (?, ?, ?, ?, ?, '')",
                (shift_id, station.terminal, station.actor.id, to_db_time(now), float_minor))
        except sqlite3.IntegrityError as err:
            if "shift.terminal" not in str(err):
                raise
            raise RuleViolation(f"a shift is already open on terminal {station.terminal!r}: close it before "
                                "opening another") from None
        append_event(conn, event_type="shift.opened", entity_id=shift_id, idem_key=f"shift.opened:{shift_id}",
                     body={"shift_id": shift_id, "terminal": station.terminal, "opened_by": station.actor.id,
                           "opened_at": now.isoformat(), "float_minor": float_minor}, now=now)
        return _view(conn, _row(conn, shift_id))


def cash_movement(station: Station, *, direction: Literal["in", "out"], amount_minor: int, reason: str,
                  now: datetime | None = None) -> ShiftView:
    """Put cash into the drawer or take it out (change from the safe, a banking run), with the reason."""
    now = now or station.clock()
    if direction not in ("in", "out"):
        raise InvalidInput("direction", f"{direction!r}: cash goes 'in' or 'out'")
    if amount_minor <= 0:
        raise InvalidInput("amount", "the amount of cash must be more than 0")
    if not reason.strip():
        raise InvalidInput("reason", "say why cash goes in or out of the drawer")
    sign = 1 if direction == "in" else -1
    kind = Kind.CASH_IN if direction == "in" else Kind.CASH_OUT
    with station.store.write() as conn:
        money_ledger.post(conn, station, kind, [Posting(Account.TENDER, sign * amount_minor, CASH),
                                                Posting(Account.DRAWER, -sign * amount_minor)],
                          now=now, reason=reason.strip())
        return _view(conn, _open_row(conn, station))


def current_shift(station: Station) -> ShiftView | None:
    """The shift open on the station's terminal, or None."""
    with station.store.read() as conn:
        shift_id = money_ledger.open_shift_id(conn, station.terminal)
        return None if shift_id is None else _view(conn, _row(conn, shift_id))


def x_report(station: Station) -> ShiftReport:
    """The figures of the open shift on this terminal so far; nothing changes."""
    now = station.clock()
    with station.store.read() as conn:
        return _report(station, conn, _open_row(conn, station), at=now)


def close_shift(station: Station, *, counted_minor: int | None = None, denominations: dict[str, int] | None = None,
                note: str = "", now: datetime | None = None) -> ShiftReport:
    """Close the terminal's open shift with the cash counted (an amount, or notes and coins by
    denomination); store expected, counted and variance, and send the Z report to HQ."""
    now = now or station.clock()
    if (counted_minor is None) == (denominations is None):
        raise InvalidInput("counted", "give the counted cash either as an amount or by denomination")
    if denominations is not None:
        counted_minor = counted_from_denominations(denominations, station.settings.station.currency_minor_digits)
    assert counted_minor is not None
    if counted_minor < 0:
        raise InvalidInput("counted", "the counted cash is 0 or more")
    with station.store.write() as conn:
        row = _open_row(conn, station)
        expected = _report(station, conn, row, at=now).expected_minor
        conn.execute(
            "UPDATE shift SET closed_at = ?, closed_by = ?, counted_minor = ?, denominations = ?, expected_minor = ?,"
            " variance_minor = ?, note = ? WHERE id = ?",
            (to_db_time(now), station.actor.id, counted_minor, None if denominations is None else dumps(denominations),
             expected, variance(counted_minor, expected), note.strip(), row["id"]))
        report = _report(station, conn, _row(conn, row["id"]), at=now)
        append_event(conn, event_type="shift.closed", entity_id=report.shift_id,
                     idem_key=f"shift.closed:{report.shift_id}", body=report.to_json(), now=now)
        return report


def shift_report(station: Station, shift_id: str) -> ShiftReport:
    """A shift's report: the Z report of a closed shift, the X report (as of now) of an open one."""
    with station.store.read() as conn:
        return _report(station, conn, _row(conn, shift_id), at=station.clock())


def list_shifts(station: Station, *, day: date | None = None) -> list[ShiftView]:
    """The shifts of every terminal opened on the station's local `day` (default today), oldest first."""
    day = day or station.local(station.clock()).date()
    start = datetime.combine(day, datetime.min.time(), station.tz)
    with station.store.read() as conn:
        rows = conn.execute("SELECT * FROM shift WHERE opened_at >= ? AND opened_at < ? ORDER BY opened_at, id",
                            (to_db_time(start), to_db_time(start + timedelta(days=1)))).fetchall()
        return [_view(conn, r) for r in rows]


def _row(conn: sqlite3.Connection, shift_id: str) -> sqlite3.Row:
    row = conn.execute("SELECT * FROM shift WHERE id = ?", (shift_id,)).fetchone()
    if row is None:
        raise NotFound(f"no shift {shift_id!r}")
    return row


def _open_row(conn: sqlite3.Connection, station: Station) -> sqlite3.Row:
    shift_id = money_ledger.open_shift_id(conn, station.terminal)
    if shift_id is None:
        raise RuleViolation(f"no shift is open on terminal {station.terminal!r}: open one with the counted float")
    return _row(conn, shift_id)


def _lines(conn: sqlite3.Connection, shift_id: str) -> list[tuple[str, LedgerLine]]:
    return [(r[0], LedgerLine(r[1], r[2], r[3], r[4])) for r in conn.execute(
        "SELECT txn_id, kind, account, detail, amount_minor FROM ledger_entry WHERE shift_id = ? ORDER BY created_at, id",
        (shift_id,))]


def _report(station: Station, conn: sqlite3.Connection, row: sqlite3.Row, *, at: datetime) -> ShiftReport:
    figures = drawer_figures(_lines(conn, row["id"]))
    closed = row["closed_at"] is not None
    return ShiftReport(
        shift_id=row["id"], terminal=row["terminal"], currency=station.settings.station.currency,
        opened_at=from_db_time(row["opened_at"]), opened_by=row["opened_by"], float_minor=row["float_minor"],
        sales_by_method=figures.sales_by_method, refunds_by_method=figures.refunds_by_method,
        top_ups_by_method=figures.top_ups_by_method, deposits_by_method=figures.deposits_by_method,
        cash_in_minor=figures.cash_in_minor, cash_out_minor=figures.cash_out_minor,
        transactions=figures.transactions,
        expected_minor=row["expected_minor"] if closed else expected_cash(row["float_minor"],
                                                                         [figures.cash_postings_minor]),
        at=from_db_time(row["closed_at"]) if closed else at, final=closed, closed_by=row["closed_by"],
        counted_minor=row["counted_minor"], variance_minor=row["variance_minor"],
        denominations=_in_drawer_order(json.loads(row["denominations"] or "{}")), note=row["note"],
    )


def _view(conn: sqlite3.Connection, row: sqlite3.Row) -> ShiftView:
    figures = drawer_figures(_lines(conn, row["id"]))
    closed = row["closed_at"] is not None
    return ShiftView(
        id=row["id"], terminal=row["terminal"], opened_at=from_db_time(row["opened_at"]), opened_by=row["opened_by"],
        float_minor=row["float_minor"], taken_by_method=figures.taken_by_method,
        cash_in_minor=figures.cash_in_minor, cash_out_minor=figures.cash_out_minor,
        expected_minor=row["expected_minor"] if closed else expected_cash(row["float_minor"],
                                                                         [figures.cash_postings_minor]),
        closed_at=from_db_time(row["closed_at"]) if closed else None, closed_by=row["closed_by"],
        counted_minor=row["counted_minor"], variance_minor=row["variance_minor"], note=row["note"],
    )


def _in_drawer_order(counts: dict[str, int]) -> dict[str, int]:
    return {key: counts[key] for key in DENOMINATIONS if key in counts}
