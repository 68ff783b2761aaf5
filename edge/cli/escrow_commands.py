"""`station-edge hq book` and `hq lease configure|grant|revoke`: slot escrow run from HQ.

HQ knows no station's time zone: times are given with their offset (2026-11-24T09:30+08:00).
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from edge.cli import arguments
from edge.cli.hq_commands import in_hq_transaction
from edge.cli.main import CliUsageError
from edge.cli.output import emit_json, table
from edge.cli.sync_commands import fail
from edge.errors import RuleViolation
from sync.errors import SyncError


def register_hq(hq_sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `book` and `lease ...` under `station-edge hq`."""
    q = hq_sub.add_parser("book", parents=[parent], help="book cells of a station for an app customer")
    q.add_argument("station", help="station id")
    where = q.add_mutually_exclusive_group(required=True)
    where.add_argument("--bay", help="bay id at the station (work one bay does)")
    where.add_argument("--leg", type=_leg, action="append", metavar="BAY,START,CELLS",
                       help="one leg of work over several bays, in order (repeat per leg): bay id, first cell "
                            "with its offset, how many cells; the station checks them against its catalogue")
    q.add_argument("--start", type=arguments.instant, help="with --bay: first cell, with its offset")
    q.add_argument("--cells", type=arguments.positive, default=1,
                   help="with --bay: how many consecutive cells (default 1)")
    q.add_argument("--services", type=arguments.codes, required=True, help="service or package codes, comma-separated")
    q.add_argument("--plate", required=True, help="the customer's plate")
    q.add_argument("--notes", default="", help="notes for the station")
    q.set_defaults(handler=hq_book)

    p = hq_sub.add_parser("lease", help="who owns a station's cells: the split, and leases that move them")
    lease_sub = p.add_subparsers(dest="lease_command", required=True, metavar="ACTION")
    q = lease_sub.add_parser("configure", parents=[parent], help="the station's split (as its [escrow] section)")
    q.add_argument("station", help="station id")
    q.add_argument("--hq-share", type=_share, required=True, help="HQ's share of the cells, 0.0-1.0")
    q.add_argument("--block-minutes", type=arguments.positive, default=120, help="length of HQ's runs (default 120)")
    q.add_argument("--slot-minutes", type=int, choices=(30, 60), default=30, help="the station's slot (default 30)")
    q.add_argument("--near-term-hours", type=arguments.positive, default=4,
                   help="`lease grant --next-hours` default (default 4)")
    q.set_defaults(handler=hq_lease_configure)

    for action, text in (("grant", "hand HQ's unsold cells to the station"),
                         ("revoke", "ask the station for its unbooked cells back")):
        q = lease_sub.add_parser(action, parents=[parent], help=text)
        q.add_argument("station", help="station id")
        q.add_argument("--bay", action="append", required=True, help="bay id (repeatable with --next-hours)")
        q.add_argument("--start", type=arguments.instant, help="first cell, with its offset")
        q.add_argument("--end", type=arguments.instant, help="end of the range (exclusive), with its offset")
        if action == "grant":
            q.add_argument("--near-term", action="store_true",
                           help="instead of --start/--end: the cells of the next near-term hours (hq lease configure)")
            q.add_argument("--next-hours", type=arguments.positive, help="with --near-term: this many hours instead")
        q.set_defaults(handler=hq_lease_grant if action == "grant" else hq_lease_revoke)


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a share from 0.0 to 1.0")
    return value


def _leg(text: str) -> tuple[str, datetime, int]:
    """'L1,2026-11-24T09:30+08:00,2': a leg's bay, first cell and number of cells."""
    parts = [part.strip() for part in text.split(",")]
    if len(parts) != 3 or not parts[0]:
        raise argparse.ArgumentTypeError(f"{text!r} is not BAY,START,CELLS (e.g. L1,2026-11-24T09:30+08:00,2)")
    return parts[0], arguments.instant(parts[1]), arguments.positive(parts[2])


