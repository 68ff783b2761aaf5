"""`station-edge` subcommands for enterprise."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the enterprise subcommands to the station-edge parser."""
