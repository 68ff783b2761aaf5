"""`station-edge report`: station reports as titled tables, JSON, or one CSV file per section."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

from edge.cli import arguments
from edge.cli.main import EXIT_USAGE
from edge.cli.output import emit_json, table
from edge.domain.money import format_money
from edge.domain.reports import PERIOD_KINDS, Kind, Report, period_of
from edge.services.reports import SECTIONS, station_report
from edge.cli.session import open_station


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the reports subcommands to the station-edge parser."""
    p = sub.add_parser("report", parents=[common], help="bookings, no-shows, waits, utilisation, revenue ... of a period",
                       description="Station reports for a local day, a Monday-to-Sunday week or a calendar month.")
    p.add_argument("--period", choices=PERIOD_KINDS, default="day", help="day, week or month (default: day)")
    p.add_argument("--date", type=arguments.day, help="a local date inside the period, YYYY-MM-DD (default: today)")
    p.add_argument("--section", dest="sections", choices=SECTIONS, action="extend", nargs="+", metavar="SECTION",
                   help=f"only these sections ({', '.join(SECTIONS)}; default: all)")
    p.add_argument("--top", type=arguments.positive, default=10, help="rows of top_services (default 10)")
    p.add_argument("--csv", type=Path, metavar="DIR", help="write one CSV file per section into DIR and print the paths")
    p.set_defaults(handler=report)


def report(args: argparse.Namespace) -> int | None:
    station = open_station(args.data_dir)
    day = args.date or station.local(station.clock()).date()
    result = station_report(station, period_of(args.period, day), args.sections or SECTIONS, top=args.top)
    if args.csv is not None:
        try:
            paths = write_csv(result, args.csv)
        except OSError as err:
            # the directory is the user's choice: reported like a bad argument (exit 2)
            print(f"station-edge: error: argument --csv: cannot write to {args.csv}: {err.strerror}", file=sys.stderr)
            return EXIT_USAGE
        if args.json:
            emit_json({section: str(path) for section, path in paths.items()})
        else:
            print("\n".join(str(path) for path in paths.values()))
    elif args.json:
        emit_json(report_json(result))
    else:
        print(render(result))


def report_json(result: Report) -> dict:
    """`station`, `currency`, `period`, then one object per section: title, rows keyed by column name, notes."""
    period = result.period
    document: dict = {
        "station": result.station_id, "currency": result.currency,
        "period": {"kind": period.kind, "label": period.label, "first": period.first.isoformat(),
                   "last": period.last.isoformat()},
    }
    for section in result.sections:
        document[section.key] = {"title": section.title, "rows": section.records(), "notes": list(section.notes)}
    return document


def write_csv(result: Report, directory: Path) -> dict[str, Path]:
    """One UTF-8 file per section, header row of column names, raw values (money in minor units)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for section in result.sections:
        path = directory / f"{section.key}_{result.period.label}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(column.name for column in section.columns)
            writer.writerows(section.rows)
        paths[section.key] = path
    return paths


def render(result: Report) -> str:
    period = result.period
    span = period.first.isoformat() if period.kind == "day" else f"{period.first} .. {period.last}"
    blocks = [f"station {result.station_id} · {period.kind} {period.label} ({span})"]
    for section in result.sections:
        lines = [section.title, table([c.label for c in section.columns],
                                      [[_cell(result, c.kind, v) for c, v in zip(section.columns, row)]
                                       for row in section.rows])]
        lines += [f"  ({note})" for note in section.notes]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _cell(result: Report, kind: Kind, value: object) -> str:
    if value is None:
        return "n/a"
    if kind == Kind.MONEY:
        return format_money(value, result.currency, result.currency_digits)
    if kind == Kind.RATE:
        return f"{value * 100:.1f}%"
    if kind == Kind.MINUTES:
        return f"{value:.1f}"
    if kind == Kind.DURATION:
        return f"{value // 60}:{value % 60:02d}"
    if kind == Kind.RATING:
        return f"{value:.2f}"
    return str(value)
