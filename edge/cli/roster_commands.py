"""`station-edge roster ...`: a technician's leave, sick day, extra shift or holiday hours on a date."""

from __future__ import annotations

import argparse
from datetime import date

from edge.cli import arguments, session
from edge.cli.output import emit_json, table
from edge.domain.roster import ExceptionKind, Ranges, RosterException, clock_text, parse_clock
from edge.services import roster
from edge.services.booking_store import BookingRecord
from edge.services.station import Station
from edge.cli.session import open_station

_KINDS = [str(kind) for kind in ExceptionKind]


def register(top: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `roster` and its actions to the station-edge parser."""
    group = top.add_parser("roster", help="roster exceptions: leave, sick days, extra shifts, holiday hours")
    sub = group.add_subparsers(dest="roster_command", required=True, metavar="ACTION")

    p = sub.add_parser("set", parents=[common], help="give a technician an exception on a date (replaces theirs)")
    p.add_argument("technician", help="technician id or name")
    p.add_argument("--date", type=arguments.day, required=True, help="local date, YYYY-MM-DD")
    p.add_argument("--kind", required=True, choices=_KINDS,
                   help="leave/sick: the day off; extra: a shift added; hours: the day's shifts replaced")
    p.add_argument("--from", dest="start", metavar="HH:MM", help="HH:MM, for extra and hours")
    p.add_argument("--to", dest="end", metavar="HH:MM", help="HH:MM (24:00 for midnight), for extra and hours")
    p.add_argument("--note", default="", help="why, e.g. 'annual leave'")
    p.set_defaults(handler=roster_set)

    p = sub.add_parser("remove", parents=[common], help="take a technician's exception on a date away")
    p.add_argument("technician", help="technician id or name")
    p.add_argument("--date", type=arguments.day, required=True, help="local date, YYYY-MM-DD")
    p.set_defaults(handler=roster_remove)

    p = sub.add_parser("list", parents=[common], help="exceptions from today on (or of one date)")
    p.add_argument("--date", type=arguments.day, help="only this local date")
    p.add_argument("--technician", help="only this technician (id or name)")
    p.set_defaults(handler=roster_list)

    p = sub.add_parser("show", parents=[common], help="a technician's shifts on a date, the exception applied")
    p.add_argument("technician", help="technician id or name")
    p.add_argument("--date", type=arguments.day, help="local date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=roster_show)


def roster_set(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    change = roster.set_exception(
        station, args.technician, day=args.date, kind=args.kind,
        start_minute=None if args.start is None else parse_clock(args.start, "from"),
        end_minute=None if args.end is None else parse_clock(args.end, "to"), note=args.note,
        manager=session.manager(station),
    )
    _changed(args, station, change, "set")


def roster_remove(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _changed(args, station, roster.remove_exception(station, args.technician, day=args.date,
                                                                manager=session.manager(station)), "removed")


def roster_list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    since = None if args.date else station.local(station.clock()).date()
    found = roster.exceptions(station, day=args.date, technician=args.technician, since=since)
    if args.json:
        emit_json([e.to_json() for e in found])
        return
    if not found:
        print(f"no roster exception {'on ' + args.date.isoformat() if args.date else 'from today on'}")
        return
    names = {t.id: t.name for t in station.catalog().technicians.values()}
    print(table(("date", "tech", "name", "kind", "hours", "note"),
                [(e.day.isoformat(), e.technician_id, names.get(e.technician_id, ""), e.kind, e.hours_text(), e.note)
                 for e in found]))


def roster_show(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    day = roster.roster_day(station, args.technician, args.date or station.local(station.clock()).date())
    if args.json:
        emit_json(day.to_json())
        return
    print(f"{day.technician.name} ({day.technician.id}) on {day.day} ({day.day:%a}): {_ranges_text(day.ranges)}")
    print(f"weekly roster: {_ranges_text(day.weekly)}")
    if day.exception is not None:
        print(f"exception: {_describe(day.exception)}")


def _changed(args: argparse.Namespace, station: Station, change: roster.RosterChange, verb: str) -> None:
    if args.json:
        emit_json(change.to_json())
        return
    e = change.exception
    print(f"{verb} {e.technician_id} {e.day}: {_describe(e)}")
    _print_affected(station, e.technician_id, e.day, change.affected)


def _print_affected(station: Station, technician_id: str, day: date, affected: tuple[BookingRecord, ...]) -> None:
    if not affected:
        print(f"no booking of {technician_id} on {day} is outside the shifts")
        return
    print(f"{len(affected)} booking(s) of {technician_id} on {day} now outside the shifts: reassign them "
          "(`booking reschedule`, or `service disruptions --technician` to offer the customers a choice)")
    print(table(("code", "start", "end", "bay", "plate", "state"),
                [(b.code, f"{station.local(b.start_at):%H:%M}", f"{station.local(b.end_at):%H:%M}", b.bay_id,
                  b.plate, b.state) for b in affected]))


def _ranges_text(ranges: Ranges) -> str:
    """Local wall-clock ranges as the config writes them (a shift to midnight ends 24:00)."""
    return " ".join(f"{clock_text(start)}-{clock_text(end)}" for start, end in ranges) or "off"


def _describe(exception: RosterException) -> str:
    hours = f" {exception.hours_text()}" if exception.hours_text() else ""
    note = f" ({exception.note})" if exception.note else ""
    return f"{exception.kind}{hours}{note}"
