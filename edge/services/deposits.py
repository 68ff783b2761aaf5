"""Booking deposits in the money ledger: taken, applied at checkout, forfeited or given back.

A member whose credit score asks for a deposit pays it when booking (DEPOSIT: +TENDER by the
method used, −DEPOSIT: the station holds it). Checkout applies what is held to the bill
(+DEPOSIT on the sale) and gives back any part the bill did not need. A no-show or a late
cancellation forfeits `[credit] deposit_forfeit_pct` of it (DEPOSIT_FORFEIT: +DEPOSIT,
−FORFEIT, revenue) and gives back the rest; a cancellation in time gives it all back
(DEPOSIT_RETURN: +DEPOSIT, −TENDER by the method it was taken with).
"""

from __future__ import annotations

from datetime import datetime
from sqlite3 import Connection

from edge.domain.money_ledger import CASH, Account, Kind, Posting
from edge.errors import InvalidInput
from edge.services import money_ledger
from edge.services.ledgers import TOP_UP_METHODS
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from edge.store.outbox import append_event

# a deposit is money handed over by the customer, as a top-up is: never on a company's account
DEPOSIT_METHODS = TOP_UP_METHODS


def held(conn: Connection, booking_id: str) -> tuple[int, str]:
    """What the station still holds for the booking, and the method it was taken with."""
    row = conn.execute(
        "SELECT coalesce(-sum(amount_minor), 0),"
        " (SELECT detail FROM ledger_entry WHERE booking_id = ? AND kind = 'deposit' AND account = 'tender' LIMIT 1)"
        " FROM ledger_entry WHERE booking_id = ? AND account = 'deposit'",
        (booking_id, booking_id),
    ).fetchone()
    return row[0], row[1] or ""


def take(conn: Connection, station: Station, booking: BookingRecord, *, amount_minor: int, method: str,
         reference: str = "", now: datetime) -> str:
    """The deposit paid when booking; inside the booking's transaction."""
    if method not in DEPOSIT_METHODS:
        raise InvalidInput("deposit_method", f"unknown deposit method {method!r} (one of {', '.join(DEPOSIT_METHODS)})")
    txn = money_ledger.post(
        conn, station, Kind.DEPOSIT,
        [Posting(Account.TENDER, amount_minor, method, reference=reference), Posting(Account.DEPOSIT, -amount_minor)],
        now=now, booking_id=booking.id, member_id=booking.member_id, reason=f"deposit for booking {booking.code}")
    _event(conn, booking, "deposit.taken", txn, amount_minor, method, now)
    return txn


def give_back(conn: Connection, station: Station, booking: BookingRecord, *, reason: str, now: datetime,
              amount_minor: int | None = None) -> int:
    """Return what is held (or `amount_minor` of it) by the method it was taken with; the amount."""
    holding, method = held(conn, booking.id)
    amount = holding if amount_minor is None else min(amount_minor, holding)
    if amount <= 0:
        return 0
    txn = money_ledger.post(
        conn, station, Kind.DEPOSIT_RETURN,
        [Posting(Account.DEPOSIT, amount, method), Posting(Account.TENDER, -amount, method)],
        now=now, booking_id=booking.id, member_id=booking.member_id, reason=reason)
    _event(conn, booking, "deposit.returned", txn, amount, method, now)
    return amount


def forfeit(conn: Connection, station: Station, booking: BookingRecord, *, reason: str, now: datetime) -> int:
    """Keep the configured share of what is held (a no-show, a late cancellation), give back the
    rest. The daemon marks no-shows at any hour: a cash rest with no shift open on the terminal
    stays held (the report's deposits held) rather than stopping the no-show."""
    holding, method = held(conn, booking.id)
    if holding <= 0:
        return 0
    kept = holding * station.settings.credit.deposit_forfeit_pct // 100
    if kept:
        txn = money_ledger.post(
            conn, station, Kind.DEPOSIT_FORFEIT,
            [Posting(Account.DEPOSIT, kept, method), Posting(Account.FORFEIT, -kept, "deposit")],
            now=now, booking_id=booking.id, member_id=booking.member_id, reason=reason)
        _event(conn, booking, "deposit.forfeited", txn, kept, method, now)
    release(conn, station, booking, reason=reason, now=now)
    return kept


def release(conn: Connection, station: Station, booking: BookingRecord, *, reason: str, now: datetime) -> int:
    """Give back what is held when the station, HQ or the daemon ends the booking (a disruption,
    a rejection, a lapsed hold, the rest after a forfeit): these happen at any hour, so a cash
    deposit with no shift open on the terminal stays held (the report's deposits held) rather
    than stopping them."""
    _holding, method = held(conn, booking.id)
    if method == CASH and money_ledger.open_shift_id(conn, station.terminal) is None:
        return 0
    return give_back(conn, station, booking, reason=reason, now=now)


def _event(conn: Connection, booking: BookingRecord, event_type: str, txn: str, amount: int, method: str,
           now: datetime) -> None:
    append_event(conn, event_type=event_type, entity_id=booking.id, idem_key=f"ledger:{txn}",
                 body={"booking_id": booking.id, "booking_code": booking.code, "member_id": booking.member_id,
                       "amount_minor": amount, "method": method, "txn_id": txn}, now=now)
