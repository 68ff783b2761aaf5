"""Vehicle size classes: which class a car is, and its work planned for that class.

The station names its classes in `[booking] size_classes`, the first the default; a service
may take longer or cost more for the others (edge.domain.catalog.ServiceItem.sized). A car's
class is stored on its vehicle row (edge.services.members.store_vehicle_size); a car never
given one is planned as the default class.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlite3 import Connection

from edge.domain.catalog import WorkPlan
from edge.domain.plates import normalize_plate
from edge.errors import InvalidInput
from edge.services.station import Station


def check_size_class(station: Station, size_class: str) -> str:
    """`size_class` if the station has it; InvalidInput("size") names the classes it has."""
    classes = station.settings.booking.size_classes
    if size_class not in classes:
        known = ", ".join(classes) or "none configured: add [booking] size_classes to the config"
        raise InvalidInput("size", f"unknown size class {size_class!r} (size classes: {known})")
    return size_class


def stored_size(conn: Connection, plate: str) -> str | None:
    """The class stored for the car, None if it has none (or the station does not know it)."""
    row = conn.execute("SELECT size_class FROM vehicle WHERE plate = ?", (normalize_plate(plate),)).fetchone()
    return row[0] if row else None


def car_size(conn: Connection, station: Station, plate: str | None, size_class: str | None = None) -> str | None:
    """The class to plan a car's work for: `size_class` if given (checked), else the car's
    stored one; None (the default class) for a car of unknown size."""
    if size_class is not None:
        return check_size_class(station, size_class)
    return stored_size(conn, plate) if plate else None


def plan_for_car(conn: Connection, station: Station, codes: Iterable[str], plate: str | None,
                 size_class: str | None = None) -> WorkPlan:
    """The work plan of `codes` for the car `plate` (or a car of `size_class`): its class's
    durations and prices."""
    return station.catalog().plan(codes, car_size(conn, station, plate, size_class))


def known_size(station: Station, plate: str) -> str | None:
    """The class stored for the car `plate` as typed so far (None: unknown car, or no class yet)."""
    with station.store.read() as conn:
        return stored_size(conn, plate) if plate.strip() else None
