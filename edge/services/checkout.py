"""Checkout: price a booking or a walk-in sale, take discounts, points, prepaid, a deposit and
payments; refunds by line; e-invoice requests. Each is one transaction that posts its money to
the money ledger (edge.services.money_ledger) and writes its payment events."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from sqlite3 import Connection
from typing import Any

from edge.domain import checkout as rules
from edge.domain import receipt_postings
from edge.domain.booking_state import BookingState
from edge.domain.ids import short_code, uuid7
from edge.domain.money_ledger import Account, Kind
from edge.domain.permissions import Actor, Permission, authorise
from edge.domain.points import PointsRule, points_for
from edge.errors import InvalidInput, InvalidTransition, NotFound, RuleViolation
from edge.services import (
    deposits,
    enterprise_billing,
    extra_parts,
    found_work,
    inventory,
    ledgers,
    loyalty,
    money_ledger,
    receipts,
)
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
    change_minor: int = 0
    cash_tendered_minor: int | None = None

    def to_json(self) -> dict[str, Any]:
        r = self.receipt
        return {
            "id": self.receipt_id, "number": self.number, "member_id": self.member_id, "currency": self.currency,
            "lines": [_line_json(line) for line in r.lines], "subtotal_minor": r.subtotal_minor,
            "tier_discount_minor": r.tier_discount_minor, "coupon_code": r.coupon_code,
            "coupon_discount_minor": r.coupon_discount_minor, "points_redeemed": r.points_redeemed,
            "points_minor": r.points_minor, "prepaid_minor": r.prepaid_minor, "deposit_minor": r.deposit_minor,
            "remainder_minor": r.remainder_minor, "total_minor": r.total_minor,
            "payments": [{"method": m, "amount_minor": a} for m, a in r.payments],
            "cash_tendered_minor": self.cash_tendered_minor, "change_minor": self.change_minor,
            "points_earned": self.points_earned,
        }


def _line_json(line: rules.ReceiptLine) -> dict[str, Any]:
    return {"line_code": line.line_code, "code": line.code, "name": line.name, "category": line.category,
            "quantity": line.quantity, "unit_minor": line.unit_minor, "list_unit_minor": line.list_unit_minor,
            "gross_minor": line.gross_minor, "tier_discount_minor": line.tier_discount_minor,
            "coupon_minor": line.coupon_minor, "net_minor": line.net_minor, "fitted": line.fitted}


@dataclass(frozen=True, slots=True)
class RefundResult:
    receipt_id: str
    number: str
    reason: str
    state: str  # partly_refunded or refunded
    lines: tuple[tuple[str, int, int], ...]  # (line code, quantity, value given back)
    money: tuple[tuple[str, int], ...]  # (method, amount given back)
    prepaid_minor: int
    points_returned: int
    points_minor: int
    points_taken_back: int
    authorised_by: str

    @property
    def refunded_minor(self) -> int:
        """Money and prepaid balance given back (points are counted apart)."""
        return sum(amount for _method, amount in self.money) + self.prepaid_minor

    def to_json(self) -> dict[str, Any]:
        return {"receipt_id": self.receipt_id, "number": self.number, "reason": self.reason, "state": self.state,
                "lines": [{"line_code": c, "quantity": q, "value_minor": v} for c, q, v in self.lines],
                "money": [{"method": m, "amount_minor": a} for m, a in self.money],
                "prepaid_minor": self.prepaid_minor, "points_returned": self.points_returned,
                "points_minor": self.points_minor, "points_taken_back": self.points_taken_back,
                "refunded_minor": self.refunded_minor, "authorised_by": self.authorised_by}


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
    cash_tendered_minor: int | None = None,
    now: datetime | None = None,
    sub_account_id: str | None = None,
    price_overrides: Mapping[str, int] | None = None,
    manager: Actor | None = None,
) -> CheckoutResult:
    """Take payment for a booking (its services, billed extra parts, any deposit held) or a
    walk-in sale (`services`), plus `goods` sold over the counter as (SKU, quantity), which
    leave stock in the same transaction. The sale is one SALE transaction of the money ledger.

    `payments` are (method, amount) or (method, amount, reference) — the card slip or the
    WeChat/Alipay transaction number the station records; the gateways themselves are HQ's.
    Cash needs an open shift on the terminal; `cash_tendered_minor` (at least the cash
    payment) gives the change. A payment by `enterprise` goes on the company's account: the
    fleet booking's sub-account pays, or `sub_account_id` (needed for a walk-in sale).
    `price_overrides` (line code -> unit price) need a manager (Permission.PRICE_OVERRIDE).
    """
    now = now or station.clock()
    overrides = dict(price_overrides or {})
    authorised_by = authorise(station.actor, Permission.PRICE_OVERRIDE, manager).id if overrides else None
    with station.store.write() as conn:
        booking, member, coupon, receipt = _price(
            conn, station, booking_ref=booking_ref, services=services, goods=goods, phone=phone,
            coupon_code=coupon_code, points=points, prepaid_minor=prepaid_minor, price_overrides=overrides, now=now)
        receipt = rules.settle(receipt, [(p[0], p[1]) for p in payments], money=station.money)
        change = rules.change_due(receipt, cash_tendered_minor, money=station.money)
        references = [p[2] if len(p) > 2 else "" for p in payments]
        receipt_id, number = uuid7(), _receipt_number(station, now)
        _store_receipt(conn, station, receipt, receipt_id=receipt_id, number=number,
                       booking_id=booking.id if booking else None, member=member,
                       cash_tendered_minor=cash_tendered_minor, change_minor=change, now=now)
        deposit_method = deposits.held(conn, booking.id)[1] if booking else ""
        money_ledger.post(conn, station, Kind.SALE,
                          receipt_postings.sale_postings(receipt, references, deposit_method=deposit_method),
                          now=now, receipt_id=receipt_id, booking_id=booking.id if booking else None,
                          member_id=member.id if member else None, authorised_by=authorised_by)
        if booking is not None:
            deposits.give_back(conn, station, booking, reason=f"deposit left after receipt {number}", now=now)
        else:
            inventory.consume_for_sale(conn, station, _service_codes(station, services), booking_id=None,
                                       label=f"walk-in sale {number}", now=now)
        for line in receipt.lines:
            if line.category == rules.GOODS_CATEGORY and not line.fitted:
                inventory.sell(conn, station, sku=line.code, quantity=line.quantity, receipt_number=number, now=now)
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
                                station.settings.station.currency, change, cash_tendered_minor)
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
    price_overrides: Mapping[str, int] | None = None,
    now: datetime | None = None,
) -> rules.Receipt:
    """What `checkout` with these arguments would charge, without taking anything: the
    terminal shows it while the attendant builds the sale."""
    now = now or station.clock()
    with station.store.read() as conn:
        return _price(conn, station, booking_ref=booking_ref, services=services, goods=goods, phone=phone,
                      coupon_code=coupon_code, points=points, prepaid_minor=prepaid_minor,
                      price_overrides=dict(price_overrides or {}), now=now)[3]


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
    price_overrides: dict[str, int],
    now: datetime,
) -> tuple[BookingRecord | None, MemberRecord | None, Any, rules.Receipt]:
    """The booking, member, coupon and priced receipt of a checkout (before payment)."""
    booking = get_booking(conn, booking_ref) if booking_ref else None
    if booking is not None:
        if booking.state in (BookingState.CANCELLED, BookingState.REJECTED, BookingState.EXPIRED):
            raise InvalidTransition(f"booking {booking.code} is {booking.state}; nothing to pay")
        if conn.execute("SELECT 1 FROM receipt WHERE booking_id = ? AND state != 'refunded'",
                        (booking.id,)).fetchone():
            raise InvalidTransition(f"booking {booking.code} is paid already")
    member = _member(conn, booking.member_id if booking else None, phone)
    items = _booking_items(conn, station, booking) if booking else _items(station, list(services))
    items += _goods(station, goods)
    if booking is not None:
        items += extra_parts.billable(conn, station, booking)
    items = rules.with_overrides(items, price_overrides, money=station.money)
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
        prepaid_balance=ledgers.prepaid_balance(conn, member.id) if member else 0,
        deposit_held_minor=deposits.held(conn, booking.id)[0] if booking else 0, now=now, money=station.money,
    )
    return booking, member, coupon, receipt


def _booking_items(conn: Connection, station: Station, booking: BookingRecord) -> list[rules.Item]:
    """The booking's work as booked (an enterprise package one line at the price agreed when it
    was booked), then each service added during service that the customer approved, at its price."""
    bill = found_work.billed(conn, booking)
    booked = replace(booking, services=bill.services, price_minor=bill.price_minor)
    items = enterprise_billing.package_items(conn, station, booked) or _items(station, _sold_codes(station, booked))
    added = _items(station, [code for code, _price in bill.added])
    return items + [replace(item, unit_minor=price) for item, (_code, price) in zip(added, bill.added, strict=True)]


def _sold_codes(station: Station, booking: BookingRecord) -> list[str]:
    """What a booking sold: its package, then each service booked outside the package."""
    if booking.package_code is None:
        return list(booking.services)
    package = station.catalog().packages.get(booking.package_code)
    inside = set(package.services) if package else set()
    return [booking.package_code, *(code for code in booking.services if code not in inside)]


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


def _goods(station: Station, goods: Sequence[tuple[str, int]]) -> list[rules.Item]:
    items = []
    for sku, quantity in goods:
        try:
            material = station.settings.material(sku)
        except ValueError:
            raise NotFound(f"unknown material {sku!r}") from None
        if material.price is None:
            raise RuleViolation(f"{sku} is not sold over the counter (no price in [[materials]])")
        items.append(rules.Item(sku, material.name_en, rules.GOODS_CATEGORY, material.price, quantity, tier_discount=False))
    return items


def _items(station: Station, codes: Sequence[str]) -> list[rules.Item]:
    catalog = station.catalog()
    items = []
    for code in codes:
        if code in catalog.packages:
            package = catalog.packages[code]
            items.append(rules.Item(code, package.name_en, rules.PACKAGE_CATEGORY, package.price_minor))
        elif code in catalog.services:
            item = catalog.services[code]
            items.append(rules.Item(code, item.name_en, item.category, item.price_minor))
        else:
            raise NotFound(f"unknown service or package code {code!r}")
    return items


def _receipt_number(station: Station, now: datetime) -> str:
    return f"{station.settings.station.id}-{station.local(now):%y%m%d}-{short_code(5)}"


def _store_receipt(conn: Connection, station: Station, receipt: rules.Receipt, *, receipt_id: str, number: str,
                   booking_id: str | None, member: MemberRecord | None, cash_tendered_minor: int | None,
                   change_minor: int, now: datetime) -> None:
    conn.execute(
        "INSERT INTO receipt (id, number, booking_id, member_id, lines, subtotal_minor, tier_discount_minor,"
        " coupon_code, coupon_discount_minor, points_redeemed, points_minor, prepaid_minor, remainder_minor,"
        " total_minor, currency, price_version, state, version, created_at, deposit_minor, cash_tendered_minor,"
        " change_minor) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'paid', 1, ?, ?, ?, ?)",
        (receipt_id, number, booking_id, member.id if member else None,
         json.dumps([_line_json(line) for line in receipt.lines], ensure_ascii=False), receipt.subtotal_minor,
         receipt.tier_discount_minor, receipt.coupon_code, receipt.coupon_discount_minor, receipt.points_redeemed,
         receipt.points_minor, receipt.prepaid_minor, receipt.remainder_minor, receipt.total_minor,
         station.settings.station.currency, station.catalog().version, to_db_time(now), receipt.deposit_minor,
         cash_tendered_minor, change_minor),
    )


def _service_codes(station: Station, codes: Sequence[str]) -> list[str]:
    """A walk-in sale's service codes with packages opened into their services."""
    catalog = station.catalog()
    return [item for code in codes for item in (catalog.packages[code].services if code in catalog.packages else [code])]


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


