"""`station-edge pay ...` (checkout, refunds, invoices) and a member's loyalty under `station-edge member`
(points, prepaid balance, coupons and tier periods)."""

from __future__ import annotations

import argparse

from edge.cli import arguments, session
from edge.cli.output import emit_json, table
from edge.cli.receipt_commands import describe_receipt
from edge.domain.money import parse_money
from edge.errors import InvalidInput
from edge.services import checkout, ledgers, loyalty, members, receipts
from edge.services.ledgers import TOP_UP_METHODS
from edge.services.station import Station
from edge.cli.session import open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `pay` and its actions to the station-edge parser."""
    group = sub.add_parser("pay", help="take payment, refund a receipt, request an e-invoice")
    pay_sub = group.add_subparsers(dest="pay_command", required=True, metavar="ACTION")

    p = pay_sub.add_parser("checkout", parents=[common], help="take payment for a booking or a walk-in sale")
    what = p.add_mutually_exclusive_group()
    what.add_argument("--booking", help="booking id or code")
    what.add_argument("--services", type=arguments.codes, help="walk-in sale: service/package codes")
    p.add_argument("--goods", action="append", default=[], metavar="SKU=QTY",
                   help="goods sold over the counter, e.g. WASH-FLUID-1L=2 (repeatable)")
    p.add_argument("--phone", help="member phone (a booking's member is used by default)")
    p.add_argument("--coupon", help="coupon code")
    p.add_argument("--sub-account", help="fleet sub-account id paying on its company's account (walk-in sales)")
    p.add_argument("--points", type=int, default=0, help="points to redeem")
    p.add_argument("--prepaid", default="0", type=arguments.amount, help="amount to take from the prepaid balance, e.g. 100.00")
    p.add_argument("--pay", action="append", default=[], metavar="METHOD=AMOUNT[:REFERENCE]",
                   help="how the rest is paid: cash, bank_card, wechat_pay, alipay, enterprise (repeatable); "
                   "REFERENCE is the slip or transaction number")
    p.add_argument("--cash-tendered", type=arguments.amount, help="cash handed over, e.g. 300.00: the change is shown")
    p.add_argument("--price", action="append", default=[], metavar="CODE=AMOUNT",
                   help="a manager's unit price for a line (repeatable; needs a manager: --manager WHO)")
    p.set_defaults(handler=_checkout)

    p = pay_sub.add_parser("refund", parents=[common], help="refund a receipt, whole or by line (needs a manager)")
    p.add_argument("receipt", help="receipt number or id")
    p.add_argument("--reason", required=True, help="why")
    p.add_argument("--line", action="append", default=[], metavar="CODE[=QTY]",
                   help="refund only this line (all its units left unless QTY); repeatable")
    p.set_defaults(handler=_refund)

    p = pay_sub.add_parser("invoice", parents=[common], help="request an e-invoice for a receipt")
    p.add_argument("receipt", help="receipt number or id")
    p.add_argument("--buyer", required=True, help="buyer: a company's or a person's name")
    p.add_argument("--tax-id", default="", help="a company's unified social credit code (none for a personal invoice)")
    p.add_argument("--email", default="", help="where HQ sends the invoice")
    p.set_defaults(handler=_invoice)


def register_member(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add a member's loyalty under `station-edge member`: balance, points, prepaid, coupon, tiers."""
    p = sub.add_parser("balance", parents=[common], help="a member's points, prepaid balance and coupons")
    p.add_argument("key", help="phone number or plate")
    p.set_defaults(handler=_balance)

    p = sub.add_parser("points", help="loyalty points")
    q = p.add_subparsers(dest="points_command", required=True, metavar="ACTION")
    r = q.add_parser("adjust", parents=[common], help="correct a member's points")
    r.add_argument("--phone", required=True)
    r.add_argument("--points", type=int, required=True, help="signed number of points")
    r.add_argument("--reason", required=True)
    r.set_defaults(handler=_points_adjust)
    r = q.add_parser("expire", parents=[common], help="write off lapsed points now (the daemon does this daily)")
    r.set_defaults(handler=_points_expire)

    p = sub.add_parser("prepaid", help="stored-value balance")
    q = p.add_subparsers(dest="prepaid_command", required=True, metavar="ACTION")
    r = q.add_parser("top-up", parents=[common], help="add money to a member's prepaid balance")
    r.add_argument("--phone", required=True)
    r.add_argument("--amount", required=True, type=arguments.amount, help="e.g. 500.00")
    r.add_argument("--method", required=True, choices=TOP_UP_METHODS, help="%(choices)s")
    r.add_argument("--reference", default="", help="the payment's reference")
    r.set_defaults(handler=_top_up)
    r = q.add_parser("adjust", parents=[common], help="correct a member's prepaid balance (a manager's)")
    r.add_argument("--phone", required=True)
    r.add_argument("--amount", required=True, type=arguments.signed_amount, help="signed, e.g. -20.00 or 50.00")
    r.add_argument("--reason", required=True)
    r.set_defaults(handler=_prepaid_adjust)

    p = sub.add_parser("credit", help="no-show credit score")
    q = p.add_subparsers(dest="credit_command", required=True, metavar="ACTION")
    r = q.add_parser("set", parents=[common], help="override a member's credit score (a manager's)")
    r.add_argument("phone")
    r.add_argument("score", type=int)
    r.add_argument("--reason", required=True, help="why, e.g. 'no-show was our fault'")
    r.set_defaults(handler=_credit_set)

    p = sub.add_parser("coupon", help="coupons")
    q = p.add_subparsers(dest="coupon_command", required=True, metavar="ACTION")
    r = q.add_parser("issue", parents=[common], help="issue a coupon from a configured template")
    r.add_argument("--template", required=True, help="[[coupon_templates]] id")
    r.add_argument("--phone", help="for this member (default: the bearer)")
    r.set_defaults(handler=_coupon_issue)
    r = q.add_parser("conflict", parents=[common], help="record that HQ reports a coupon used twice")
    r.add_argument("code")
    r.add_argument("--detail", required=True, help="what HQ reported (where and when the other use was)")
    r.set_defaults(handler=_coupon_conflict)

    p = sub.add_parser("tiers", help="member tiers")
    q = p.add_subparsers(dest="tiers_command", required=True, metavar="ACTION")
    r = q.add_parser("close-periods", parents=[common], help="evaluate members whose tier period ended")
    r.set_defaults(handler=_close_periods)



