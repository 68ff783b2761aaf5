"""`station-edge`: the top-level parser, the counter's shortcuts, exit codes and error reporting.

Exit codes (scripts rely on them):
    0  done                       5  slot taken (another booking holds a cell)
    1  unexpected internal error  6  refused by a booking rule (hours, horizon, tier, skills)
    2  bad command-line argument  7  the booking's state does not allow it
    3  bad config file            8  database error
    4  not found (booking, bay, service, member, waitlist entry)
    9  a `doctor` check failed; the sync link, a key file or HQ's database failed
   10  refused: the command needs a manager (--operator MANAGER, or --manager WHO), or a wrong PIN
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

from edge.cli import session
from edge.config import ConfigError
from edge.errors import (
    EdgeError, InvalidInput, InvalidTransition, NotFound, PermissionDenied, RuleViolation, SlotTaken, StoreError,
)

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_CONFIG = 0, 1, 2, 3
EXIT_NOT_FOUND, EXIT_SLOT_TAKEN, EXIT_RULE, EXIT_STATE, EXIT_STORE, EXIT_DENIED = 4, 5, 6, 7, 8, 10
EXIT_PIPE = 141  # as a shell reports a process ended by SIGPIPE: the reader closed the pipe early

_EXIT_CODES: tuple[tuple[type[Exception], int, str], ...] = (
    (ConfigError, EXIT_CONFIG, "config_error"),
    (SlotTaken, EXIT_SLOT_TAKEN, "slot_taken"),
    (NotFound, EXIT_NOT_FOUND, "not_found"),
    (RuleViolation, EXIT_RULE, "rule_violation"),
    (InvalidTransition, EXIT_STATE, "invalid_transition"),
    (StoreError, EXIT_STORE, "store_error"),
    (PermissionDenied, EXIT_DENIED, "permission_denied"),
)

log = logging.getLogger("edge.cli")

# each area adds its noun (or a station-wide command) through register(subparsers, common_parent)
COMMAND_MODULES = (
    "edge.cli.booking_commands",
    "edge.cli.member_commands",
    "edge.cli.vehicle_commands",
    "edge.cli.enterprise_commands",
    "edge.cli.money_commands",
    "edge.cli.receipt_commands",
    "edge.cli.inventory_commands",
    "edge.cli.delivery_commands",
    "edge.cli.report_commands",
    "edge.cli.roster_commands",
    "edge.cli.sync_commands",
    "edge.cli.hq_commands",
    "edge.cli.key_commands",
    "edge.cli.station_commands",
    "edge.cli.tui_commands",
    "edge.cli.doctor_commands",
    "edge.cli.staff_commands",
)

# the counter's daily verbs, kept at the top level: name -> (what it is short for, help)
SHORTCUTS = {
    "book": ("booking book", "book and confirm a slot"),
    "checkin": ("booking checkin", "check a car in by booking or plate"),
    "slots": ("booking slots", "free starts for services on a day"),
}


def build_parser() -> argparse.ArgumentParser:
    from edge.cli.command_words import OLD_SPELLINGS, CommandWords

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="machine-readable output")

    parser = argparse.ArgumentParser(
        prog="station-edge",
        description="Offline-first edge node for a car-service station.",
        epilog="Exit codes: 0 ok, 1 internal, 2 usage, 3 config, 4 not found, 5 slot taken, "
        "6 rule refused, 7 state does not allow, 8 database, 9 doctor check or sync link failed, "
        "10 needs a manager or a wrong PIN, "
        "141 output pipe closed early. "
        "`station-edge COMMAND --help` lists a command's actions and options. The flat names of earlier "
        "releases (checkout, report-service ...) still work until the next one and say what they are now called.",
    )
    parser.add_argument("--data-dir", type=Path, help="station data directory (default: $STATION_EDGE_HOME, "
                        "or [paths] data_dir of the config)")
    parser.add_argument("--json", action="store_true", default=False, help="machine-readable output")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens to stderr")
    session.add_options(parser)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", action=CommandWords)

    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub, common)
    for name, (spelling, text) in SHORTCUTS.items():
        sub.add_shortcut(name, spelling, text)
    for old, spelling in OLD_SPELLINGS.items():
        sub.add_old_spelling(old, spelling)
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
        # none of them touches a station's data
        if args.command not in ("demo", "keys", "hq") and getattr(args, "needs_station", True):
            args.data_dir = resolve_data_dir(args)
        session.configure(args)
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
    message = str(err)
    if isinstance(err, PermissionDenied) and "needs a manager" in message:
        message += (f"; run it as a manager (--operator WHO with ${session.OPERATOR_PIN_ENV}) or name one who "
                    f"authorises it (--manager WHO with ${session.MANAGER_PIN_ENV})")
    if args.json:
        from edge.cli.output import emit_json

        emit_json({"error": name, "message": message})
    print(f"station-edge: {name.replace('_', ' ')}: {message}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
