"""The station's link to HQ as the UI shows it: what the station last heard from HQ (online,
hq_silent, stalled, offline), how much is waiting, when HQ last answered and last acked."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.services.station import Station
from edge.store.outbox import pending_count
from edge.store.types import from_db_time

# the sync process refreshes sync_link.seen_at every 5 seconds while it runs; a mark older
# than this means the process is gone (killed, or the daemon stopped), so the link is offline
LINK_STALE_AFTER = timedelta(seconds=20)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    link: str  # "online" | "hq_silent" | "stalled" | "offline" | "never" (sync has not run on this database)
    backlog: int  # outbox rows HQ has not acknowledged
    last_ack_at: datetime | None
    heard_at: datetime | None = None  # HQ's last verified message


def sync_status(station: Station) -> SyncStatus:
    with station.store.read() as conn:
        backlog = pending_count(conn)
        row = conn.execute("SELECT state, seen_at, last_ack_at, heard_at FROM sync_link WHERE id = 1").fetchone()
    if row is None:
        return SyncStatus("never", backlog, None)
    last_ack = from_db_time(row["last_ack_at"]) if row["last_ack_at"] else None
    heard = from_db_time(row["heard_at"]) if row["heard_at"] else None
    fresh = station.clock() - from_db_time(row["seen_at"]) <= LINK_STALE_AFTER
    return SyncStatus(row["state"] if fresh else "offline", backlog, last_ack, heard)
