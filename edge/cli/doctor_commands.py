"""station-edge subcommands: doctor_commands (being built)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """Adds nothing yet."""
