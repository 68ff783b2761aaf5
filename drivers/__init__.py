"""Device drivers: bay hardware sources that yield typed events (independent of `edge`).

The public surface: `create_source(name, driver, options)` (see `drivers.registry.DRIVERS`
for the driver names), the `Source` contract and its `Health`, the event dataclasses and
the two errors. Driver modules, and the hardware libraries they need, load on first use.
"""

from drivers.base import Health, Source
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import BayOccupancy, CardPresented, CodeScanned, DeviceAlarm, Event, PlateRead
from drivers.registry import DRIVERS, create_source, driver_options

__all__ = [
    "DRIVERS", "BayOccupancy", "CardPresented", "CodeScanned", "DeviceAlarm", "DeviceUnavailable", "DriverError",
    "Event", "Health", "PlateRead", "Source", "create_source", "driver_options",
]
