"""`station-edge tui`: the forecourt terminal UI."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from edge.services.station import Station
from edge.cli.session import open_station

LOG_FILENAME = "tui.log"


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the tui subcommand to the station-edge parser."""
    p = sub.add_parser("tui", help="the forecourt terminal UI on this station's database")
    p.add_argument("--lang", choices=("zh_CN", "en"),
                   help="UI language (default: the config's station.locale, else $LANG, else zh_CN)")
    p.add_argument("--log", type=Path, help=f"log file (default: {LOG_FILENAME} in the data directory)")
    p.set_defaults(handler=run_tui)


def run_tui(args: argparse.Namespace) -> None:
    station = open_station(args.data_dir)
    try:
        run_app(station, language=args.lang, log=args.log or Path(args.data_dir) / LOG_FILENAME,
                verbose=args.verbose)
    finally:
        station.store.close()


def run_app(station: Station, *, language: str | None, log: Path, verbose: bool, sign_in_hint: str = "") -> None:
    """Take over the terminal with the station's UI until the attendant quits (or SIGTERM / SIGHUP); staff
    sign in first, unless `--operator` already did."""
    # textual is imported here, not at the top: every other subcommand starts without it
    from tui.app import StationApp
    from tui.i18n import choose_language

    log_to_file(log, verbose=verbose)
    settings = station.settings.station
    StationApp(station, language=choose_language(language, settings.locale, "locale" in settings.model_fields_set),
               sign_in=True, sign_in_hint=sign_in_hint).run()


def log_to_file(path: Path, *, verbose: bool) -> None:
    """The terminal belongs to the UI: log lines written to stderr would tear through the screen."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
