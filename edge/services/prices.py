"""What a service or package costs at a moment: the catalogue's price with the price calendar applied.

Every price the station quotes or charges for work is looked up here with the time the work
starts (a booking's start, a walk-in's sale), so the price quoted when booking is the one
charged at checkout.
"""

from __future__ import annotations

from datetime import datetime

from edge.domain.catalog import WorkPlan
from edge.domain.price_calendar import price_at
from edge.services.station import Station


def price_of(station: Station, code: str, usual_minor: int, at: datetime) -> int:
    """The price of service or package `code` (usually `usual_minor`) for work starting at `at`."""
    return price_at(station.catalog().price_rules, code, usual_minor, station.local(at))


def plan_price(station: Station, plan: WorkPlan, at: datetime) -> int:
    """A booking's price: each of its priced lines (the package, the services asked for on their own) at `at`."""
    return sum(price_of(station, code, usual, at) for code, usual in plan.item_prices)
