"""`station-edge staff ...` (accounts, PIN hashes) and `station-edge audit` (the audit trail, filtered)."""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, time, timedelta

from edge.cli import arguments
from edge.cli.output import emit_json, table
from edge.cli.session import open_station
from edge.domain.pins import hash_pin
from edge.errors import InvalidInput
from edge.services import audit, staff


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `staff` and `audit` to the station-edge parser."""
    group = sub.add_parser("staff", help="staff accounts and PIN hashes")
    staff_sub = group.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    p = staff_sub.add_parser("list", parents=[common], help="active staff accounts: id, name, role, card")
    p.set_defaults(handler=staff_list)
    p = staff_sub.add_parser("hash-pin", parents=[common],
                             help="read a PIN (twice at a terminal, once from stdin) and print its hash for the config")
    p.set_defaults(handler=staff_hash_pin, needs_station=False)

    p = sub.add_parser("audit", parents=[common], help="the audit trail: who did what, when, authorised by whom",
                       description="Newest entries first; every filter given must match.")
    p.add_argument("--since", type=arguments.day, help="from this local date (YYYY-MM-DD)")
    p.add_argument("--until", type=arguments.day, help="up to and including this local date")
    p.add_argument("--actor", help="staff id or name (who acted or authorised)")
    p.add_argument("--action", help="an action (refund, staff.sign_in) or its family (staff, stock)")
    p.add_argument("--entity", help="an entity kind (booking, member, material, ledger) or KIND:ID")
    p.add_argument("--limit", type=int, default=50, help="at most this many entries (default 50)")
    p.set_defaults(handler=audit_list)


def staff_list(args: argparse.Namespace) -> None:
    accounts = staff.list_staff(open_station(args.data_dir))
    if args.json:
        emit_json([a.to_json() for a in accounts])
        return
    print(table(("id", "name", "role", "card"), [(a.id, a.name, a.role, a.card_id or "") for a in accounts]))


def staff_hash_pin(args: argparse.Namespace) -> None:
    if sys.stdin.isatty():
        pin = getpass.getpass("PIN: ")
        if getpass.getpass("PIN again: ") != pin:
            raise InvalidInput("pin", "the two PINs differ")
    else:
        pin = sys.stdin.readline().strip()
    print(hash_pin(pin))


def audit_list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)

    def local_midnight(day) -> datetime:
        return datetime.combine(day, time(0), tzinfo=station.tz)

    if args.limit < 1:
        raise InvalidInput("limit", "give at least 1")
    found = audit.entries(
        station,
        since=local_midnight(args.since) if args.since else None,
        until=local_midnight(args.until + timedelta(days=1)) if args.until else None,
        actor=args.actor, action=args.action, entity=args.entity, limit=args.limit,
    )
    if args.json:
        emit_json([e.to_json() for e in found])
        return
    print(table(("seq", "at", "who", "terminal", "action", "entity", "authorised", "after"),
                [(e.seq, f"{station.local(datetime.fromisoformat(e.at)):%m-%d %H:%M:%S}", e.actor_name, e.terminal,
                  e.action, f"{e.entity}:{e.entity_id}"[:30], e.authorised_by or "", _short(e.after))
                 for e in found]))


def _short(value: object) -> str:
    if not isinstance(value, dict):
        return "" if value is None else str(value)
    text = " ".join(f"{k}={v}" for k, v in value.items() if not isinstance(v, (list, dict)))
    return text[:40]
