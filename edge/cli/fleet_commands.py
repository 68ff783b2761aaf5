"""`station-edge fleet` actions for fleet bookings: approvals (list, approve, reject, expire) and statements."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from edge.cli import arguments
from edge.cli.main import EXIT_STATE, EXIT_USAGE
from edge.cli.output import emit_json, table
from edge.domain.enterprise import ApprovalState, Statement
from edge.services import enterprise_billing, enterprise_bookings
from edge.services.enterprise_bookings import ApprovalView
from edge.services.station import Station
from edge.cli.session import open_station


def register_fleet(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add approvals, approve, reject and statement under `station-edge fleet`."""
    p = sub.add_parser("approvals", parents=[common], help="fleet bookings waiting for approval")
    p.add_argument("--enterprise", help="only this company's")
    a_sub = p.add_subparsers(dest="approvals_command", metavar="ACTION")
    p.set_defaults(handler=_approvals)
    q = a_sub.add_parser("list", parents=[common], help="requests waiting for approvers (the default)")
    q.add_argument("--enterprise", help="only this company's")
    q.set_defaults(handler=_approvals)
    q = a_sub.add_parser("expire", parents=[common], help="reject bookings whose approval deadline passed")
    q.set_defaults(handler=_approvals_expire)

    p = sub.add_parser("approve", parents=[common], help="approve a fleet booking for your role")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--by", required=True, metavar="PHONE", help="the approver's sub-account phone")
    p.set_defaults(handler=_decide, approve=True, reason="")
    p = sub.add_parser("reject", parents=[common], help="reject a fleet booking (it is cancelled, its slot freed)")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--by", required=True, metavar="PHONE", help="the approver's sub-account phone")
    p.add_argument("--reason", required=True)
    p.set_defaults(handler=_decide, approve=False)

    p = sub.add_parser("statement", parents=[common], help="a company's charges and refunds of a month")
    p.add_argument("--enterprise", required=True)
    p.add_argument("--month", type=arguments.month, required=True, help="local month, YYYY-MM")
    p.add_argument("--csv", type=Path, metavar="FILE", help="also write the lines to FILE (UTF-8 CSV)")
    p.set_defaults(handler=_statement)


def _approvals(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print_approvals(args, station, enterprise_bookings.pending_approvals(station, enterprise_id=args.enterprise),
                     empty="no bookings waiting for approval")


def _approvals_expire(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print_approvals(args, station, enterprise_bookings.expire_approvals(station), empty="nothing expired")


def _print_approvals(args: argparse.Namespace, station: Station, views: list[ApprovalView], *, empty: str) -> None:
    if args.json:
        emit_json([view.to_json() for view in views])
    elif not views:
        print(empty)
    else:
        print(table(("booking", "enterprise", "by", "amount", "needs", "awaiting", "expires", "state"),
                    [(v.booking_code, v.enterprise_id, v.requester_phone, station.money(v.amount_minor),
                      ",".join(v.required_roles), ",".join(v.awaiting) or "-",
                      f"{station.local(v.expires_at):%m-%d %H:%M}", v.state) for v in views]))


def _decide(args: argparse.Namespace) -> int | None:
    station = open_station(args.data_dir)
    if args.approve:
        view = enterprise_bookings.approve(station, args.booking, by_phone=args.by)
    else:
        view = enterprise_bookings.reject(station, args.booking, by_phone=args.by, reason=args.reason)
    if args.json:
        emit_json(view.to_json())
    elif view.state == ApprovalState.PENDING:
        print(f"booking {view.booking_code}: approved by {args.by}; still waiting for {', '.join(view.awaiting)}")
    elif view.state == ApprovalState.EXPIRED:
        print(f"booking {view.booking_code}: the approval expired at {station.local(view.expires_at):%m-%d %H:%M};"
              " the booking is rejected", file=sys.stderr)
    else:
        print(f"booking {view.booking_code}: {view.state}" + (f" ({view.reason})" if view.reason else ""))
    # a decision that came too late did not do what the approver asked: scripts must notice
    return EXIT_STATE if view.state == ApprovalState.EXPIRED else None


def _statement(args: argparse.Namespace) -> int | None:
    station = open_station(args.data_dir)
    result = enterprise_billing.statement(station, args.enterprise, args.month)
    if args.csv is not None:
        try:
            _write_csv(result, args.csv)
        except OSError as err:
            print(f"station-edge: error: cannot write {args.csv}: {err}", file=sys.stderr)
            return EXIT_USAGE
    if args.json:
        emit_json(result.to_json() | ({"csv": str(args.csv)} if args.csv else {}))
        return None
    print(f"statement of {result.enterprise_id} for {result.month}")
    print(table(("date", "receipt", "booking", "plate", "sub-account", "services", "kind", "amount"),
                [(line.day.isoformat(), line.receipt_number, line.booking_code or "-", line.plate or "-",
                  line.phone or "-", "+".join(line.services), line.kind, station.money(line.amount_minor))
                 for line in result.lines]))
    print(table(("", "amount"), [(f"charged ({result.charges})", station.money(result.charged_minor)),
                                 ("refunded", station.money(result.refunded_minor)),
                                 ("net", station.money(result.net_minor))]))
    print(table(("sub-account", "charges", "net"), [(k, n, station.money(m)) for k, n, m in result.by_sub_account]))
    print(table(("plate", "charges", "net"), [(k, n, station.money(m)) for k, n, m in result.by_plate]))
    if args.csv:
        print(f"lines written to {args.csv}")
    return None


def _write_csv(result: Statement, path: Path) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("date", "kind", "receipt", "booking", "plate", "sub_account", "services", "amount_minor"))
        writer.writerows((line.day.isoformat(), line.kind, line.receipt_number, line.booking_code or "",
                          line.plate or "", line.phone or "", "+".join(line.services), line.amount_minor)
                         for line in result.lines)