def refund(
    station: Station,
    number: str,
    *,
    reason: str,
    lines: Sequence[tuple[str, int]] | None = None,
    manager: Actor | None = None,
    now: datetime | None = None,
) -> RefundResult:
    """Refund some lines of a receipt — (line code, quantity); None = all not yet refunded —
    as one REFUND transaction: the lines' revenue and their share of the discounts reversed;
    the value paid back by the receipt's money methods first (cash needs an open shift), then
    prepaid balance, then points. Goods go back on the shelf; points earned on the money given
    back are taken back as far as the member still has them; the coupon comes back only when
    the whole receipt is refunded. Needs a manager (Permission.REFUND)."""
    now = now or station.clock()
    if not reason.strip():
        raise RuleViolation("a refund needs a reason")
    approver = authorise(station.actor, Permission.REFUND, manager)
    with station.store.write() as conn:
        row = conn.execute("SELECT * FROM receipt WHERE number = ? OR id = ?", (number, number)).fetchone()
        if row is None:
            raise NotFound(f"no receipt {number!r}")
        if row["state"] == receipts.REFUNDED:
            raise InvalidTransition(f"receipt {row['number']} is {row['state']}")
        receipt_id, member_id = row["id"], row["member_id"]
        held = receipts.ledger_lines(conn, receipt_id)
        chosen = _chosen_lines(held, lines)
        postings, refunded_lines, value = [], [], 0
        for code, quantity in chosen.items():
            reversal, line_value = receipt_postings.line_refund(held[code], quantity)
            postings += reversal
            refunded_lines.append((code, quantity, line_value))
            value += line_value
        money_before = receipts.money_left(conn, receipt_id)
        prepaid_left = receipts.account_left(conn, receipt_id, Account.PREPAID)
        points_left = receipts.account_left(conn, receipt_id, Account.POINTS)
        back = receipt_postings.pay_back(value, money_before, prepaid_left, points_left)
        postings += receipt_postings.pay_back_postings(back)
        money_ledger.post(conn, station, Kind.REFUND, postings, now=now, receipt_id=receipt_id,
                          booking_id=row["booking_id"], member_id=member_id, authorised_by=approver.id, reason=reason)
        for method, amount in back.money:
            if method == "enterprise":
                enterprise_billing.refund_charges(conn, station, receipt_id=receipt_id, amount_minor=amount,
                                                  reason=reason, now=now)
        whole = all(held[code].refundable == chosen.get(code, 0) for code in held)
        points_returned = points_taken = 0
        if member_id:
            points_returned, points_taken = _undo_member_effects(
                conn, station, row, back, money_before=money_before, prepaid_left=prepaid_left,
                points_left=points_left, whole=whole, reason=reason, now=now)
        elif whole and row["coupon_code"]:
            loyalty.mark_coupon(conn, station, row["coupon_code"], redeemed=False, receipt_id=None, now=now)
        _restock(conn, station, row, chosen, now=now)
        state = receipts.REFUNDED if whole else receipts.PARTLY_REFUNDED
        conn.execute("UPDATE receipt SET state = ?, version = version + 1 WHERE id = ?", (state, receipt_id))
        result = RefundResult(receipt_id, row["number"], reason, state, tuple(refunded_lines), back.money,
                              back.prepaid_minor, points_returned, back.points_minor, points_taken, approver.id)
        append_event(conn, event_type="payment.refunded", entity_id=receipt_id,
                     idem_key=f"receipt:{receipt_id}:{row['version'] + 1}", body=result.to_json(), now=now)
        return result


