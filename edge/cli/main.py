"""`station-edge`: argument parsing, exit codes, and one handler per subcommand.

Exit codes (scripts rely on them):
    0  done                       5  slot taken (another booking holds a cell)
    1  unexpected internal error  6  refused by a booking rule (hours, horizon, tier, skills)
    2  bad command-line argument  7  the booking's state does not allow it
    3  bad config file            8  database error
    4  not found (booking, bay, service, member, waitlist entry)
  141  the reader closed the output pipe early (e.g. `| head -1`); nothing is reported
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from edge.config import ConfigError
from edge.errors import EdgeError, InvalidInput, InvalidTransition, NotFound, RuleViolation, SlotTaken, StoreError

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_SLOT_TAKEN, EXIT_RULE, EXIT_STATE, EXIT_STORE = 4, 5, 6, 7, 8
EXIT_PIPE = 141  # as a shell reports a process ended by SIGPIPE: the reader closed the pipe early

_EXIT_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (ConfigError, EXIT_CONFIG, "config_error"),
    (SlotTaken, EXIT_SLOT_TAKEN, "slot_taken"),
    (NotFound, EXIT_NOT_FOUND, "not_found"),
    (RuleViolation, EXIT_RULE, "rule_violation"),
    (InvalidTransition, EXIT_STATE, "invalid_transition"),
    (StoreError, EXIT_STORE, "store_error"),
)

log = logging.getLogger("edge.cli")

# each business area adds its subcommands through register(subparsers, common_parent)
COMMAND_MODULES = (
    "edge.cli.money_commands",
    "edge.cli.enterprise_commands",
    "edge.cli.delivery_commands",
    "edge.cli.inventory_commands",
    "edge.cli.report_commands",
    "edge.cli.tui_commands",
    "edge.cli.doctor_commands",
    "edge.cli.sync_commands",
    "edge.cli.hq_commands",
    "edge.cli.conflict_commands",
    "edge.cli.key_commands",
)


def build_parser() -> argparse.ArgumentParser:
    from edge.cli import arguments, commands
    from edge.domain.booking_state import Progress
    from edge.services import bookings

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog="station-edge",
        description="Offline-first edge node for a car-service station.",
        epilog="Exit codes: 0 ok, 1 internal, 2 usage, 3 config, 4 not found, 5 slot taken, "
        "6 rule refused, 7 state does not allow, 8 database.",
    )
    parser.add_argument("--data-dir", type=Path, help="station data directory (default: $STATION_EDGE_HOME, "
                        "or [paths] data_dir of the config)")
    parser.add_argument("--json", action="store_true", default=False, help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("init", parents=[common], help="create or update the station from a config file")
    p.add_argument("--config", type=Path, required=True, help="station config (TOML)")
    p.set_defaults(handler=commands.init)

    p = sub.add_parser("db", help="database maintenance")
    db_sub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    q = db_sub.add_parser("upgrade", parents=[common], help="migrate the database to the current schema")
    q.set_defaults(handler=commands.db_upgrade)

    p = sub.add_parser("services", parents=[common], help="list service items and packages")
    p.set_defaults(handler=commands.services)

    p = sub.add_parser("slots", parents=[common], help="free starts for services on a day")
    p.add_argument("--date", type=arguments.day, required=True, help="local date, YYYY-MM-DD")
    p.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
    p.add_argument("--bay", help="only this bay")
    p.add_argument("--tier", help="only starts this member tier may book")
    p.add_argument("--phone", help="only starts this customer may book (their tier and credit)")
    p.add_argument("--plate", help="only starts this car's member may book (when no --phone)")
    p.add_argument("--hold", action="store_true", help="only starts the customer (or tier) may hold")
    p.set_defaults(handler=commands.slots)

    for name, hold in (("book", False), ("hold", True)):
        p = sub.add_parser(name, parents=[common],
                           help="hold a slot for a limited time" if hold else "book and confirm a slot")
        p.add_argument("--start", type=arguments.instant, required=True, help="start, ISO 8601 (no offset = local time)")
        p.add_argument("--services", type=arguments.codes, required=True, help="service/package codes, comma-separated")
        p.add_argument("--plate", required=True, help="licence plate (mainland format unless --foreign)")
        p.add_argument("--foreign", action="store_true", help=arguments.FOREIGN_PLATE_HELP)
        p.add_argument("--bay", help="bay id (default: the first free bay that can do the services)")
        p.add_argument("--phone", help="customer phone; registers a member if new")
        p.add_argument("--member", help="member id")
        p.add_argument("--channel", default="terminal", choices=bookings.CHANNELS, help="%(choices)s")
        p.add_argument("--notes", default="", help="free text for the technician")
        p.add_argument("--deposit", default="0", type=arguments.amount,
                       help="deposit taken now, e.g. 50.00 (asked of low-credit members)")
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
    p.set_defaults(handler=commands.reschedule)

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

    p = sub.add_parser("bookings", parents=[common], help="bookings of a day")
    p.add_argument("--date", type=arguments.day, help="local date, YYYY-MM-DD (default: today)")
    p.set_defaults(handler=commands.bookings_of_day)

    p = sub.add_parser("waitlist", help="the waitlist for full days")
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

    p = sub.add_parser("member", help="members and their vehicles")
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

    p = sub.add_parser("run", help="the station daemon: timed rules (and devices) until SIGTERM")
    p.set_defaults(handler=commands.run_daemon)

    p = sub.add_parser("demo", help="a whole demo station: a busy day, the daemon with simulated devices, the UI")
    p.add_argument("--dir", help="where to create it (default: a new temporary directory, removed at the end)")
    p.add_argument("--config", help="config to use (default: config.example.toml)")
    p.add_argument("--lang", choices=("zh_CN", "en"), help="UI language (default: as `tui` chooses it)")
    p.add_argument("--script", action="store_true",
                   help="no UI: print what the station sees every few seconds (the default without a terminal)")
    p.add_argument("--seconds", type=arguments.positive, default=30,
                   help="how long --script runs (default 30)")
    p.set_defaults(handler=commands.demo)

    p = sub.add_parser("outbox", parents=[common], help="events not yet acknowledged by HQ")
    p.add_argument("--limit", type=arguments.positive, default=50, help="how many to show (default 50)")
    p.set_defaults(handler=commands.outbox)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub, common)
    return parser


def resolve_data_dir(args: argparse.Namespace) -> Path:
    if args.data_dir is not None:
        return args.data_dir
    if os.environ.get("STATION_EDGE_HOME"):
        return Path(os.environ["STATION_EDGE_HOME"])
    config = getattr(args, "config", None)
    if config is not None:
        from edge.config import load_settings

        configured = load_settings(config).paths.data_dir
        if configured:
            return Path(configured)
    raise CliUsageError("no data directory: pass --data-dir DIR or set STATION_EDGE_HOME")


class CliUsageError(Exception):
    """A usage problem found after parsing (reported like argparse's own, exit 2)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a reader that closes the pipe early (`| head -1`) ends it quietly with EXIT_PIPE."""
    try:
        code = _main(argv)
        sys.stdout.flush()  # a closed pipe shows here when the output fit in the buffer
    except BrokenPipeError:
        # the Python docs' recipe: stdout goes to devnull so the interpreter's final flush cannot fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_PIPE
    return code


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s %(message)s",
        stream=sys.stderr,
    )
    try:
        if args.command not in ("demo", "keys", "hq"):  # none of them touches a station's data
            args.data_dir = resolve_data_dir(args)
        return args.handler(args) or EXIT_OK
    except CliUsageError as err:
        parser.print_usage(sys.stderr)
        print(f"station-edge: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except InvalidInput as err:
        # a malformed value found by a service: reported like argparse's own, naming the argument
        if args.json:
            from edge.cli.output import emit_json

            emit_json({"error": "bad_argument", "argument": f"--{err.field.replace('_', '-')}", "message": str(err)})
        parser.print_usage(sys.stderr)
        print(f"station-edge: error: argument --{err.field.replace('_', '-')}: {err}", file=sys.stderr)
        return EXIT_USAGE
    except EdgeError as err:
        return _report(args, err)
    except ConfigError as err:
        return _report(args, err)


def _report(args: argparse.Namespace, err: Exception) -> int:
    for kind, code, name in _EXIT_CODES:
        if isinstance(err, kind):
            break
    else:
        code, name = EXIT_INTERNAL, "error"
    if args.json:
        from edge.cli.output import emit_json

        emit_json({"error": name, "message": str(err)})
    print(f"station-edge: {name.replace('_', ' ')}: {err}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
