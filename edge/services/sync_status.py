"""The station's link to HQ as the UI shows it: online or not, how much is waiting, last ack."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from edge.services.station import Station
from edge.store.outbox import pending_count
from edge.store.types import from_db_time

# the sync process refreshes sync_link.seen_at every few seconds while it runs; a mark older
# than this means the process is gone (killed, or the daemon stopped), so the link is offline
LINK_STALE_AFTER = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class SyncStatus:
    link: str  # "online" | "offline" | "never" (sync has not run on this database)
    backlog: int  # outbox rows HQ has not acknowledged
    last_ack_at: datetime | None


def sync_status(station: Station) -> SyncStatus:
    with station.store.read() as conn:
        backlog = pending_count(conn)
        row = conn.execute("SELECT state, seen_at, last_ack_at FROM sync_link WHERE id = 1").fetchone()
    if row is None:
        return SyncStatus("never", backlog, None)
    last_ack = from_db_time(row["last_ack_at"]) if row["last_ack_at"] else None
    fresh = station.clock() - from_db_time(row["seen_at"]) <= LINK_STALE_AFTER
    link = "online" if row["state"] == "online" and fresh else "offline"
    return SyncStatus(link, backlog, last_ack)
