"""Stock rules for materials: movement arithmetic, the low-stock edge, and shortages for services.

Quantities are whole units of the material's own unit (cans, pieces, doses, rolls).

Going below zero:
    - consumption by a completed booking is always recorded, even past zero: the work was
      done and the material was used, so a negative balance tells staff the count is wrong;
    - a manual issue ("out") never takes stock below zero: you cannot hand out what is not there;
    - an adjustment sets the counted quantity, which cannot be negative.

Low stock is an edge, not a level: the alert goes out once when stock falls to or below the
reorder level, and again only after a restock above the level and a new fall.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from edge.domain.catalog import ServiceItem
from edge.errors import RuleViolation

INITIAL_STOCK_REASON = "initial stock"


class MovementKind(StrEnum):
    IN = "in"
    OUT = "out"
    ADJUST = "adjust"


class LowStockChange(StrEnum):
    """What a new on-hand quantity does to the material's low-stock episode."""

    NONE = "none"  # no episode starts or ends
    ALERT = "alert"  # stock just fell to or below the reorder level: send the alert
    CLEARED = "cleared"  # stock is above the reorder level again: the next fall alerts anew


@dataclass(frozen=True, slots=True)
class StockLevel:
    """What the rules need to know of a material's stock right now."""

    sku: str
    unit: str
    on_hand: int
    reorder_level: int
    low_alerted: bool = False  # a low-stock episode is open: its alert has been sent


@dataclass(frozen=True, slots=True)
class Movement:
    """One change of a material's stock; `quantity` is signed (+ into stock, - out of it)."""

    sku: str
    kind: MovementKind
    quantity: int
    on_hand_before: int
    reason: str
    booking_id: str | None = None

    @property
    def on_hand_after(self) -> int:
        return self.on_hand_before + self.quantity

    @property
    def went_negative(self) -> bool:
        """Stock fell below zero: more was used than the books said was there."""
        return self.on_hand_after < 0


@dataclass(frozen=True, slots=True)
class Shortage:
    """A material a booking needs more of than there is on hand."""

    sku: str
    unit: str
    on_hand: int
    needed: int

    def message(self) -> str:
        return f"{self.sku} low: {self.on_hand} {self.unit} on hand, {self.needed} {self.unit} needed"


def _whole(value: object, what: str, *, minimum: int) -> int:
    # bool is an int subclass; True units of oil is a bug, not a quantity
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleViolation(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        kind = "positive" if minimum > 0 else "zero or more"
        raise RuleViolation(f"{what} must be {kind}, got {value}")
    return value


def _reason(text: str, what: str) -> str:
    reason = text.strip()
    if not reason:
        raise RuleViolation(f"{what} needs a reason (e.g. 'damaged', 'stocktake')")
    return reason


def receipt(level: StockLevel, quantity: int, reason: str) -> Movement:
    """Goods in: any positive quantity."""
    quantity = _whole(quantity, f"quantity received of {level.sku}", minimum=1)
    return Movement(level.sku, MovementKind.IN, quantity, level.on_hand, reason.strip() or "received")


def issue(level: StockLevel, quantity: int, reason: str) -> Movement:
    """Goods out by hand (damaged, returned, used off the books): never below zero."""
    quantity = _whole(quantity, f"quantity issued of {level.sku}", minimum=1)
    reason = _reason(reason, f"issuing {level.sku}")
    if quantity > level.on_hand:
        raise RuleViolation(
            f"cannot issue {quantity} {level.unit} of {level.sku}: only {level.on_hand} {level.unit} on hand"
        )
    return Movement(level.sku, MovementKind.OUT, -quantity, level.on_hand, reason)


def count_adjustment(level: StockLevel, counted: int, reason: str) -> Movement:
    """A stocktake: stock becomes the counted quantity; a count equal to the books is recorded too."""
    counted = _whole(counted, f"counted quantity of {level.sku}", minimum=0)
    reason = _reason(reason, f"adjusting {level.sku}")
    return Movement(level.sku, MovementKind.ADJUST, counted - level.on_hand, level.on_hand, reason)


def consumption(level: StockLevel, quantity: int, *, booking_id: str | None, reason: str) -> Movement:
    """Material used by a completed booking or a walk-in sale: recorded even past zero (the work was done)."""
    quantity = _whole(quantity, f"quantity consumed of {level.sku}", minimum=1)
    return Movement(level.sku, MovementKind.OUT, -quantity, level.on_hand, reason, booking_id=booking_id)


def is_low(on_hand: int, reorder_level: int) -> bool:
    return on_hand <= reorder_level


def low_stock_change(on_hand: int, reorder_level: int, *, alerted: bool) -> LowStockChange:
    """Whether `on_hand` opens a low-stock episode (alert), closes one, or changes nothing."""
    low = is_low(on_hand, reorder_level)
    if low and not alerted:
        return LowStockChange.ALERT
    if not low and alerted:
        return LowStockChange.CLEARED
    return LowStockChange.NONE


def materials_needed(services: Iterable[ServiceItem]) -> dict[str, int]:
    """SKU -> total quantity the services consume together, in first-named order."""
    needed: dict[str, int] = {}
    for service in services:
        for sku, quantity in service.materials:
            needed[sku] = needed.get(sku, 0) + quantity
    return needed


def find_shortages(needed: Mapping[str, int], levels: Mapping[str, StockLevel]) -> list[Shortage]:
    """Materials with less on hand than `needed`; SKUs not stocked here are not tracked, so not short."""
    return [
        Shortage(sku, levels[sku].unit, levels[sku].on_hand, quantity)
        for sku, quantity in needed.items()
        if sku in levels and levels[sku].on_hand < quantity
    ]
