"""Money in integer minor units with an ISO currency code; never floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from edge.errors import InvalidInput


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


def yuan(minor: int) -> str:
    """5000 -> '50.00 CNY': amounts in messages of rules that are not told the station's currency."""
    return format_money(minor, "CNY")


def parse_money(text: str, digits: int = 2, *, field: str = "amount") -> int:
    """'299.00' or '299' -> 29900 exactly (no float on the way); InvalidInput(`field`) for text that is
    not an amount or has more decimals than the currency."""
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        raise InvalidInput(field, f"{text!r} is not an amount (e.g. 299.00)") from None
    if not value.is_finite():
        raise InvalidInput(field, f"{text!r} is not an amount (e.g. 299.00)")
    minor = value.scaleb(digits)
    if minor != minor.to_integral_value():
        raise InvalidInput(field, f"{text!r} has more than {digits} decimals")
    return int(minor)


def allocate(total_minor: int, weights: Sequence[int]) -> list[int]:
    """Split an amount in proportion to `weights` so that the shares add up exactly.

    Largest remainder: each share is rounded down, and the minor units left over go to the
    largest fractions (earlier weights win ties). Without any weight the split is equal.
    """
    if not weights:
        return []
    if sum(weights) <= 0:
        weights = [1] * len(weights)
    whole = sum(weights)
    shares = [total_minor * w // whole for w in weights]
    fractions = [total_minor * w % whole for w in weights]
    for index in sorted(range(len(weights)), key=lambda i: -fractions[i])[: total_minor - sum(shares)]:
        shares[index] += 1
    return shares
