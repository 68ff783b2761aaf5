"""Money in integer minor units with an ISO currency code; never floats."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Money:
    minor: int
    currency: str
    digits: int = 2

    def __str__(self) -> str:
        return format_money(self.minor, self.currency, self.digits)


def format_money(minor: int, currency: str, digits: int = 2) -> str:
    """29900, "CNY" -> "299.00 CNY" (exact: integer arithmetic only)."""
    sign = "-" if minor < 0 else ""
    whole, fraction = divmod(abs(minor), 10**digits)
    text = f"{whole:,}" if digits == 0 else f"{whole:,}.{fraction:0{digits}d}"
    return f"{sign}{text} {currency}"
