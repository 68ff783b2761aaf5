"""What the printouts are made of, read from the station: a receipt, a booking, a shift.

Each reader fills one of edge.domain.printout's plain dataclasses, so the printout builders
never see a row: the receipt from the receipts service (its ledger postings); the slip
from the booking and the catalogue; the shift report from the shift row and the ledger
postings made during it.
"""

from __future__ import annotations

from datetime import datetime

from edge.domain.money_ledger import CASH, Account, Kind
from edge.domain.printout import BookingSlipData, ReceiptData, ReceiptLineData, ShiftData
from edge.errors import NotFound
from edge.services import bookings, receipts, staff
from edge.services.station import Station
from edge.store.types import from_db_time

_TIME = "%Y-%m-%d %H:%M"


def local_text(station: Station, instant: datetime) -> str:
    """A UTC instant as the paper shows it: the station's local time to the minute."""
    return station.local(instant).strftime(_TIME)


def receipt_data(station: Station, number: str) -> ReceiptData:
    """The receipt `number` (or its id) as printed, from the receipts service; NotFound when there is none."""
    view = receipts.get_receipt(station, number)
    lines = tuple(ReceiptLineData(name=line.name, quantity=line.quantity,
                                  amount_minor=line.gross_minor - line.tier_discount_minor,
                                  refunded_quantity=line.refunded_quantity) for line in view.lines)
    deductions = tuple((label, minor) for label, minor in (
        ("会员折扣 Member discount", view.tier_discount_minor),
        (f"优惠券 Coupon {view.coupon_code or ''}".strip(), view.coupon_discount_minor),
        ("改价 Price override", view.override_discount_minor)) if minor)
    paid_before = tuple((method, minor) for method, minor in (
        (f"积分 Points {view.points_redeemed}", view.points_minor), ("prepaid", view.prepaid_minor),
        ("deposit", view.deposit_minor)) if minor)
    names = {member.id: member.name for member in staff.list_staff(station)}
    settings = station.settings.station
    return ReceiptData(
        station_name=settings.name, number=view.number, issued_at=local_text(station, view.created_at),
        currency=view.currency, lines=lines, subtotal_minor=view.subtotal_minor, total_minor=view.total_minor,
        deductions=deductions, payments=paid_before + tuple((method, minor) for method, minor, _ in view.payments),
        plate=view.plate or "", booking_code=view.booking_code or "", cash_tendered_minor=view.cash_tendered_minor,
        change_minor=view.change_minor, operator=names.get(view.operator_id, view.operator_id), state=view.state,
        digits=settings.currency_minor_digits,
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
