"""`station-edge init`, `db upgrade`, `run` and `demo`: create the station, migrate it, run it, try it."""

from __future__ import annotations

import argparse
from pathlib import Path

from edge.cli import arguments, commands


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add `db`, `init`, `run` and `demo` to the station-edge parser."""
    p = sub.add_parser("db", help="database maintenance")
    db_sub = p.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    q = db_sub.add_parser("upgrade", parents=[common], help="migrate the database to the current schema")
    q.set_defaults(handler=commands.db_upgrade)

    p = sub.add_parser("init", parents=[common], help="create or update the station from a config file")
    p.add_argument("--config", type=Path, required=True, help="station config (TOML)")
    p.set_defaults(handler=commands.init)

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
