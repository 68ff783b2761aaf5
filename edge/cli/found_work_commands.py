"""`station-edge booking add-work | approve-work | refuse-work`: work found during service."""

from __future__ import annotations

import argparse

from edge.cli import arguments
from edge.cli.output import emit_json, table
from edge.services import bookings, found_work
from edge.services.found_work import FoundWork
from edge.services.station import Station
from edge.cli.session import open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the added-work actions under `station-edge booking`."""
    p = sub.add_parser("add-work", parents=[common], help="add work found during service to a booking in progress")
    p.add_argument("booking", help="booking id or code")
    p.add_argument("--services", type=arguments.codes, required=True, help="service codes, comma-separated")
    p.add_argument("--customer-present", action="store_true",
                   help="the customer agreed at the counter: approved at once (else it waits for their answer)")
    p.add_argument("--by", default="desk", choices=("desk", "technician"), help="who found it: %(choices)s")
    p.set_defaults(handler=add_work)
    for name, handler, text in (("approve-work", approve_work, "the customer agrees to the added work"),
                                ("refuse-work", refuse_work,
                                 "the customer declines the added work: its cells go back")):
        p = sub.add_parser(name, parents=[common], help=text)
        p.add_argument("booking", help="booking id or code")
        p.add_argument("--services", type=arguments.codes, help="only these services (default: all awaiting an answer)")
        p.set_defaults(handler=handler)


def add_work(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    added = found_work.add_work(station, args.booking, args.services, customer_present=args.customer_present,
                                by=args.by)
    _print(args, station, added)


def approve_work(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print(args, station, found_work.approve(station, args.booking, args.services))


def refuse_work(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print(args, station, found_work.refuse(station, args.booking, args.services))


def _print(args: argparse.Namespace, station: Station, work: list[FoundWork]) -> None:
    if args.json:
        emit_json([each.to_json() for each in work])
        return
    print(work_table(station, work))


def work_table(station: Station, work: list[FoundWork]) -> str:
    """Added work: the service, its answer, where its cells are, when, its price, until when it waits."""
    return table(("added", "state", "where", "from", "price", "answer by"), [
        (each.service_code, each.state, _where(station, each),
         f"{station.local(each.cells[0]):%m-%d %H:%M}" if each.cells else "",
         station.money(each.price_minor),
         f"{station.local(each.hold_until):%H:%M}" if each.hold_until else (each.decided_by or ""))
        for each in work
    ])


def _where(station: Station, work: FoundWork) -> str:
    if work.follow_up_booking_id is not None:
        follow = bookings.booking(station, work.follow_up_booking_id)
        return f"booking {follow.code} {station.local(follow.start_at):%m-%d %H:%M} {follow.bay_id}"
    return f"{work.bay_id} ({'same leg' if work.placement == 'extended' else 'new leg'})"
