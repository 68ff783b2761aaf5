"""`station-edge` subcommands for delivery."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the delivery subcommands to the station-edge parser."""
