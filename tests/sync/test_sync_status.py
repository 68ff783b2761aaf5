"""The link state the UI shows, read from the sync tables."""

from __future__ import annotations

from datetime import timedelta

from edge.services.sync_status import SyncStatus, sync_status
from edge.store.outbox import append_event
from edge.store.types import to_db_time


def test_a_station_that_never_synced_says_never_and_counts_its_backlog(station):
    now = station.clock()
    with station.store.write() as conn:
        append_event(conn, event_type="member.created", entity_id="m1",
                     idem_key="k1", body={}, now=now)
    assert sync_status(station) == SyncStatus("never", 1, None)


def test_online_only_while_the_sync_process_keeps_its_mark_fresh(station):
    now = station.clock()
    with station.store.write() as conn:
        conn.execute("INSERT INTO sync_link (id, state, changed_at, seen_at, last_ack_at, last_error)"
                     " VALUES (1, 'online', ?, ?, ?, '')", (to_db_time(now), to_db_time(now), to_db_time(now)))
    status = sync_status(station)
    assert status.link == "online" and status.backlog == 0
    assert status.last_ack_at == now.replace(microsecond=0)
    station.clock = lambda: now + timedelta(minutes=5)
    assert sync_status(station).link == "offline"