def _minor(station: Station, text: str, field: str) -> int:
    return parse_money(text, station.settings.station.currency_minor_digits, field=field)


def _payments(station: Station, specs: list[str]) -> list[tuple[str, int, str]]:
    payments = []
    for spec in specs:
        method, sep, rest = spec.partition("=")
        if not sep:
            raise InvalidInput("pay", f"{spec!r}: write METHOD=AMOUNT[:REFERENCE], e.g. wechat_pay=299.00:4200001234")
        amount, _, reference = rest.partition(":")
        payments.append((method.strip(), _minor(station, amount, "pay"), reference.strip()))
    return payments


def _goods(specs: list[str]) -> list[tuple[str, int]]:
    goods = []
    for spec in specs:
        sku, sep, quantity = spec.partition("=")
        if not sep or not quantity.strip().isdigit() or int(quantity) < 1:
            raise InvalidInput("goods", f"{spec!r}: write SKU=QUANTITY with a whole quantity, e.g. WASH-FLUID-1L=2")
        goods.append((sku.strip(), int(quantity)))
    return goods


def _checkout(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    result = checkout.checkout(
        station, booking_ref=args.booking, services=args.services or (), goods=_goods(args.goods),
        phone=args.phone, coupon_code=args.coupon,
        points=args.points, prepaid_minor=_minor(station, args.prepaid, "prepaid"), payments=_payments(station, args.pay),
        sub_account_id=args.sub_account,
        cash_tendered_minor=_minor(station, args.cash_tendered, "cash_tendered") if args.cash_tendered else None,
        price_overrides=_prices(station, args.price),
        manager=session.manager(station) if args.price else None,
    )
    if args.json:
        emit_json(result.to_json())
        return
    print(describe_receipt(station, receipts.get_receipt(station, result.number)))
    if result.points_earned:
        print(f"points earned: {result.points_earned}")


def _prices(station: Station, specs: list[str]) -> dict[str, int]:
    prices = {}
    for spec in specs:
        code, sep, amount = spec.partition("=")
        if not sep:
            raise InvalidInput("price", f"{spec!r}: write CODE=AMOUNT, e.g. OIL=250.00")
        prices[code.strip()] = _minor(station, amount, "price")
    return prices


def _refund_lines(specs: list[str], receipt: str, station: Station) -> list[tuple[str, int]] | None:
    """--line CODE[=QTY] as (line code, quantity); a bare CODE is all its units not yet refunded."""
    if not specs:
        return None
    left = {line.line_code: line.quantity - line.refunded_quantity for line in receipts.get_receipt(station, receipt).lines}
    lines = []
    for spec in specs:
        code, sep, quantity = spec.partition("=")
        if sep and (not quantity.strip().isdigit() or int(quantity) < 1):
            raise InvalidInput("line", f"{spec!r}: write CODE or CODE=QUANTITY with a whole quantity, e.g. FLUID=1")
        lines.append((code.strip(), int(quantity) if sep else left.get(code.strip(), 0)))
    return lines


def _refund(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    result = checkout.refund(station, args.receipt, reason=args.reason,
                             lines=_refund_lines(args.line, args.receipt, station),
                             manager=session.manager(station))
    if args.json:
        emit_json(result.to_json())
        return
    given = ", ".join(f"{method} {station.money(amount)}" for method, amount in result.money)
    extra = [f"prepaid {station.money(result.prepaid_minor)}"] if result.prepaid_minor else []
    extra += [f"{result.points_returned} points"] if result.points_returned else []
    print(f"receipt {result.number} {result.state.replace('_', ' ')}: back {', '.join(filter(None, [given, *extra]))}")


def _invoice(args: argparse.Namespace) -> None:
    result = checkout.request_invoice(open_station(args.data_dir), args.receipt, buyer_name=args.buyer,
                                      tax_id=args.tax_id, email=args.email)
    emit_json(result) if args.json else print(f"e-invoice requested for {result['receipt_number']} ({result['buyer_name']})")


def _balance(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    profile = members.lookup(station, args.key)
    with station.store.read() as conn:
        points = ledgers.points_balance(conn, profile.member.id)
        prepaid = ledgers.prepaid_balance(conn, profile.member.id)
        coupons = [dict(r) for r in conn.execute(
            "SELECT code, kind, value, service_code, valid_until, state FROM coupon WHERE member_id = ? ORDER BY code",
            (profile.member.id,))]
    result = {**profile.to_json(), "points": points, "prepaid_minor": prepaid, "coupons": coupons}
    if args.json:
        emit_json(result)
        return
    m = profile.member
    print(f"{m.phone} {m.name} tier {m.tier}: {points} points, prepaid {station.money(prepaid)}")
    if coupons:
        print(table(("coupon", "kind", "value", "service", "valid until", "state"),
                    [(c["code"], c["kind"], c["value"], c["service_code"] or "", c["valid_until"], c["state"])
                     for c in coupons]))


def _points_adjust(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    member = members.lookup(station, args.phone).member
    balance = ledgers.correct_points(station, member_id=member.id, points=args.points, reason=args.reason,
                                     manager=session.manager(station))
    emit_json({"member_id": member.id, "points": balance}) if args.json else print(f"{member.phone}: {balance} points")


def _points_expire(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    with station.store.write() as conn:
        total = ledgers.expire_points(conn, station, now=station.clock())
    emit_json({"expired": total}) if args.json else print(f"{total} points expired")


def _top_up(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    member = members.lookup(station, args.phone).member
    amount = _minor(station, args.amount, "amount")
    with station.store.write() as conn:
        ledgers.top_up(conn, station, member_id=member.id, amount_minor=amount, method=args.method,
                       reference=args.reference, now=station.clock())
        balance = ledgers.prepaid_balance(conn, member.id)
    if args.json:
        emit_json({"member_id": member.id, "prepaid_minor": balance})
    else:
        print(f"{member.phone}: prepaid balance {station.money(balance)}")


def _prepaid_adjust(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    member = members.lookup(station, args.phone).member
    balance = ledgers.correct_prepaid(station, member_id=member.id, amount_minor=_minor(station, args.amount, "amount"),
                                      reason=args.reason, manager=session.manager(station))
    emit_json({"member_id": member.id, "prepaid_minor": balance}) if args.json else print(
        f"{member.phone}: prepaid balance {station.money(balance)}")


def _credit_set(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    member = members.override_credit(station, phone=args.phone, score=args.score, reason=args.reason,
                                     manager=session.manager(station))
    emit_json(member.to_json()) if args.json else print(f"{member.phone}: credit score {member.credit_score}")


def _coupon_issue(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    member_id = members.lookup(station, args.phone).member.id if args.phone else None
    with station.store.write() as conn:
        code = loyalty.issue_coupon(conn, station, template_id=args.template, member_id=member_id,
                                    source="manual", now=station.clock())
    emit_json({"code": code}) if args.json else print(f"coupon {code} issued")


def _coupon_conflict(args: argparse.Namespace) -> None:
    conflict_id = loyalty.report_double_use(open_station(args.data_dir), args.code, detail={"hq": args.detail})
    emit_json({"conflict": conflict_id}) if args.json else print(f"conflict {conflict_id} recorded for {args.code}")


def _close_periods(args: argparse.Namespace) -> None:
    changed = loyalty.close_tier_periods(open_station(args.data_dir))
    if args.json:
        emit_json([m.to_json() for m in changed])
    else:
        print(f"{len(changed)} member(s) changed tier")
