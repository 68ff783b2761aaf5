"""Processes killed with SIGKILL while syncing: the station's, and one of two HQ workers."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

from tests.sync.conftest import (REPO, backlog, hq_keys, make_events, start_hq, start_station_sync, station_cli,
                                 sync_settings, wait_until)
from tests.sync.test_outage import assert_exactly_once

KILLS = 50


def test_station_sync_killed_at_50_random_points_loses_and_doubles_nothing(station, broker, keys, hq_engine,
                                                                           runners):
    start_hq(runners, hq_engine, keys, broker)
    make_events(station, 1000, prefix="before")
    done = threading.Event()

    def keep_making() -> None:  # the counter keeps working while sync dies and restarts
        n = 0
        while not done.is_set():
            make_events(station, 20, prefix=f"during{n}")
            n += 1
            time.sleep(0.05)

    maker = threading.Thread(target=keep_making)
    maker.start()
    settings = sync_settings(broker, keys, batch_max_events=100, ack_timeout_s=1)
    try:
        subprocess.run([sys.executable, "-m", "tests.sync.kill_station", str(station.store.path.parent),
                        settings.model_dump_json(), str(KILLS), "11"], cwd=REPO, check=True, timeout=120)
    finally:
        done.set()
        maker.join()
    assert hq_keys(hq_engine)  # the killed processes did sync in between
    start_station_sync(runners, station, settings)
    wait_until(lambda: backlog(station) == 0, timeout=60, what="backlog drained after the kills")
    assert_exactly_once(station, hq_engine)


def test_one_of_two_hq_workers_killed_loses_nothing(station, broker, keys, hq_url, hq_engine, runners, tmp_path):
    workers = [station_cli("hq", "run", "--db", hq_url, "--broker", f"127.0.0.1:{broker.port}",
                           "--station-keys", str(keys.station_pubs), "--signing-key", str(keys.hq_key),
                           "--worker", name, stderr=open(tmp_path / f"hq-{name}.log", "wb"))
               for name in ("a", "b")]
    try:
        make_events(station, 1500)
        start_station_sync(runners, station, sync_settings(broker, keys, batch_max_events=25, ack_timeout_s=1))
        wait_until(lambda: backlog(station) < 1300, timeout=30, what="HQ workers started taking events")
        workers[0].kill()
        wait_until(lambda: backlog(station) == 0, timeout=60, what="the other worker took over")
        assert_exactly_once(station, hq_engine)
    finally:
        for worker in workers:
            worker.kill()
            worker.wait()
