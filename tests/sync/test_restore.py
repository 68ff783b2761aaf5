"""A station database restored from a backup starts a new epoch: nothing written after the
restore is mistaken for a duplicate of what HQ already holds."""

from __future__ import annotations

import shutil
import sqlite3

import pytest

from edge.services.station import open_station
from tests.sync.conftest import (backlog, hq_keys, make_events, open_epoch, start_station_sync, start_hq,
                                 sync_settings, wait_until)


def backup(path, target) -> None:
    source, copy = sqlite3.connect(path), sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()


@pytest.mark.parametrize("after_restore", [20, 80], ids=["fewer-than-hq-holds", "more-than-hq-holds"])
def test_a_restored_database_gets_a_new_epoch_and_its_new_events_all_reach_hq(station, broker, keys, hq_engine,
                                                                             runners, tmp_path, after_restore):
    db = station.store.path
    make_events(station, 50, types=("member.updated",), prefix="old")
    backup(db, tmp_path / "backup.db")
    make_events(station, 50, types=("member.updated",), prefix="lost")  # HQ gets these, the backup has not
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="first drain")
    runners.pop().stop()
    station.store.close()
    old_epoch = open_epoch(station)

    for leftover in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        leftover.unlink(missing_ok=True)
    shutil.copyfile(tmp_path / "backup.db", db)
    restored = open_station(db.parent)
    make_events(restored, after_restore, types=("member.updated",), prefix="new")  # seqs HQ already holds
    start_station_sync(runners, restored, sync_settings(broker, keys))
    wait_until(lambda: backlog(restored) == 0, what="drain after the restore")
    assert open_epoch(restored) != old_epoch
    applied = hq_keys(hq_engine)
    expected = {f"old-{i}" for i in range(50)} | {f"lost-{i}" for i in range(50)} | {
        f"new-{i}" for i in range(after_restore)}
    assert sorted(applied) == sorted(expected)
    restored.store.close()


def test_hq_ordering_a_new_epoch_renumbers_the_waiting_events_and_they_all_arrive(station, broker, keys, hq_engine,
                                                                                 runners):
    from edge.services.station import utc_now
    from sync.hq.db import transaction
    from sync.hq.downlink import enqueue_downlink
    from tests.sync.conftest import STATION_ID

    old_epoch = open_epoch(station)
    made = make_events(station, 30)
    with transaction(hq_engine) as session:  # what HQ does when the station's seqs come with new content
        enqueue_downlink(session, STATION_ID, "cmd", "cmd.new_epoch", f"epoch:{old_epoch}", {"epoch": old_epoch},
                         utc_now())
        enqueue_downlink(session, STATION_ID, "cmd", "cmd.new_epoch", "epoch:stale", {"epoch": "stale"}, utc_now())
    start_hq(runners, hq_engine, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))
    wait_until(lambda: backlog(station) == 0, what="drained")
    new_epoch = open_epoch(station)
    assert new_epoch != old_epoch
    assert sorted(hq_keys(hq_engine)) == sorted(made)
    # both orders applied, and the stale one (for an epoch the station is not on) started none
    with station.store.read() as conn:
        assert conn.execute("SELECT applied_upto FROM sync_downlink WHERE stream = 'cmd'").fetchone()[0] == 2
        epochs = {r[0] for r in conn.execute("SELECT DISTINCT epoch FROM outbox")}
    assert epochs <= {old_epoch, new_epoch}
