"""`station-edge` subcommands for reports."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Add the reports subcommands to the station-edge parser."""