def _chosen_lines(held: Mapping[str, receipt_postings.LedgerLine],
                  lines: Sequence[tuple[str, int]] | None) -> dict[str, int]:
    if lines is None:
        return {code: line.refundable for code, line in held.items() if line.refundable}
    chosen: dict[str, int] = {}
    for code, quantity in lines:
        if code not in held:
            raise InvalidInput("lines", f"no line {code!r} on this receipt (lines: {', '.join(held)})")
        chosen[code] = chosen.get(code, 0) + quantity
    if not chosen:
        raise InvalidInput("lines", "name at least one line to refund")
    return chosen


def _restock(conn: Connection, station: Station, row: Any, chosen: Mapping[str, int], *, now: datetime) -> None:
    """Goods sold from the shelf go back on it (fitted parts stay on the car)."""
    for line in json.loads(row["lines"]):
        code = line.get("line_code") or line["code"]
        if line["category"] == rules.GOODS_CATEGORY and not line.get("fitted") and chosen.get(code):
            inventory.return_sold(conn, station, sku=line["code"], quantity=chosen[code],
                                  receipt_number=row["number"], now=now)


def _undo_member_effects(conn: Connection, station: Station, row: Any, back: receipt_postings.PayBack, *,
                         money_before: Sequence[tuple[str, int]], prepaid_left: int, points_left: int, whole: bool,
                         reason: str, now: datetime) -> tuple[int, int]:
    """Prepaid and points given back, points earned on the money given back taken back (as far
    as the member still has them), the coupon restored on a whole refund; (points returned,
    points taken back)."""
    member_id, receipt_id = row["member_id"], row["id"]
    if back.prepaid_minor:
        ledgers.prepaid_entry(conn, station, member_id=member_id, kind="refund", amount_minor=back.prepaid_minor,
                              receipt_id=receipt_id, reason=reason, now=now)
    returned = receipt_postings.proportional(row["points_redeemed"], row["points_minor"],
                                             row["points_minor"] - points_left, back.points_minor)
    if returned:
        ledgers.adjust_points(conn, station, member_id=member_id, points=returned,
                              reason=f"refund: {reason}", receipt_id=receipt_id, now=now)
    paid = row["prepaid_minor"] + row["deposit_minor"] + row["remainder_minor"]
    still_paid = sum(amount for _method, amount in money_before) + prepaid_left
    earned = conn.execute(
        "SELECT coalesce(sum(points), 0) FROM points_entry WHERE receipt_id = ? AND kind = 'earn'", (receipt_id,)
    ).fetchone()[0]
    due_back = receipt_postings.proportional(earned, paid, paid - still_paid, back.money_minor + back.prepaid_minor)
    take_back = min(due_back, ledgers.points_balance(conn, member_id))
    if take_back > 0:
        ledgers.adjust_points(conn, station, member_id=member_id, points=-take_back,
                              reason=f"refund: {reason}", receipt_id=receipt_id, now=now)
    if whole and row["coupon_code"]:
        loyalty.mark_coupon(conn, station, row["coupon_code"], redeemed=False, receipt_id=None, now=now)
    return returned, max(take_back, 0)


