"""Who runs a command: `--operator` and `--manager`, their PINs, and the station opened in their name.

A PIN never comes from the command line (it would show in `ps` and the shell's history):
it is read from STATION_EDGE_PIN / STATION_EDGE_MANAGER_PIN, or asked for without echo when
the command runs at a terminal. Without `--operator` the command acts as the command line
itself, which may do everything that does not need a manager.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from edge.domain.permissions import Actor
from edge.errors import InvalidInput
from edge.services import staff
from edge.services import station as stations
from edge.services.station import Station

OPERATOR_PIN_ENV, MANAGER_PIN_ENV = "STATION_EDGE_PIN", "STATION_EDGE_MANAGER_PIN"

_who: dict[str, str | None] = {"operator": None, "manager": None, "terminal": None}


def add_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--operator", metavar="WHO", help=f"who runs the command: staff id, name or card "
                        f"(PIN from ${OPERATOR_PIN_ENV}, or asked for at a terminal)")
    parser.add_argument("--manager", metavar="WHO", help=f"a manager authorising a privileged command "
                        f"(PIN from ${MANAGER_PIN_ENV}, or asked for at a terminal)")
    parser.add_argument("--terminal", metavar="NAME", help="the terminal the command counts as run at "
                        "(default: desk)")


def configure(args: argparse.Namespace) -> None:
    """Remember who runs this command (the parsed global options) for `open_station` and `manager`."""
    _who.update(operator=args.operator, manager=args.manager, terminal=args.terminal)


def read_pin(env: str, prompt: str, field: str) -> str:
    """A PIN from the environment, else asked for without echo at a terminal; never an argument."""
    pin = os.environ.get(env)
    if pin:
        return pin.strip()
    if sys.stdin.isatty():
        return getpass.getpass(prompt)
    raise InvalidInput(field, f"no PIN: set {env} or run the command at a terminal to be asked for it")


def open_station(data_dir: str | Path, **options) -> Station:
    """The station in `data_dir`, acting as `--operator` (signed in with their PIN) at `--terminal`."""
    station = stations.open_station(data_dir, **options)
    if _who["terminal"]:
        station.terminal = _who["terminal"]
    if _who["operator"]:
        staff.sign_in(station, _who["operator"], read_pin(OPERATOR_PIN_ENV, f"PIN of {_who['operator']}: ",
                                                          "operator"))
    return station


def manager(station: Station) -> Actor | None:
    """The manager named by `--manager` once their PIN is checked; None without one."""
    if not _who["manager"]:
        return None
    pin = read_pin(MANAGER_PIN_ENV, f"manager PIN of {_who['manager']}: ", "manager")
    return staff.manager_by_pin(station, _who["manager"], pin)
