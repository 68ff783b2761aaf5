"""Checkout: price a booking or a walk-in sale, take discounts, points, prepaid and payments;
refunds; e-invoice requests. Each is one transaction with its payment events."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from sqlite3 import Connection
from typing import Any

from edge.domain import checkout as rules
from edge.domain.booking_state import BookingState
from edge.domain.ids import short_code, uuid7
from edge.domain.permissions import Actor, Permission, authorise
from edge.domain.points import PointsRule, points_for
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services import enterprise_billing, found_work, inventory, ledgers, loyalty
from edge.services.booking_store import BookingRecord, get_booking
from edge.services.members import MemberRecord, find_member, get_member
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import to_db_time


@dataclass(frozen=True, slots=True)
class CheckoutResult:
    receipt_id: str
    number: str
    receipt: rules.Receipt
    member_id: str | None
    points_earned: int
    currency: str

    def to_json(self) -> dict[str, Any]:
        r = self.receipt
        return {
            "id": self.receipt_id, "number": self.number, "member_id": self.member_id, "currency": self.currency,
            "lines": [_line_json(line) for line in r.lines], "subtotal_minor": r.subtotal_minor,
            "tier_discount_minor": r.tier_discount_minor, "coupon_code": r.coupon_code,
            "coupon_discount_minor": r.coupon_discount_minor, "points_redeemed": r.points_redeemed,
            "points_minor": r.points_minor, "prepaid_minor": r.prepaid_minor, "remainder_minor": r.remainder_minor,
            "total_minor": r.total_minor, "payments": [{"method": m, "amount_minor": a} for m, a in r.payments],
            "points_earned": self.points_earned,
        }


def _line_json(line: rules.ReceiptLine) -> dict[str, Any]:
    return {"code": line.code, "name": line.name, "category": line.category, "quantity": line.quantity,
            "unit_minor": line.unit_minor, "gross_minor": line.gross_minor,
            "tier_discount_minor": line.tier_discount_minor, "net_minor": line.net_minor}


def checkout(
    station: Station,
    *,
    booking_ref: str | None = None,
    services: Sequence[str] = (),
    goods: Sequence[tuple[str, int]] = (),
    phone: str | None = None,
    coupon_code: str | None = None,
    points: int = 0,
    prepaid_minor: int = 0,
    payments: Sequence[tuple[str, int] | tuple[str, int, str]] = (),
    now: datetime | None = None,
    sub_account_id: str | None = None,
) -> CheckoutResult:
    """Take payment for a booking (its services) or a walk-in sale (`services`), plus any
    `payments` are (method, amount) or (method, amount, reference) — the card slip or the
    WeChat/Alipay transaction number the station records; the gateways themselves are HQ's.
    Also
    `goods` sold over the counter as (SKU, quantity), which leave stock in the same transaction.

    A payment by `enterprise` goes on the company's account: the fleet booking's
    sub-account pays, or `sub_account_id` (needed for a walk-in sale).
    """
    now = now or station.clock()
    with station.store.write() as conn:
        booking, member, coupon, receipt = _price(
            conn, station, booking_ref=booking_ref, services=services, goods=goods, phone=phone,
            coupon_code=coupon_code, points=points, prepaid_minor=prepaid_minor, now=now)
        receipt = rules.settle(receipt, [(p[0], p[1]) for p in payments], money=station.money)
        references = [p[2] if len(p) > 2 else "" for p in payments]
        receipt_id, number = uuid7(), _receipt_number(station, now)
        _store_receipt(conn, station, receipt, receipt_id=receipt_id, number=number,
                       booking_id=booking.id if booking else None, member=member, references=references, now=now)
        for sku, quantity in goods:
            inventory.sell(conn, station, sku=sku, quantity=quantity, receipt_number=number, now=now)
        on_account = sum(amount for method, amount in receipt.payments if method == "enterprise")
        if on_account:
            enterprise_billing.charge_on_account(conn, station, booking=booking, sub_account_id=sub_account_id,
                                                 receipt_id=receipt_id, amount_minor=on_account, now=now)
        earned = 0
        if member is not None:
            earned = _member_effects(conn, station, member, receipt, receipt_id=receipt_id, now=now)
        elif coupon is not None:
            loyalty.mark_coupon(conn, station, coupon.code, redeemed=True, receipt_id=receipt_id, now=now)
        result = CheckoutResult(receipt_id, number, receipt, member.id if member else None, earned,
                                station.settings.station.currency)
        append_event(conn, event_type="payment.received", entity_id=receipt_id,
                     idem_key=f"receipt:{receipt_id}:1",
                     body={"receipt": result.to_json(), "booking_id": booking.id if booking else None,
                           "price_version": station.catalog().version}, now=now)
        return result


def quote(
    station: Station,
    *,
    booking_ref: str | None = None,
    services: Sequence[str] = (),
    goods: Sequence[tuple[str, int]] = (),
    phone: str | None = None,
    coupon_code: str | None = None,
    points: int = 0,
    prepaid_minor: int = 0,
    now: datetime | None = None,
) -> rules.Receipt:
    """What `checkout` with these arguments would charge, without taking anything: the
    terminal shows it while the attendant builds the sale."""
    now = now or station.clock()
    with station.store.read() as conn:
        return _price(conn, station, booking_ref=booking_ref, services=services, goods=goods, phone=phone,
                      coupon_code=coupon_code, points=points, prepaid_minor=prepaid_minor, now=now)[3]


def _price(
    conn: Connection,
    station: Station,
    *,
    booking_ref: str | None,
    services: Sequence[str],
    goods: Sequence[tuple[str, int]],
    phone: str | None,
    coupon_code: str | None,
    points: int,
    prepaid_minor: int,
    now: datetime,
) -> tuple[BookingRecord | None, MemberRecord | None, Any, rules.Receipt]:
    """The booking, member, coupon and priced receipt of a checkout (before payment)."""
    booking = get_booking(conn, booking_ref) if booking_ref else None
    if booking is not None:
        if booking.state in (BookingState.CANCELLED, BookingState.REJECTED, BookingState.EXPIRED):
            raise InvalidTransition(f"booking {booking.code} is {booking.state}; nothing to pay")
        if conn.execute("SELECT 1 FROM receipt WHERE booking_id = ? AND state = 'paid'", (booking.id,)).fetchone():
            raise InvalidTransition(f"booking {booking.code} is paid already")
    member = _member(conn, booking.member_id if booking else None, phone)
    items = _booking_items(conn, station, booking) if booking else _items(station, list(services))
    items += _goods(station, goods)
    if not items:
        raise RuleViolation("nothing to check out: give a booking, service codes or goods")
    tier = station.settings.tier(member.tier if member else station.settings.booking.guest_tier)
    loyalty_settings = station.settings.loyalty
    if member is None and (coupon_code and _is_personal(conn, coupon_code) or points or prepaid_minor):
        raise RuleViolation("points, prepaid and personal coupons need a member (give --phone)")
    coupon = loyalty.load_coupon(conn, station, coupon_code, member_id=member.id if member else None) \
        if coupon_code else None
    receipt = rules.price(
        items, tier_discount_pct=tier.discount_pct, tier_rank=station.settings.tier_rank(tier.name),
        coupon=coupon, points=points,
        points_balance=ledgers.points_balance(conn, member.id) if member else 0,
        redemption=rules.RedemptionRule(loyalty_settings.redeem_points_per_unit, loyalty_settings.redeem_unit_minor),
        prepaid_minor=prepaid_minor,
        prepaid_balance=ledgers.prepaid_balance(conn, member.id) if member else 0, now=now, money=station.money,
    )
    return booking, member, coupon, receipt


def _booking_items(conn: Connection, station: Station, booking: BookingRecord) -> list[rules.Item]:
    """The booking's work as booked (an enterprise package one line at the price agreed when it
    was booked), then each service added during service that the customer approved, at its price."""
    bill = found_work.billed(conn, booking)
    booked = replace(booking, services=bill.services, price_minor=bill.price_minor)
    items = enterprise_billing.package_items(conn, station, booked) or _items(
        station, [booked.package_code] if booked.package_code else list(booked.services))
    added = _items(station, [code for code, _price in bill.added])
    return items + [replace(item, unit_minor=price) for item, (_code, price) in zip(added, bill.added, strict=True)]


def _member(conn: Connection, member_id: str | None, phone: str | None) -> MemberRecord | None:
    if member_id is not None:
        return get_member(conn, member_id)
    if phone:
        member = find_member(conn, phone=phone)
        if member is None:
            raise NotFound(f"no member with phone {phone}")
        return member
    return None


def _is_personal(conn: Connection, code: str) -> bool:
    row = conn.execute("SELECT member_id FROM coupon WHERE code = ?", (code,)).fetchone()
    return row is not None and row[0] is not None


GOODS_CATEGORY = "goods"


def _goods(station: Station, goods: Sequence[tuple[str, int]]) -> list[rules.Item]:
    items = []
    for sku, quantity in goods:
        try:
            material = station.settings.material(sku)
        except ValueError:
            raise NotFound(f"unknown material {sku!r}") from None
        if material.price is None:
            raise RuleViolation(f"{sku} is not sold over the counter (no price in [[materials]])")
        items.append(rules.Item(sku, material.name_en, GOODS_CATEGORY, material.price, quantity, tier_discount=False))
    return items


def _items(station: Station, codes: Sequence[str]) -> list[rules.Item]:
    catalog = station.catalog()
    items = []
    for code in codes:
        if code in catalog.packages:
            package = catalog.packages[code]
            first = catalog.services[package.services[0]]
            items.append(rules.Item(code, package.name_en, first.category, package.price_minor))
        elif code in catalog.services:
            item = catalog.services[code]
            items.append(rules.Item(code, item.name_en, item.category, item.price_minor))
        else:
            raise NotFound(f"unknown service or package code {code!r}")
    return items


def _receipt_number(station: Station, now: datetime) -> str:
    return f"{station.settings.station.id}-{station.local(now):%y%m%d}-{short_code(5)}"


def _store_receipt(conn: Connection, station: Station, receipt: rules.Receipt, *, receipt_id: str, number: str,
                   booking_id: str | None, member: MemberRecord | None, references: Sequence[str],
                   now: datetime) -> None:
    conn.execute(
        "INSERT INTO receipt (id, number, booking_id, member_id, lines, subtotal_minor, tier_discount_minor,"
        " coupon_code, coupon_discount_minor, points_redeemed, points_minor, prepaid_minor, remainder_minor,"
        " total_minor, currency, price_version, state, version, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'paid', 1, ?)",
        (receipt_id, number, booking_id, member.id if member else None,
         json.dumps([_line_json(line) for line in receipt.lines], ensure_ascii=False), receipt.subtotal_minor,
         receipt.tier_discount_minor, receipt.coupon_code, receipt.coupon_discount_minor, receipt.points_redeemed,
         receipt.points_minor, receipt.prepaid_minor, receipt.remainder_minor, receipt.total_minor,
         station.settings.station.currency, station.catalog().version, to_db_time(now)),
    )
    for (method, amount), reference in zip(receipt.payments, references, strict=True):
        conn.execute(
            "INSERT INTO payment (id, receipt_id, booking_id, method, amount_minor, reference, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (uuid7(), receipt_id, booking_id, method, amount, reference, to_db_time(now)),
        )


def _member_effects(conn: Connection, station: Station, member: MemberRecord, receipt: rules.Receipt, *,
                    receipt_id: str, now: datetime) -> int:
    """Coupon, points and prepaid taken; points and growth earned on the money paid."""
    if receipt.coupon_code:
        loyalty.mark_coupon(conn, station, receipt.coupon_code, redeemed=True, receipt_id=receipt_id, now=now)
    if receipt.points_redeemed:
        ledgers.redeem_points(conn, station, member_id=member.id, points=receipt.points_redeemed,
                              receipt_id=receipt_id, now=now)
    if receipt.prepaid_minor:
        ledgers.prepaid_entry(conn, station, member_id=member.id, kind="debit", amount_minor=-receipt.prepaid_minor,
                              receipt_id=receipt_id, now=now)
    s = station.settings.loyalty
    rule = PointsRule(points=s.points_per_step, per_amount_minor=s.points_step_minor,
                      birthday_multiplier=s.birthday_multiplier, valid_days=s.points_valid_days)
    earned = points_for(receipt.paid_in_money_minor, rule, birthday=_is_birthday(conn, station, member, now))
    ledgers.earn_points(conn, station, member_id=member.id, points=earned, receipt_id=receipt_id,
                        reason="purchase", now=now)
    loyalty.record_spend(conn, station, member, paid_minor=receipt.paid_in_money_minor, visits=1, now=now)
    return earned


def _is_birthday(conn: Connection, station: Station, member: MemberRecord, now: datetime) -> bool:
    row = conn.execute("SELECT birthday FROM member_balance WHERE member_id = ?", (member.id,)).fetchone()
    return bool(row and row[0] and row[0] == f"{station.local(now):%m-%d}")


def refund(station: Station, number: str, *, reason: str, now: datetime | None = None,
           manager: Actor | None = None) -> dict[str, Any]:
    """Refund a whole receipt: money back by the same methods, prepaid and points returned,
    points earned taken back (as far as the member still has them), the coupon restored."""
    authorise(station.actor, Permission.REFUND, manager)
    now = now or station.clock()
    if not reason:
        raise RuleViolation("a refund needs a reason")
    with station.store.write() as conn:
        row = conn.execute("SELECT * FROM receipt WHERE number = ? OR id = ?", (number, number)).fetchone()
        if row is None:
            raise NotFound(f"no receipt {number!r}")
        if row["state"] != "paid":
            raise InvalidTransition(f"receipt {row['number']} is {row['state']}")
        receipt_id, member_id = row["id"], row["member_id"]
        for pay in conn.execute("SELECT method, amount_minor FROM payment WHERE receipt_id = ?", (receipt_id,)).fetchall():
            conn.execute(
                "INSERT INTO payment (id, receipt_id, booking_id, method, amount_minor, reference, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (uuid7(), receipt_id, row["booking_id"], pay["method"], -pay["amount_minor"], reason, to_db_time(now)),
            )
        enterprise_billing.refund_charges(conn, station, receipt_id=receipt_id, reason=reason, now=now)
        if member_id:
            _undo_member_effects(conn, station, row, reason=reason, now=now)
        elif row["coupon_code"]:
            loyalty.mark_coupon(conn, station, row["coupon_code"], redeemed=False, receipt_id=None, now=now)
        for line in json.loads(row["lines"]):
            if line["category"] == GOODS_CATEGORY:
                inventory.return_sold(conn, station, sku=line["code"], quantity=line["quantity"],
                                      receipt_number=row["number"], now=now)
        conn.execute("UPDATE receipt SET state = 'refunded', version = version + 1 WHERE id = ?", (receipt_id,))
        body = {"receipt_id": receipt_id, "number": row["number"], "reason": reason,
                "refunded_minor": row["remainder_minor"] + row["prepaid_minor"]}
        append_event(conn, event_type="payment.refunded", entity_id=receipt_id,
                     idem_key=f"receipt:{receipt_id}:2", body=body, now=now)
        return body


def _undo_member_effects(conn: Connection, station: Station, row: Any, *, reason: str, now: datetime) -> None:
    member_id, receipt_id = row["member_id"], row["id"]
    if row["prepaid_minor"]:
        ledgers.prepaid_entry(conn, station, member_id=member_id, kind="refund", amount_minor=row["prepaid_minor"],
                              receipt_id=receipt_id, reason=reason, now=now)
    if row["points_redeemed"]:
        ledgers.adjust_points(conn, station, member_id=member_id, points=row["points_redeemed"],
                              reason=f"refund: {reason}", receipt_id=receipt_id, now=now)
    earned = conn.execute(
        "SELECT coalesce(sum(points), 0) FROM points_entry WHERE receipt_id = ? AND kind = 'earn'", (receipt_id,)
    ).fetchone()[0]
    take_back = min(earned, ledgers.points_balance(conn, member_id))
    if take_back:
        ledgers.adjust_points(conn, station, member_id=member_id, points=-take_back,
                              reason=f"refund: {reason}", receipt_id=receipt_id, now=now)
    if row["coupon_code"]:
        loyalty.mark_coupon(conn, station, row["coupon_code"], redeemed=False, receipt_id=None, now=now)


def request_invoice(station: Station, number: str, *, buyer_name: str, tax_id: str, email: str = "",
                    now: datetime | None = None) -> dict[str, Any]:
    """Record an e-invoice request for a receipt; HQ issues the invoice."""
    now = now or station.clock()
    if not buyer_name.strip() or not tax_id.strip():
        raise RuleViolation("an e-invoice needs the buyer's name and tax id")
    with station.store.write() as conn:
        row = conn.execute("SELECT id, number, total_minor, currency FROM receipt WHERE number = ? OR id = ?",
                           (number, number)).fetchone()
        if row is None:
            raise NotFound(f"no receipt {number!r}")
        request_id = uuid7()
        conn.execute(
            "INSERT INTO invoice_request (id, receipt_id, buyer_name, tax_id, email, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (request_id, row["id"], buyer_name.strip(), tax_id.strip().upper(), email, to_db_time(now)),
        )
        body = {"id": request_id, "receipt_id": row["id"], "receipt_number": row["number"],
                "buyer_name": buyer_name.strip(), "tax_id": tax_id.strip().upper(), "email": email,
                "amount_minor": row["total_minor"], "currency": row["currency"]}
        append_event(conn, event_type="invoice.requested", entity_id=request_id,
                     idem_key=f"invoice:{request_id}", body=body, now=now)
        return body