def request_invoice(station: Station, number: str, *, buyer_name: str, tax_id: str = "", email: str = "",
                    now: datetime | None = None) -> dict[str, Any]:
    """Record an e-invoice request for a receipt; HQ issues the invoice. An empty tax id is a
    personal invoice; a company's needs its unified social credit code. A partly refunded
    receipt is invoiced for what the customer kept; a refunded or already invoiced one is refused."""
    now = now or station.clock()
    buyer, tax = rules.check_invoice_buyer(buyer_name, tax_id)
    with station.store.write() as conn:
        view = receipts.receipt_view(conn, number)
        if view.state == receipts.REFUNDED:
            raise RuleViolation(f"receipt {view.number} is refunded; there is nothing to invoice")
        if view.invoice != "none":
            raise RuleViolation(f"receipt {view.number} has an e-invoice request already")
        request_id = uuid7()
        conn.execute(
            "INSERT INTO invoice_request (id, receipt_id, buyer_name, tax_id, email, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (request_id, view.id, buyer, tax, email, to_db_time(now)),
        )
        body = {"id": request_id, "receipt_id": view.id, "receipt_number": view.number,
                "buyer_name": buyer, "tax_id": tax, "personal": not tax, "email": email,
                "amount_minor": view.remaining_minor, "currency": view.currency}
        append_event(conn, event_type="invoice.requested", entity_id=request_id,
                     idem_key=f"invoice:{request_id}", body=body, now=now)
        return body
