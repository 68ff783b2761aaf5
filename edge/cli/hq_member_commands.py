"""`station-edge hq member show|snapshot`: a member's balances as HQ holds them, and sending them
to stations again."""

from __future__ import annotations

import argparse
from typing import Any

from edge.cli.hq_commands import in_hq_transaction
from edge.cli.output import emit_json, table
from edge.cli.sync_commands import fail
from edge.errors import NotFound
from sync.errors import SyncError


def register_hq(hq_sub: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    """Add `member show` and `member snapshot` under `station-edge hq`."""
    p = hq_sub.add_parser("member", help="members' points and prepaid balances as HQ holds them")
    member_sub = p.add_subparsers(dest="member_command", required=True, metavar="ACTION")
    q = member_sub.add_parser("show", parents=[parent], help="a member's profile, balances and stations")
    q.add_argument("member", metavar="PHONE_OR_ID", help="the member's phone number or id")
    q.set_defaults(handler=hq_member_show)
    q = member_sub.add_parser("snapshot", parents=[parent], help="send the member's balances to stations again")
    q.add_argument("member", metavar="PHONE_OR_ID", help="the member's phone number or id")
    q.add_argument("--station", help="only this station (which then keeps getting them); default: every station "
                                     "that knows the member")
    q.set_defaults(handler=hq_member_snapshot)


def _run(args: argparse.Namespace, work: Any) -> Any:
    """`work(session, now)` in one HQ transaction; an unknown member is not found (exit 4)."""
    from sync.hq.members import MemberNotFound

    try:
        return in_hq_transaction(args, work)
    except MemberNotFound as err:
        raise NotFound(str(err)) from err


def hq_member_show(args: argparse.Namespace) -> int:
    from sync.hq.members import find_member

    try:
        member = _run(args, lambda session, now: find_member(session, args.member))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json(member.to_json())
        return 0
    print(table(("member", "phone", "name", "tier", "points", "prepaid", "version", "stations"),
                [(member.member_id, member.phone, member.name or "-", member.tier or "-", member.points,
                  f"{member.prepaid_minor / 100:.2f}", member.version, ", ".join(member.stations) or "-")]))
    return 0


def hq_member_snapshot(args: argparse.Namespace) -> int:
    from sync.hq.members import resend_snapshot

    try:
        sent = _run(args, lambda session, now: resend_snapshot(session, args.member, now, args.station))
    except SyncError as err:
        return fail(err)
    if args.json:
        emit_json({"member": args.member, "queued": sent})
    elif not sent:
        print("no station knows this member: give --station")
    else:
        print(table(("station", "downlink seq"), sorted(sent.items())))
    return 0
