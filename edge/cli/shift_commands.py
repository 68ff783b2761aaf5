"""`station-edge shift ...`: open the terminal's shift with its float, cash in and out, the X report,
the counted close (Z report), and the shifts of a day."""

from __future__ import annotations

import argparse

from edge.cli import arguments
from edge.cli.output import emit_json, table
from edge.domain.money import parse_money
from edge.domain.shifts import DENOMINATIONS, ShiftReport, parse_count
from edge.errors import InvalidInput
from edge.services import shifts
from edge.services.shifts import ShiftView
from edge.services.station import Station, open_station


def register(top: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `shift` and its actions to the station-edge parser."""
    group = top.add_parser("shift", help="the terminal's shift and cash drawer: open, cash in/out, X report, close")
    sub = group.add_subparsers(dest="shift_command", required=True, metavar="ACTION")

    p = sub.add_parser("open", parents=[common], help="open a shift on this terminal with the counted float")
    p.add_argument("--float", dest="float_amount", type=arguments.amount,
                   help="cash counted into the drawer, e.g. 200.00 (default: the last close's counted cash, or 0)")
    p.set_defaults(handler=shift_open)

    for direction in ("in", "out"):
        p = sub.add_parser(f"cash-{direction}", parents=[common],
                           help="put cash into the drawer" if direction == "in" else "take cash out of the drawer")
        p.add_argument("amount", type=arguments.amount, help="e.g. 100.00")
        p.add_argument("--reason", required=True, help="why, e.g. 'change from the safe' or 'banked'")
        p.set_defaults(handler=shift_cash, direction=direction)

    p = sub.add_parser("x", parents=[common], help="the X report: the open shift's figures so far (changes nothing)")
    p.set_defaults(handler=shift_x)

    p = sub.add_parser("close", parents=[common], help="close the shift with the counted cash: the Z report")
    counted = p.add_mutually_exclusive_group(required=True)
    counted.add_argument("--counted", type=arguments.amount, help="the cash counted in the drawer, e.g. 1234.50")
    counted.add_argument("--count", action="append", metavar="NOTE=COUNT",
                         help=f"how many of a note or coin were counted (repeatable), NOTE one of "
                         f"{', '.join(DENOMINATIONS)}; e.g. --count 100=3 --count 0.5=4")
    p.add_argument("--note", default="", help="a remark kept with the close, e.g. why cash is short")
    p.set_defaults(handler=shift_close)

    p = sub.add_parser("list", parents=[common], help="the shifts of every terminal opened on a day")
    p.add_argument("--date", type=arguments.day, help="local date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=shift_list)

    p = sub.add_parser("show", parents=[common], help="a shift's report (Z when closed, X when still open)")
    p.add_argument("shift_id", metavar="ID", help="shift id")
    p.set_defaults(handler=shift_show)


def _minor(station: Station, text: str, field: str) -> int:
    return parse_money(text, station.settings.station.currency_minor_digits, field=field)


def shift_open(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    float_minor = None if args.float_amount is None else _minor(station, args.float_amount, "float")
    view = shifts.open_shift(station, float_minor=float_minor)
    if args.json:
        emit_json(view.to_json())
        return
    print(f"shift {view.id} open on terminal {view.terminal}: float {station.money(view.float_minor)}")


def shift_cash(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    view = shifts.cash_movement(station, direction=args.direction, amount_minor=_minor(station, args.amount, "amount"),
                                reason=args.reason)
    if args.json:
        emit_json(view.to_json())
        return
    verb = "into" if args.direction == "in" else "out of"
    print(f"{station.money(_minor(station, args.amount, 'amount'))} {verb} the drawer ({args.reason}); "
          f"expected cash now {station.money(view.expected_minor)}")


def shift_x(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print_report(args, station, shifts.x_report(station))


def shift_close(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    if args.count:
        denominations: dict[str, int] = {}
        for spec in args.count:
            key, count = parse_count(spec)
            if key in denominations:
                raise InvalidInput("count", f"{key} is counted twice")
            denominations[key] = count
        report = shifts.close_shift(station, denominations=denominations, note=args.note)
    else:
        report = shifts.close_shift(station, counted_minor=_minor(station, args.counted, "counted"), note=args.note)
    _print_report(args, station, report)


def shift_list(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    views = shifts.list_shifts(station, day=args.date)
    if args.json:
        emit_json([v.to_json() for v in views])
        return
    print(table(("shift", "terminal", "opened", "closed", "expected", "variance"),
                [_list_row(station, v) for v in views]))


def _list_row(station: Station, view: ShiftView) -> tuple[str, ...]:
    """A shift on one line of an 80-column terminal: amounts in the currency's major unit."""
    def amount(minor: int | None) -> str:
        return "" if minor is None else station.money(minor).split(" ")[0]

    return (view.id, view.terminal, f"{station.local(view.opened_at):%H:%M}",
            f"{station.local(view.closed_at):%H:%M}" if view.closed_at else "open",
            amount(view.expected_minor), amount(view.variance_minor))


def shift_show(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    _print_report(args, station, shifts.shift_report(station, args.shift_id))


def _print_report(args: argparse.Namespace, station: Station, report: ShiftReport) -> None:
    if args.json:
        emit_json(report.to_json())
        return
    print(report_text(station, report))


def report_text(station: Station, report: ShiftReport) -> str:
    """The X or Z report as lines of text: totals, then money by method, then the drawer."""
    title = "Z report (shift closed)" if report.final else "X report (shift open)"
    opened = f"{station.local(report.opened_at):%Y-%m-%d %H:%M} by {report.opened_by}"
    lines = [f"{title}  shift {report.shift_id}  terminal {report.terminal}",
             f"opened {opened}; figures at {station.local(report.at):%Y-%m-%d %H:%M}"
             + (f" (closed by {report.closed_by})" if report.final else "")]
    rows: list[tuple[str, str, str]] = []
    for label, by_method in (("sales", report.sales_by_method), ("refunds", report.refunds_by_method),
                             ("top-ups", report.top_ups_by_method), ("deposits", report.deposits_by_method)):
        rows.append((label, "", station.money(sum(by_method.values()))))
        rows.extend(("", method, station.money(amount)) for method, amount in sorted(by_method.items()))
    rows += [("cash in", "", station.money(report.cash_in_minor)),
             ("cash out", "", station.money(report.cash_out_minor)),
             ("float", "", station.money(report.float_minor)),
             ("expected cash", "", station.money(report.expected_minor))]
    if report.final:
        rows += [("counted cash", "", station.money(report.counted_minor or 0)),
                 ("variance", "", station.money(report.variance_minor or 0))]
    lines.append(table(("", "method", "amount"), rows))
    if report.denominations:
        lines.append("counted: " + ", ".join(f"{key}×{count}" for key, count in report.denominations.items()))
    if report.note:
        lines.append(f"note: {report.note}")
    lines.append(f"{report.transactions} ledger transactions")
    return "\n".join(lines)
