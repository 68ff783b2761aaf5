"""`station-edge vehicle ...`: a car's size class (an SUV's wash takes longer and costs more)."""

from __future__ import annotations

import argparse

from edge.cli import arguments
from edge.cli.output import emit_json, table
from edge.services import members
from edge.cli.session import open_station


def register(top: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `vehicle` and its actions to the station-edge parser."""
    group = top.add_parser("vehicle", help="a car's size class, which its bookings' durations and prices follow")
    sub = group.add_subparsers(dest="vehicle_command", required=True, metavar="ACTION")

    p = sub.add_parser("size", parents=[common], help="set a car's size class ([booking] size_classes)")
    p.add_argument("plate", help="licence plate (mainland format unless --foreign)")
    p.add_argument("size", help="one of the station's size classes, e.g. suv")
    p.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
    p.set_defaults(handler=vehicle_size)


def vehicle_size(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    sized = members.set_vehicle_size(station, plate=args.plate, size_class=args.size, foreign_plate=args.foreign)
    if args.json:
        emit_json(sized.to_json())
        return
    print(table(("plate", "size", "member"), [(sized.plate, sized.size_class, sized.member_id or "-")]))
