"""What the printouts are made of, read from the station: a receipt, a booking, a shift.

Each reader fills one of edge.domain.printout's plain dataclasses, so the printout builders
never see a row: the receipt from its row, its payments and its ledger postings; the slip
from the booking and the catalogue; the shift report from the shift row and the ledger
postings made during it.
"""

from __future__ import annotations

import json
from datetime import datetime

from edge.domain.money_ledger import CASH, Account, Kind
from edge.domain.printout import BookingSlipData, ReceiptData, ReceiptLineData, ShiftData
from edge.errors import NotFound
from edge.services import bookings
from edge.services.station import Station
from edge.store.types import from_db_time

_TIME = "%Y-%m-%d %H:%M"


def local_text(station: Station, instant: datetime) -> str:
    """A UTC instant as the paper shows it: the station's local time to the minute."""
    return station.local(instant).strftime(_TIME)


def receipt_data(station: Station, number: str) -> ReceiptData:
    """The receipt `number` (or its id) as printed; NotFound when there is none."""
    with station.store.read() as conn:
        row = conn.execute("SELECT * FROM receipt WHERE number = ? OR id = ?", (number, number)).fetchone()
        if row is None:
            raise NotFound(f"no receipt {number!r}")
        payments = conn.execute("SELECT method, amount_minor FROM payment WHERE receipt_id = ? AND amount_minor > 0"
                                " ORDER BY created_at, id", (row["id"],)).fetchall()
        booking = conn.execute("SELECT code, plate FROM booking WHERE id = ?", (row["booking_id"],)).fetchone()
        operator = conn.execute(
            "SELECT coalesce(s.name, l.operator_id) FROM ledger_entry l LEFT JOIN staff s ON s.id = l.operator_id"
            " WHERE l.receipt_id = ? ORDER BY l.created_at LIMIT 1", (row["id"],)).fetchone()
    lines = tuple(ReceiptLineData(name=line["name"], quantity=line["quantity"],
                                  amount_minor=line["gross_minor"] - line["tier_discount_minor"])
                  for line in json.loads(row["lines"]))
    deductions = tuple((label, minor) for label, minor in (
        ("会员折扣 Member discount", row["tier_discount_minor"]),
        (f"优惠券 Coupon {row['coupon_code'] or ''}".strip(), row["coupon_discount_minor"]),
        (f"积分 Points {row['points_redeemed']}", row["points_minor"])) if minor)
    settings = station.settings.station
    return ReceiptData(
        station_name=settings.name, number=row["number"], issued_at=local_text(station, from_db_time(row["created_at"])),
        currency=row["currency"], lines=lines, subtotal_minor=row["subtotal_minor"],
        total_minor=row["total_minor"], deductions=deductions,
        payments=tuple((p["method"], p["amount_minor"]) for p in payments),
        plate=booking["plate"] if booking else "", booking_code=booking["code"] if booking else "",
        operator=operator[0] if operator else "", state=row["state"], digits=settings.currency_minor_digits,
    )


def booking_slip_data(station: Station, ref: str) -> BookingSlipData:
    """The booking `ref` (code or id) as its slip shows it; NotFound when there is none."""
    record = bookings.booking(station, ref)
    catalog = station.catalog()
    items = {**catalog.packages, **catalog.services}
    return BookingSlipData(
        station_name=station.settings.station.name, code=record.code, plate=record.plate,
        start=local_text(station, record.start_at),
        services=tuple(f"{items[c].name_zh} {items[c].name_en}" if c in items else c for c in record.services),
        bay=record.bay_id,
    )


def shift_data(station: Station, shift_id: str) -> ShiftData:
    """A shift's takings and cash drawer from its postings; NotFound when there is no such shift."""
    with station.store.read() as conn:
        shift = conn.execute("SELECT * FROM shift WHERE id = ?", (shift_id,)).fetchone()
        if shift is None:
            raise NotFound(f"no shift {shift_id!r}")
        tenders = conn.execute(
            "SELECT detail, sum(amount_minor) FROM ledger_entry WHERE shift_id = ? AND account = ? AND kind NOT IN"
            " (?, ?) GROUP BY detail ORDER BY detail",
            (shift_id, str(Account.TENDER), str(Kind.CASH_IN), str(Kind.CASH_OUT))).fetchall()
        drawer = conn.execute(
            "SELECT coalesce(sum(CASE WHEN amount_minor < 0 THEN -amount_minor END), 0),"
            " coalesce(sum(CASE WHEN amount_minor > 0 THEN amount_minor END), 0)"
            " FROM ledger_entry WHERE shift_id = ? AND account = ?", (shift_id, str(Account.DRAWER))).fetchone()
        names = dict(conn.execute("SELECT id, name FROM staff").fetchall())
    cash_taken = sum(minor for method, minor in tenders if method == CASH)
    cash_in, cash_out = drawer
    expected = shift["expected_minor"]
    if expected is None:
        expected = shift["float_minor"] + cash_taken + cash_in - cash_out
    settings = station.settings.station
    closed_at = shift["closed_at"]
    return ShiftData(
        station_name=settings.name, terminal=shift["terminal"],
        opened_at=local_text(station, from_db_time(shift["opened_at"])),
        opened_by=names.get(shift["opened_by"], shift["opened_by"]), currency=settings.currency,
        float_minor=shift["float_minor"], tenders=tuple((method, minor) for method, minor in tenders),
        cash_in_minor=cash_in, cash_out_minor=cash_out, expected_cash_minor=expected,
        closed_at=local_text(station, from_db_time(closed_at)) if closed_at else "",
        closed_by=names.get(shift["closed_by"], shift["closed_by"] or ""),
        counted_minor=shift["counted_minor"], variance_minor=shift["variance_minor"],
        digits=settings.currency_minor_digits,
    )
