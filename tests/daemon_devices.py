"""The daemon's device half in a test: real sources, real routing and health writes, around a scenario."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from edge.daemon.devices import build_sources, run_devices
from edge.services.station import Station

T = TypeVar("T")


async def until(condition: Callable[[], object], what: str, timeout: float = 20.0) -> None:
    """Wait until `condition()` (run in a thread: it may read the store) holds."""
    deadline = time.monotonic() + timeout
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def with_daemon_devices(station: Station, scenario: Callable[[], Awaitable[T]]) -> T:
    """Run the station's configured devices as the daemon does while `scenario` runs, then stop them."""
    stop = asyncio.Event()
    daemon = asyncio.create_task(run_devices(station, build_sources(station), stop))
    try:
        return await scenario()
    finally:
        stop.set()
        await daemon
