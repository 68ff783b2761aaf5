"""The link state the UI shows, read from the sync tables."""

from __future__ import annotations

import time
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


# -- the link as heard from HQ, over a real broker -----------------------------------------------

def _link_after_beat(sync) -> str:
    sync._beat()
    return sync_status(sync.station).link


def test_the_link_says_what_was_heard_from_hq_not_only_that_the_broker_answers(station, broker, keys, hq_engine,
                                                                              runners):
    from sync.station.link_watch import LinkWatch
    from tests.sync.conftest import make_events, start_hq, start_station_sync, sync_settings, wait_until

    sync = start_station_sync(runners, station, sync_settings(broker, keys))
    sync.watch = LinkWatch(time.monotonic, ping_every_s=0.5, silent_after_s=2, stalled_after_s=2)
    wait_until(lambda: sync.link.connected, what="the broker connection")
    # connected to the broker, but no HQ behind it
    wait_until(lambda: _link_after_beat(sync) == "hq_silent", what="HQ silent", timeout=15)
    hq = start_hq(runners, hq_engine, keys, broker)
    wait_until(lambda: _link_after_beat(sync) == "online", what="HQ heard", timeout=15)
    assert sync_status(station).heard_at is not None
    # HQ answers pings but stops taking events (its ingest of batches fails): events wait, stalled
    hq.ingest._events = _refuse
    make_events(station, 5)
    wait_until(lambda: _link_after_beat(sync) == "stalled", what="stalled", timeout=20)
    # the broker goes: offline at once, whatever was heard before
    broker.stop()
    wait_until(lambda: _link_after_beat(sync) == "offline", what="offline", timeout=15)


def _refuse(*args, **kwargs):
    raise RuntimeError("HQ's database is out of space")
