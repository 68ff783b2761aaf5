"""Clocks that disagree: the station's 10 minutes ahead or behind, a backward jump, HQ's
clock ahead; ordering holds and a stamp too far ahead is quarantined."""

from __future__ import annotations

import time
from datetime import timedelta

from edge.domain.hlc import Hlc
from edge.services.station import utc_now
from edge.store import outbox
from sync.hq.db import transaction
from sync.hq.downlink import enqueue_downlink
from tests.sync.conftest import (STATION_ID, backlog, hq_rows, make_events, start_hq, start_station_sync,
                                 sync_settings, wait_until)
from tests.sync.test_round_trip import CATALOG


class SkewedTime:
    """The wall clock the outbox stamps events with, off by `offset_s`."""

    def __init__(self, offset_s: float) -> None:
        self.offset_s = offset_s

    def time_ns(self) -> int:
        return time.time_ns() + int(self.offset_s * 1e9)


def stamps(engine, stream):
    return [Hlc.decode(h) for (h,) in hq_rows(engine, "SELECT hlc FROM hq_event WHERE stream = :s ORDER BY seq",
                                              s=stream)]


def test_a_station_clock_ahead_then_jumping_back_keeps_every_stream_in_order(station, broker, keys, hq_engine,
                                                                             runners, monkeypatch):
    skewed = SkewedTime(+600)
    monkeypatch.setattr(outbox, "time", skewed)
    make_events(station, 200, prefix="ahead")
    skewed.offset_s = -600  # the clock is corrected, and then some: a jump of 20 minutes back
    make_events(station, 200, prefix="behind")
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="drained")
    for (stream,) in hq_rows(hq_engine, "SELECT DISTINCT stream FROM hq_event"):
        order = stamps(hq_engine, stream)
        assert order == sorted(order) and len(set(order)) == len(order), stream
    # 10 minutes is within what HQ accepts without a flag
    assert hq_rows(hq_engine, "SELECT count(*) FROM hq_alert") == [(0,)]


def test_hq_ten_minutes_ahead_or_behind_is_applied_and_later_station_events_stamp_after_it(
        station, broker, keys, hq_engine, runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    for n, offset in enumerate((timedelta(minutes=10), timedelta(minutes=-10))):
        version = f"{CATALOG['version']}-{n}"
        with transaction(hq_engine) as session:
            enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", version,
                             {**CATALOG, "version": version}, utc_now() + offset)
        wait_until(lambda: station.catalog().version == version, what=f"catalogue applied (HQ {offset})")
    (hq_stamp,) = hq_rows(hq_engine, "SELECT max(hlc) FROM hq_downlink")[0]
    make_events(station, 1, prefix="after")
    with station.store.read() as conn:
        (mine,) = conn.execute("SELECT hlc FROM outbox WHERE idem_key = 'after-0'").fetchone()
    assert Hlc.decode(mine) > Hlc.decode(hq_stamp)  # causality: after what HQ said, even 10 min ahead


def test_a_downlink_stamp_beyond_the_bound_is_quarantined_and_the_stream_goes_on(station, broker, keys, hq_engine,
                                                                                 runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys, max_clock_ahead_s=3600))
    with transaction(hq_engine) as session:
        enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", "from-the-future",
                         {**CATALOG, "version": "from-the-future"}, utc_now() + timedelta(hours=2))
        enqueue_downlink(session, STATION_ID, "catalog", "catalog.version", "today", {**CATALOG, "version": "today"},
                         utc_now())
    wait_until(lambda: station.catalog().version == "today", what="the next message applied")
    with station.store.read() as conn:
        rows = conn.execute("SELECT kind, entity_id FROM conflict").fetchall()
        wall = conn.execute("SELECT hlc_wall_ms FROM node").fetchone()[0]
    assert [tuple(r) for r in rows] == [("sync_clock_ahead", "from-the-future")]
    assert wall < (utc_now() + timedelta(hours=1)).timestamp() * 1000  # the station's clock was not dragged along
