"""Outages: the broker down while the station works, killed and restarted mid-sync."""

from __future__ import annotations

import random
import threading
import time

from edge.domain.hlc import Hlc
from tests.sync.conftest import (backlog, hq_keys, hq_rows, make_events, start_hq, start_station_sync,
                                 station_keys, sync_settings, wait_until)


def assert_exactly_once(station, engine):
    applied = hq_keys(engine)
    assert len(applied) == len(set(applied))
    assert set(applied) == station_keys(station)
    inbox = hq_rows(engine, "SELECT stream, count(*), max(seq), sum(CASE WHEN status = 'applied' THEN 1 ELSE 0 END)"
                            " FROM hq_inbox GROUP BY stream")
    for stream, count, top, done in inbox:
        assert count == top == done, stream  # gap-free, each seq once, each applied


def test_events_made_while_the_broker_is_down_all_arrive_once_in_order(station, broker, keys, hq_engine, runners):
    start_hq(runners, hq_engine, keys, broker)
    sync = start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: sync.link.connected, what="station connected")
    broker.stop()
    wait_until(lambda: not sync.link.connected, what="station noticed the outage")
    make_events(station, 5000)
    assert backlog(station) == 5000
    broker.start()
    wait_until(lambda: backlog(station) == 0, timeout=60, what="backlog drained")
    assert_exactly_once(station, hq_engine)
    # per stream, HQ holds the events in the station's order: seq order is HLC order
    for (stream,) in hq_rows(hq_engine, "SELECT DISTINCT stream FROM hq_event"):
        stamps = [Hlc.decode(h) for (h,) in hq_rows(
            hq_engine, "SELECT hlc FROM hq_event WHERE stream = :s ORDER BY seq", s=stream)]
        assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_broker_killed_and_restarted_repeatedly_loses_nothing_and_doubles_nothing(station, broker, keys, hq_engine,
                                                                                  runners):
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys, batch_max_events=50))
    rng = random.Random(7)
    done = threading.Event()
    made: list[str] = []

    def keep_making() -> None:
        round_no = 0
        while not done.is_set():
            made.extend(make_events(station, 40, prefix=f"r{round_no}"))
            round_no += 1
            time.sleep(0.02)

    maker = threading.Thread(target=keep_making)
    maker.start()
    try:
        for _ in range(4):
            time.sleep(rng.uniform(0.2, 0.5))
            broker.kill()
            time.sleep(rng.uniform(0.05, 0.3))
            broker.start()
    finally:
        done.set()
        maker.join()
    wait_until(lambda: backlog(station) == 0, timeout=60, what="backlog drained after the last restart")
    assert len(made) > 200
    assert_exactly_once(station, hq_engine)
