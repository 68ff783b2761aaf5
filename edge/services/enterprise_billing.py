"""Money on enterprise accounts: charges at checkout, refunds, monthly spending, package prices, statements.

A sub-account's spending in a month = what was charged to the account by it in that month
(refunds net out) + its fleet bookings starting that month that are booked but not yet
charged (pending approval, confirmed, in service, completed unpaid): a driver cannot book
past the limit and pay later.
"""

from __future__ import annotations

import json
from datetime import datetime
from sqlite3 import Connection

from edge.domain import checkout as checkout_rules
from edge.domain.booking_state import LIVE_STATES, BookingState
from edge.domain.enterprise import (
    Permission,
    Statement,
    StatementLine,
    build_statement,
    check_account_usable,
    check_credit_limit,
    check_monthly_limit,
    check_permission,
    month_of,
    parse_month,
)
from edge.domain.ids import uuid7
from edge.errors import InvalidTransition, RuleViolation
from edge.services.booking_store import BookingRecord
from edge.services.enterprise import find_package, get_account, get_sub_account, outstanding_minor
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import from_db_time, to_db_time

# bookings that commit money: everything not released (cancelled, no-show, expired, rejected)
COMMITTED_STATES = tuple(sorted(LIVE_STATES | {BookingState.COMPLETED}))
_IN_COMMITTED = "(" + ", ".join(f"'{state}'" for state in COMMITTED_STATES) + ")"


def month_spent_minor(conn: Connection, sub_account_id: str, month: str, *, except_booking: str | None = None) -> int:
    """The sub-account's spending in `month` (see the module docstring), leaving out one booking."""
    charged = conn.execute(
        "SELECT coalesce(sum(amount_minor), 0) FROM enterprise_charge WHERE sub_account_id = ? AND month = ?",
        (sub_account_id, month),
    ).fetchone()[0]
    booked = conn.execute(
        "SELECT coalesce(sum(eb.amount_minor), 0) FROM enterprise_booking eb JOIN booking b ON b.id = eb.booking_id"
        f" WHERE eb.sub_account_id = ? AND eb.month = ? AND b.state IN {_IN_COMMITTED} AND eb.booking_id IS NOT ?"
        " AND NOT EXISTS (SELECT 1 FROM enterprise_charge c WHERE c.booking_id = eb.booking_id)",
        (sub_account_id, month, except_booking),
    ).fetchone()[0]
    return charged + booked


def package_items(conn: Connection, station: Station, booking: BookingRecord) -> list[checkout_rules.Item] | None:
    """A booking of an enterprise package as one receipt line at the price agreed when it was booked."""
    row = conn.execute(
        "SELECT enterprise_id, package_code FROM enterprise_booking WHERE booking_id = ?", (booking.id,)
    ).fetchone()
    if row is None or row["package_code"] is None:
        return None
    package = find_package(conn, row["enterprise_id"], row["package_code"])
    name = package.name if package and package.name else row["package_code"]
    return [checkout_rules.Item(row["package_code"], name, checkout_rules.PACKAGE_CATEGORY, booking.price_minor)]


def charge_on_account(
    conn: Connection, station: Station, *, booking: BookingRecord | None, sub_account_id: str | None,
    receipt_id: str, amount_minor: int, now: datetime,
) -> str:
    """Put a checkout's `enterprise` payment on the company's account; returns the charge id.

    The payer is the given sub-account, else the sub-account that made the fleet booking.
    It needs the `pay` permission; the charge must fit its monthly limit and the company's
    credit limit.
    """
    fleet = None
    if booking is not None:
        fleet = conn.execute(
            "SELECT enterprise_id, sub_account_id FROM enterprise_booking WHERE booking_id = ?", (booking.id,)
        ).fetchone()
    if sub_account_id is None and fleet is None:
        what = f"booking {booking.code} was not made by an enterprise sub-account" if booking else "a walk-in sale"
        raise RuleViolation(f"payment by enterprise: {what}; name the paying sub-account")
    payer = get_sub_account(conn, sub_account_id or fleet["sub_account_id"])
    if fleet is not None and payer.enterprise_id != fleet["enterprise_id"]:
        raise RuleViolation(
            f"booking {booking.code} is on enterprise {fleet['enterprise_id']}; sub-account {payer.phone}"
            f" belongs to {payer.enterprise_id}"
        )
    if booking is not None and booking.state == BookingState.PENDING_APPROVAL:
        raise InvalidTransition(f"booking {booking.code} awaits approval; it cannot be charged to the enterprise yet")
    account = get_account(conn, payer.enterprise_id)
    check_account_usable(account)
    check_permission(payer, Permission.PAY)
    currency, digits = station.settings.station.currency, station.settings.station.currency_minor_digits
    month = month_of(station.local(now).date())
    check_monthly_limit(
        payer, month=month, amount_minor=amount_minor, currency=currency, digits=digits,
        spent_minor=month_spent_minor(conn, payer.id, month, except_booking=booking.id if booking else None),
    )
    owed = outstanding_minor(conn, account.id)
    check_credit_limit(account, outstanding_minor=owed, amount_minor=amount_minor, currency=currency, digits=digits)
    return _write_charge(
        conn, station, enterprise_id=account.id, sub_account_id=payer.id, booking_id=booking.id if booking else None,
        receipt_id=receipt_id, kind="charge", amount_minor=amount_minor, reason="", now=now,
    )


