"""`station-edge member ...`: members and their vehicles, and their loyalty (points, prepaid, coupons, tiers)."""

from __future__ import annotations

import argparse

from edge.cli import arguments, commands, money_commands


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `member` and its actions to the station-edge parser."""
    p = sub.add_parser("member", help="members, their vehicles, points, prepaid balance, coupons and tiers")
    m_sub = p.add_subparsers(dest="member_command", required=True, metavar="ACTION")
    q = m_sub.add_parser("add", parents=[common], help="enrol a member")
    q.add_argument("--phone", required=True, help="mobile number (the member's key)")
    q.add_argument("--name", default="", help="name")
    q.add_argument("--tier", help="tier (default: the guest tier)")
    q.add_argument("--plate", action="append", default=[], help="a vehicle plate (repeatable)")
    q.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
    q.add_argument("--birthday", help="MM-DD: points count double that day")
    q.set_defaults(handler=commands.member_add)
    q = m_sub.add_parser("vehicle", parents=[common], help="link a plate to a member")
    q.add_argument("--phone", required=True, help="the member's phone")
    q.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
    q.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
    q.set_defaults(handler=commands.member_vehicle)
    q = m_sub.add_parser("show", parents=[common], help="a member by phone or plate")
    q.add_argument("key", help="phone number or plate")
    q.set_defaults(handler=commands.member_show)

    money_commands.register_member(m_sub, common)  # balance, points, prepaid, coupon, tiers
