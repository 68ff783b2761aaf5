"""`station-edge receipt ...`: the day's receipts, a search, one receipt in full."""

from __future__ import annotations

import argparse
from datetime import date

from edge.cli.output import emit_json, table
from edge.errors import InvalidInput
from edge.services import receipts
from edge.services.station import Station, open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `receipt list|show` to the station-edge parser."""
    group = sub.add_parser("receipt", help="receipts: list, search, show")
    receipt_sub = group.add_subparsers(dest="receipt_command", required=True, metavar="ACTION")

    p = receipt_sub.add_parser("list", parents=[common], help="receipts, newest first")
    p.add_argument("--date", help="one station-local day, YYYY-MM-DD")
    p.add_argument("--search", default="", help="part of a receipt number, plate, booking code, phone or name")
    p.set_defaults(handler=_list)

    p = receipt_sub.add_parser("show", parents=[common], help="one receipt: lines, deductions, payments, refunds")
    p.add_argument("number", help="receipt number or id")
    p.set_defaults(handler=_show)


def _day(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput("date", f"{text!r} is not a date (YYYY-MM-DD)") from None


def _list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    found = receipts.list_receipts(station, day=_day(args.date), search=args.search)
    if args.json:
        emit_json([r.to_json() for r in found])
        return
    print(table(("receipt", "time", "state", "total", "paid by", "booking", "plate", "member", "invoice"),
                [(r.number, f"{station.local(r.created_at):%m-%d %H:%M}", r.state, station.money(r.total_minor),
                  ", ".join(r.methods), r.booking_code or "", r.plate or "",
                  " ".join(filter(None, [r.member_name, r.member_phone])), r.invoice) for r in found]))


def _show(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    view = receipts.get_receipt(station, args.number)
    if args.json:
        emit_json(view.to_json())
        return
    print(describe_receipt(station, view))


def describe_receipt(station: Station, view: receipts.ReceiptView) -> str:
    """A receipt as the desk reads it: header, lines, deductions, payments, change, refunds."""
    money = station.money
    head = [f"receipt {view.number}  {station.local(view.created_at):%Y-%m-%d %H:%M}  {view.state.replace('_', ' ')}",
            f"terminal {view.terminal}, operator {view.operator_id}"
            + (f", booking {view.booking_code} {view.plate}" if view.booking_code else "")
            + (f", member {view.member_name} {view.member_phone}" if view.member_id else "")]
    lines = table(("line", "item", "qty", "unit", "amount", "tier", "coupon", "refunded"),
                  [(line.line_code, line.name, line.quantity, money(line.unit_minor), money(line.gross_minor),
                    money(-line.tier_discount_minor), money(-line.coupon_minor), line.refunded_quantity or "")
                   for line in view.lines])
    rows = [("subtotal", view.subtotal_minor), ("tier discount", -view.tier_discount_minor)]
    if view.coupon_code:
        rows.append((f"coupon {view.coupon_code}", -view.coupon_discount_minor))
    rows.append(("total", view.total_minor))
    if view.points_minor:
        rows.append((f"paid with {view.points_redeemed} points", view.points_minor))
    if view.prepaid_minor:
        rows.append(("paid from prepaid balance", view.prepaid_minor))
    if view.deposit_minor:
        rows.append(("paid by the deposit", view.deposit_minor))
    rows += [(f"paid by {method}" + (f" ({reference})" if reference else ""), amount)
             for method, amount, reference in view.payments]
    if view.cash_tendered_minor is not None:
        rows += [("cash tendered", view.cash_tendered_minor), ("change", view.change_minor)]
    for refund in view.refunds:
        rows += [(f"refund {station.local(refund.at):%H:%M} {method}: {refund.reason}", -amount)
                 for method, amount in refund.money]
        if refund.prepaid_minor:
            rows.append((f"refund {station.local(refund.at):%H:%M} to prepaid", -refund.prepaid_minor))
        if refund.points_minor:
            rows.append((f"refund {station.local(refund.at):%H:%M} in points", -refund.points_minor))
    totals = table(("", "amount"), [(label, money(amount)) for label, amount in rows])
    return "\n".join([*head, lines, totals, f"e-invoice: {view.invoice}"])