def refund_charges(conn: Connection, station: Station, *, receipt_id: str, amount_minor: int, reason: str,
                   now: datetime) -> str | None:
    """Give back to the company `amount_minor` of what a refunded receipt charged to its account."""
    row = conn.execute(
        "SELECT enterprise_id, sub_account_id, booking_id FROM enterprise_charge"
        " WHERE receipt_id = ? AND kind = 'charge'", (receipt_id,),
    ).fetchone()
    if row is None or amount_minor <= 0:
        return None
    return _write_charge(
        conn, station, enterprise_id=row["enterprise_id"], sub_account_id=row["sub_account_id"],
        booking_id=row["booking_id"], receipt_id=receipt_id, kind="refund", amount_minor=-amount_minor,
        reason=reason, now=now,
    )


def _write_charge(
    conn: Connection, station: Station, *, enterprise_id: str, sub_account_id: str | None, booking_id: str | None,
    receipt_id: str, kind: str, amount_minor: int, reason: str, now: datetime,
) -> str:
    charge_id = uuid7()
    month = month_of(station.local(now).date())
    conn.execute(
        "INSERT INTO enterprise_charge (id, enterprise_id, sub_account_id, booking_id, receipt_id, kind, amount_minor,"
        " month, reason, counted_by_hq, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
        (charge_id, enterprise_id, sub_account_id, booking_id, receipt_id, kind, amount_minor, month, reason,
         to_db_time(now)),
    )
    # a refund travels as a negative charge: HQ keeps one running account per company
    body = {
        "charge": {"id": charge_id, "enterprise_id": enterprise_id, "sub_account_id": sub_account_id,
                   "booking_id": booking_id, "receipt_id": receipt_id, "kind": kind, "amount_minor": amount_minor,
                   "currency": station.settings.station.currency, "month": month, "reason": reason},
        "outstanding_minor": outstanding_minor(conn, enterprise_id),
    }
    append_event(conn, event_type="enterprise.charged", entity_id=enterprise_id,
                 idem_key=f"enterprise_charge:{charge_id}", body=body, now=now)
    return charge_id


def statement(station: Station, enterprise_id: str, month: str) -> Statement:
    """The enterprise's charges and refunds of a station-local month, with totals."""
    month = parse_month(month)
    with station.store.read() as conn:
        get_account(conn, enterprise_id)
        rows = conn.execute(
            "SELECT c.kind, c.amount_minor, c.created_at, r.number, r.lines, b.code, b.plate, b.services, s.phone"
            " FROM enterprise_charge c JOIN receipt r ON r.id = c.receipt_id"
            " LEFT JOIN booking b ON b.id = c.booking_id"
            " LEFT JOIN enterprise_sub_account s ON s.id = c.sub_account_id"
            " WHERE c.enterprise_id = ? AND c.month = ?",
            (enterprise_id, month),
        ).fetchall()
        lines = [
            StatementLine(
                day=station.local(from_db_time(row["created_at"])).date(), kind=row["kind"],
                booking_code=row["code"], plate=row["plate"], phone=row["phone"],
                services=_services(row["services"], row["lines"]), receipt_number=row["number"],
                amount_minor=row["amount_minor"],
            )
            for row in rows
        ]
    return build_statement(enterprise_id, month, lines)


def _services(booking_services: str | None, receipt_lines: str) -> tuple[str, ...]:
    """A booking's service codes; for a walk-in sale, the codes on its receipt."""
    if booking_services is not None:
        return tuple(json.loads(booking_services))
    return tuple(line["code"] for line in json.loads(receipt_lines))