def _aware(value: datetime | None, name: str) -> datetime:
    if value is None:
        raise CliUsageError(f"{name} is required")
    if value.tzinfo is None:
        raise CliUsageError(f"{name} {value.isoformat()} needs its offset (e.g. +08:00): HQ knows no station's "
                            "time zone")
    return value.astimezone(UTC)


def _run(args: argparse.Namespace, work: Any) -> Any:
    """`work(session, now)` in one HQ transaction; an escrow refusal is a refused rule (exit 6)."""
    from sync.hq.escrow import EscrowRefused

    try:
        return in_hq_transaction(args, work)
    except EscrowRefused as err:
        raise RuleViolation(str(err)) from err


def hq_book(args: argparse.Namespace) -> int:
    from sync.hq.escrow import AppLeg, book_app

    if args.leg:
        if args.start is not None:
            raise CliUsageError("--start goes with --bay; each --leg names its own start")
        legs = [AppLeg(bay, _aware(start, "--leg"), cells) for bay, start, cells in args.leg]
    else:
        legs = [AppLeg(args.bay, _aware(args.start, "--start"), args.cells)]
    try:
        booking = _run(args, lambda session, now: book_app(
            session, args.station, legs=legs, services=args.services, plate=args.plate, notes=args.notes, now=now))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json(booking)
    else:
        note = "" if booking["state"] == "confirmed" else " (the station owns some cells: it decides)"
        where = "; ".join(f"bay {leg['bay_id']} {', '.join(leg['cells'])}" for leg in booking["legs"])
        print(f"app booking {booking['booking_id']} {booking['state']}{note}: {where}")
    return 0


def hq_lease_configure(args: argparse.Namespace) -> int:
    from sync.hq.escrow import configure_station

    if args.block_minutes % args.slot_minutes:
        raise CliUsageError(f"--block-minutes {args.block_minutes} is not a whole number of "
                            f"{args.slot_minutes}-minute slots")
    try:
        split = _run(args, lambda session, now: configure_station(
            session, args.station, hq_share=args.hq_share, block_minutes=args.block_minutes,
            slot_minutes=args.slot_minutes, near_term_hours=args.near_term_hours, now=now))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"station": args.station, "split": split.rule.fingerprint(), "slot_minutes": split.slot_minutes,
                   "near_term_hours": split.near_term_hours})
    else:
        print(f"{args.station}: HQ's share {split.rule.fingerprint()}, {split.slot_minutes}-minute slots")
    return 0


def hq_lease_grant(args: argparse.Namespace) -> int:
    from sync.hq.escrow import grant_lease, grant_near_term

    if args.near_term or args.next_hours is not None:
        if args.start is not None or args.end is not None:
            raise CliUsageError("give either --near-term or --start and --end")

        def work(session: Any, now: datetime) -> list[dict[str, Any]]:
            return grant_near_term(session, args.station, bay_ids=args.bay, now=now, hours=args.next_hours)
    else:
        work = _ranged(args, grant_lease)
    return _leases(args, work)


def hq_lease_revoke(args: argparse.Namespace) -> int:
    from sync.hq.escrow import revoke_lease

    return _leases(args, _ranged(args, revoke_lease))


def _ranged(args: argparse.Namespace, lease: Any) -> Any:
    start, end = _aware(args.start, "--start"), _aware(args.end, "--end")
    if end <= start:
        raise CliUsageError("--end must be after --start")
    if len(args.bay) != 1:
        raise CliUsageError("a lease over --start/--end names one --bay")
    return lambda session, now: [lease(session, args.station, bay_id=args.bay[0], start=start,
                                       end=end, now=now)]


def _leases(args: argparse.Namespace, work: Any) -> int:
    try:
        leases = _run(args, work)
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json(leases)
    elif not leases:
        print("no cell to lease")
    else:
        print(table(("lease", "kind", "token", "bay", "cells"),
                    [(x["lease_id"], x["kind"], x["token"], x["bay_id"], f"{x['cells'][0]} +{len(x['cells']) - 1}")
                     for x in leases]))
    return 0
