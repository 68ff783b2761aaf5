"""`station-edge hq staff set|push` and `hq audit verify`: HQ's staff accounts for its stations, and a
station's audit trail checked at HQ."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from edge.cli.hq_commands import in_hq_transaction
from edge.cli.output import emit_json, table
from edge.cli.sync_commands import fail
from edge.config import StaffSettings
from edge.errors import InvalidInput
from sync.errors import SyncError

EXIT_CHAIN_BROKEN = 9


def register_hq(hq_sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `staff set`, `staff push` and `audit verify` under `station-edge hq`."""
    p = hq_sub.add_parser("staff", help="staff accounts HQ keeps and sends to its stations")
    staff_sub = p.add_subparsers(dest="staff_command", required=True, metavar="ACTION")
    q = staff_sub.add_parser("set", parents=[parent], help="replace a station's (or the chain's) accounts")
    q.add_argument("--station", required=True, help="station id, or * for accounts every station gets")
    q.add_argument("--file", type=Path, required=True,
                   help="TOML with [[staff]] tables as in the station config (id, name, role, card_id, pin_hash)")
    q.set_defaults(handler=hq_staff_set)
    q = staff_sub.add_parser("push", parents=[parent], help="send a station its accounts (the chain's and its own)")
    q.add_argument("--station", action="append", required=True, help="station id (repeatable)")
    q.set_defaults(handler=hq_staff_push)

    p = hq_sub.add_parser("audit", help="stations' audit trails as HQ holds them")
    audit_sub = p.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    q = audit_sub.add_parser("verify", parents=[parent], help="check a station's hash chain (exit 9 if broken)")
    q.add_argument("--station", required=True, help="station id")
    q.set_defaults(handler=hq_audit_verify)


def _accounts(path: Path) -> list[dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return [StaffSettings.model_validate(item).model_dump() for item in data.get("staff", [])]
    except OSError as err:
        raise InvalidInput("file", f"{path}: {err.strerror or err}") from None
    except (tomllib.TOMLDecodeError, ValidationError, TypeError) as err:
        raise InvalidInput("file", f"{path}: not [[staff]] tables with id, name, role and pin_hash: {err}") from None


def hq_staff_set(args: argparse.Namespace) -> int:
    from sync.hq.audit import set_staff

    accounts = _accounts(args.file)
    try:
        in_hq_transaction(args, lambda session, now: set_staff(session, args.station, accounts, now))
    except SyncError as err:
        return fail(err)
    emit_json({"station": args.station, "accounts": len(accounts)}) if args.json else print(
        f"{len(accounts)} staff account(s) kept for {args.station}: `hq staff push` sends them")
    return 0


def hq_staff_push(args: argparse.Namespace) -> int:
    from sync.hq.audit import push_staff

    try:
        seqs = in_hq_transaction(args, lambda session, now: {sid: push_staff(session, sid, now)
                                                              for sid in args.station})
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"stations": seqs})
    else:
        print(table(("station", "downlink seq"), sorted(seqs.items())))
    return 0


def hq_audit_verify(args: argparse.Namespace) -> int:
    from sync.hq.audit import verify_station

    try:
        count, broken = in_hq_transaction(args, lambda session, now: verify_station(session, args.station))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"station": args.station, "entries": count,
                   "broken_at": broken.seq if broken else None, "problem": broken.problem if broken else None})
    elif broken:
        print(f"{args.station}: hash chain broken at seq {broken.seq}: {broken.problem} ({count} held)")
    else:
        print(f"{args.station}: hash chain verified, {count} held")
    return EXIT_CHAIN_BROKEN if broken else 0
