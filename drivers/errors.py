"""The drivers' exception tree: what a device source raises on purpose.

    DriverError              a driver is misconfigured or cannot work (unknown driver,
    │                        bad option, missing decoder library)
    └── DeviceUnavailable    the device cannot be opened or vanished; the source keeps
                             retrying with backoff and never lets this escape its worker

Third-party exceptions (serial.SerialException, OSError, pymodbus ConnectionException,
cv2 failures) are translated into these once, inside the driver that met them.
"""

from __future__ import annotations


class DriverError(Exception):
    """A device driver is misconfigured or cannot run; the message names the device."""


class DeviceUnavailable(DriverError):
    """The device cannot be opened, stopped answering, or was unplugged."""
