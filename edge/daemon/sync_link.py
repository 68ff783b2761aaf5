"""The daemon's sync with HQ: the station's sync client on a thread of its own while the daemon
runs, when the config has an enabled [sync] section."""

from __future__ import annotations

import asyncio
import logging
import threading

from edge.services.station import Station
from sync.errors import SyncError
from sync.station.client import StationSync

log = logging.getLogger(__name__)
# how long the daemon waits on SIGTERM for sync to finish its transaction and disconnect
STOP_WAIT_S = 20


async def run_sync(station: Station, stop: asyncio.Event) -> None:
    """Sync until `stop` is set. A sync that cannot start (a key file missing) is logged and the
    daemon keeps serving the station: the outbox waits for the link."""
    settings = station.settings.sync
    if settings is None or not settings.enabled:
        log.info("sync with HQ is not configured: the outbox waits")
        return
    try:
        client = StationSync(station, settings)
    except SyncError as err:
        log.error("sync with HQ not started: %s", err)
        return
    thread_stop = threading.Event()
    thread = threading.Thread(target=client.run, args=(thread_stop,), name="sync", daemon=True)
    thread.start()
    await stop.wait()
    thread_stop.set()
    await asyncio.to_thread(thread.join, STOP_WAIT_S)
    if thread.is_alive():
        # the daemon closes the database next: say why the sync thread may complain of it
        log.warning("sync with HQ did not stop within %d s; the daemon stops without it", STOP_WAIT_S)
