"""Argument types shared by every `station-edge` subcommand: each error names what it expected."""

from __future__ import annotations

import argparse
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation

FOREIGN_PLATE_HELP = "a plate of another country: any 2-12 letters or digits"


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def instant(text: str) -> datetime:
    """ISO 8601; without an offset it is read as station-local wall time (resolved later)."""
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time (ISO 8601, e.g. 2026-11-24T09:30+08:00)") from None


def month(text: str) -> str:
    """'2026-11': a calendar month, kept as text."""
    try:
        date.fromisoformat(f"{text.strip()}-01")
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM, e.g. 2026-11)") from None
    return text.strip()


def codes(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("give at least one service or package code, comma-separated")
    return codes


def clock_time(text: str) -> time:
    try:
        return time.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time of day (HH:MM)") from None


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number")
    return value


def amount(text: str) -> str:
    """A money amount as typed (e.g. 299.00), kept as text: the station's currency decides its decimals."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not an amount (e.g. 299.00)")
    return text.strip()


def signed_amount(text: str) -> str:
    """A correction's amount, which may be negative (e.g. -20.00), kept as text like `amount`."""
    return ("-" + amount(text.strip()[1:])) if text.strip().startswith("-") else amount(text)
