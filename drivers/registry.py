"""Config `driver = "..."` plus an options table -> a device source, with options checked by name and type.

Driver modules are imported only when a device uses them (mqtt-io style), so a station
without a camera never loads OpenCV. A driver's options are its constructor's keyword
arguments; a misspelt, missing or mistyped option is a DriverError that names the
device, the driver and the option, before anything is opened.
"""

from __future__ import annotations

import importlib
import inspect
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from drivers.base import Source
from drivers.errors import DriverError

DRIVERS: dict[str, tuple[str, str]] = {
    "qr_serial": ("drivers.qr_serial", "QrSerialScanner"),
    "qr_camera": ("drivers.qr_camera", "QrCamera"),
    "anpr": ("drivers.anpr", "AnprReader"),
    "occupancy_modbus": ("drivers.occupancy_modbus", "ModbusOccupancy"),
    "occupancy_mqtt": ("drivers.occupancy_mqtt", "MqttOccupancy"),
    "clock_in": ("drivers.clock_in", "ClockInReader"),
    "receipt_printer": ("drivers.receipt_printer", "ReceiptPrinter"),
    "sim_qr": ("drivers.simulators", "SimulatedScanner"),
    "sim_anpr": ("drivers.simulators", "SimulatedAnpr"),
    "sim_occupancy": ("drivers.simulators", "SimulatedOccupancy"),
    "sim_clock_in": ("drivers.simulators", "SimulatedClockIn"),
}

# constructor arguments that are not configuration: the device name and test clocks
_NOT_OPTIONS = frozenset({"self", "name", "clock", "wall"})


def driver_class(driver: str) -> type[Source]:
    try:
        module_name, class_name = DRIVERS[driver]
    except KeyError:
        raise DriverError(f"unknown driver {driver!r} (known: {', '.join(sorted(DRIVERS))})") from None
    return getattr(importlib.import_module(module_name), class_name)


def driver_options(driver: str) -> dict[str, tuple[Any, Any]]:
    """Option name -> (type, default) for a driver; the default is inspect.Parameter.empty when required."""
    cls = driver_class(driver)
    hints = typing.get_type_hints(cls.__init__)
    return {
        name: (hints.get(name, Any), parameter.default)
        for name, parameter in inspect.signature(cls.__init__).parameters.items()
        if name not in _NOT_OPTIONS and parameter.kind is inspect.Parameter.KEYWORD_ONLY
    }


def create_source(name: str, driver: str, options: Mapping[str, Any] | None = None) -> Source:
    """The source for one configured device; DriverError names the device and option on a mistake."""
    options = dict(options or {})
    known = driver_options(driver)
    where = f"device {name!r} (driver {driver})"
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise DriverError(f"{where}: unknown option(s) {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    missing = sorted(key for key, (_, default) in known.items()
                     if default is inspect.Parameter.empty and key not in options)
    if missing:
        raise DriverError(f"{where}: missing option(s) {', '.join(missing)}")
    for key, value in options.items():
        hint = known[key][0]
        if not _conforms(value, hint):
            raise DriverError(f"{where}: option {key} must be {_describe(hint)}, not {value!r}")
    return driver_class(driver)(name, **options)


def _conforms(value: Any, hint: Any) -> bool:
    """A small runtime check of TOML values against the constructor annotations drivers use."""
    if hint is Any:
        return True
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_conforms(value, arg) for arg in typing.get_args(hint))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin is not None and issubclass(origin, Mapping):
        return isinstance(value, Mapping)
    if origin is not None and issubclass(origin, Sequence):
        (item_hint, *_) = typing.get_args(hint) or (Any,)
        return isinstance(value, list | tuple) and all(_conforms(item, item_hint) for item in value)
    return isinstance(value, hint) if isinstance(hint, type) else True


def _describe(hint: Any) -> str:
    return getattr(hint, "__name__", None) or str(hint).replace("typing.", "")
