"""What the printouts are made of, read from the station: a receipt and a booking.

Each reader fills one of edge.domain.printout's plain dataclasses, so the printout builders
never see a row: the receipt from the receipts service (its ledger postings); the slip
from the booking and the catalogue.
"""

from __future__ import annotations

from datetime import datetime

from edge.domain.printout import TIME_FORMAT, BookingSlipData, ReceiptData, ReceiptLineData
from edge.services import bookings, receipts, staff
from edge.services.station import Station


def local_text(station: Station, instant: datetime) -> str:
    """A UTC instant as the paper shows it: the station's local time to the minute."""
    return station.local(instant).strftime(TIME_FORMAT)


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
