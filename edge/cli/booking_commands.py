"""`station-edge booking ...`: free starts, booking, holds, the booking's life at the counter, the waitlist."""

from __future__ import annotations

import argparse

from edge.cli import arguments, commands
from edge.domain.booking_state import Progress
from edge.services import bookings, deposits


def register(top: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `booking` and its actions to the station-edge parser."""
    group = top.add_parser("booking", help="free starts, book, hold, check in, progress, complete, cancel, waitlist")
    sub = group.add_subparsers(dest="booking_command", required=True, metavar="ACTION")

    p = sub.add_parser("slots", parents=[common], help="free starts for services on a day")
    p.add_argument("--date", type=arguments.day, required=True, help="local date, YYYY-MM-DD")
    p.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
    p.add_argument("--bay", help="only this bay")
    p.add_argument("--tier", help="only starts this member tier may book")
    p.add_argument("--phone", help="only starts this customer may book (their tier and credit)")
    p.add_argument("--plate", help="only starts this car's member may book (when no --phone), for this car's size")
    p.add_argument("--size", help="for a car of this size class (default: the --plate's stored class)")
    p.add_argument("--hold", action="store_true", help="only starts the customer (or tier) may hold")
    p.add_argument("--channel", default="terminal", choices=bookings.CHANNELS,
                   help="only starts this channel may book (phone and app: not the walk-in reserve); %(choices)s")
    p.set_defaults(handler=commands.slots)

    for name, hold in (("book", False), ("hold", True)):
        p = sub.add_parser(name, parents=[common],
                           help="hold a slot for a limited time" if hold else "book and confirm a slot")
        p.add_argument("--start", type=arguments.instant, required=True, help="start, ISO 8601 (no offset = local time)")
        p.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
        p.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
        p.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
        p.add_argument("--bay", help="bay id (default: the first free bay that can do the services)")
        p.add_argument("--technician", help="technician id or name the customer asks for")
        p.add_argument("--size", help="the car's size class, stored on the car (default: its stored class)")
        p.add_argument("--phone", help="customer phone; registers a member if new")
        p.add_argument("--member", help="member id")
        p.add_argument("--channel", default="terminal", choices=bookings.CHANNELS, help="%(choices)s")
        p.add_argument("--notes", default="", help="free text for the technician")
        p.add_argument("--deposit", default="0", type=arguments.amount,
                       help="deposit taken now, e.g. 50.00 (asked of low-credit members)")
        p.add_argument("--deposit-method", default="wechat_pay", choices=deposits.DEPOSIT_METHODS,
                       help="how the deposit is paid: %(choices)s (cash needs an open shift)")
        p.set_defaults(handler=commands.book, hold=hold)

    for name, handler, text in (
        ("confirm", commands.confirm, "confirm a held booking"),
        ("complete", commands.complete, "mark the service done"),
        ("no-show", commands.no_show, "the customer did not come: release the slot"),
        ("show", commands.show, "show one booking"),
        ("token", commands.token, "the signed QR token of a booking (printed or sent by SMS)"),
    ):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("booking", help="booking id or code")
        p.set_defaults(handler=handler)

    p = sub.add_parser("cancel", parents=[common], help="cancel a booking and free its slot")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--reason", default="", help="why (kept with the booking)")
    p.set_defaults(handler=commands.cancel)

    p = sub.add_parser("reschedule", parents=[common], help="move a booking; keeps the old slot if the new one fails")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--start", type=arguments.instant, required=True, help="new start, ISO 8601 (no offset = local time)")
    p.add_argument("--bay", help="new bay (default: same bay, else any able bay)")
    p.add_argument("--technician", help="technician id or name (default: who is free)")
    p.set_defaults(handler=commands.reschedule)

    p = sub.add_parser("reassign", parents=[common], help="give a leg of a booking to another technician")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--technician", required=True, help="technician id or name")
    p.add_argument("--leg", type=arguments.positive, help="leg number, 1 = the first (default: the car's current leg)")
    p.set_defaults(handler=commands.reassign)

    from edge.cli import found_work_commands  # add-work, approve-work, refuse-work

    found_work_commands.register(sub, common)

    p = sub.add_parser("checkin", parents=[common], help="check a car in by booking or plate")
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--booking", help="booking id or code")
    group.add_argument("--plate", help="licence plate: today's booking for it")
    p.set_defaults(handler=commands.checkin)

    p = sub.add_parser("progress", parents=[common], help="move the service progress stage")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("stage", choices=[str(stage) for stage in Progress], help="%(choices)s")
    p.set_defaults(handler=commands.progress)

    p = sub.add_parser("expire", parents=[common], help="expire lapsed holds now (the daemon does this on a timer)")
    p.set_defaults(handler=commands.expire)

    p = sub.add_parser("list", parents=[common], help="bookings of a day")
    p.add_argument("--date", type=arguments.day, help="local date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=commands.bookings_of_day)

    p = sub.add_parser("waitlist", help="the waitlist for full days (list, join, cancel)")
    wl_sub = p.add_subparsers(dest="waitlist_command", metavar="ACTION")
    p.set_defaults(handler=commands.waitlist_list, date=None)
    q = wl_sub.add_parser("list", parents=[common], help="entries (of a day)")
    q.add_argument("--date", type=arguments.day, help="local date, YYYY-MM-DD")
    q.set_defaults(handler=commands.waitlist_list)
    q = wl_sub.add_parser("join", parents=[common], help="wait for a slot on a full day")
    q.add_argument("--date", type=arguments.day, required=True, help="local date, YYYY-MM-DD")
    q.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
    q.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
    q.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
    q.add_argument("--phone", help="customer phone")
    q.add_argument("--earliest", type=arguments.clock_time, help="earliest start, HH:MM local")
    q.add_argument("--latest", type=arguments.clock_time, help="latest end, HH:MM local")
    q.set_defaults(handler=commands.waitlist_join)
    q = wl_sub.add_parser("cancel", parents=[common], help="take an entry off the waitlist")
    q.add_argument("entry", help="waitlist entry id")
    q.set_defaults(handler=commands.waitlist_cancel)
