"""Station and HQ over a real Mosquitto: events up exactly once, HQ's log down exactly once."""

from __future__ import annotations

from datetime import timedelta

from edge.services import bookings
from edge.services.station import utc_now
from sync.hq.db import transaction
from sync.hq.downlink import enqueue_downlink
from tests.sync.conftest import (backlog, hq_keys, hq_rows, make_events, start_hq, start_station_sync,
                                 station_keys, sync_settings, wait_until)


def test_events_reach_hq_once_in_order(station, broker, keys, hq_engine, runners):
    make_events(station, 300)
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="outbox drained")
    applied = hq_keys(hq_engine)
    assert sorted(applied) == sorted(station_keys(station))
    assert len(applied) == len(set(applied))
    for stream, count, top in hq_rows(hq_engine, "SELECT stream, count(*), max(seq) FROM hq_inbox GROUP BY stream"):
        assert count == top, stream
