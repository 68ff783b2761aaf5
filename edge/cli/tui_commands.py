"""`station-edge tui`: the forecourt terminal UI."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the tui subcommand to the station-edge parser."""
