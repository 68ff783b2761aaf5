"""`station-edge` subcommands for inventory."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the inventory subcommands to the station-edge parser."""
