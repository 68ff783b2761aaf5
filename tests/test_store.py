"""The store: pragmas, re-applying a config, the outbox clock and drain order."""

from __future__ import annotations

import gc
import os
import sqlite3
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from edge.domain.hlc import Hlc, tick
from edge.errors import StoreError
from edge.services import bookings
from edge.services.setup import init_station
from edge.store.db import Store
from edge.store.outbox import _TICK_HLC, pending_events
from tests.stations import TEST_CONFIG

TZ = ZoneInfo("Asia/Shanghai")


def test_connections_use_wal_full_sync_and_foreign_keys(station):
    with station.store.read() as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_a_failed_write_leaves_nothing_behind(station):
    with pytest.raises(RuntimeError), station.store.write() as conn:
        conn.execute("UPDATE node SET catalog_version = 'half-done'")
        raise RuntimeError("power cut in the middle")
    with station.store.read() as conn:
        assert conn.execute("SELECT catalog_version FROM node").fetchone()[0] != "half-done"


def test_reapplying_the_config_keeps_bookings_and_retires_removed_items(tmp_path, station):
    booked = bookings.book(station, services=["OIL"], start=datetime(2026, 11, 23, 9, tzinfo=TZ),
                           plate="沪A12345", bay_id="L2", now=station.clock())
    changed = TEST_CONFIG.replace('[[bays]]\nid = "L2"\nname = "Lift 2"\nkind = "lift"\n', "")
    changed = changed.replace("price = 29900", "price = 31900")
    config = tmp_path / "changed.toml"
    config.write_text(changed, encoding="utf-8")
    again = init_station(config, tmp_path / "data")
    catalog = again.catalog()
    assert "L2" not in catalog.bays and catalog.services["OIL"].price_minor == 31900
    assert catalog.version != station.catalog().version
    assert bookings.booking(again, booked.id).bay_id == "L2"  # history stays
    again.store.close()


def test_a_data_dir_of_another_station_is_refused(tmp_path, station):
    other = tmp_path / "other.toml"
    other.write_text(TEST_CONFIG.replace('id = "TST-001"', 'id = "TST-999"'), encoding="utf-8")
    with pytest.raises(StoreError, match="holds station TST-001"):
        init_station(other, tmp_path / "data")


@pytest.mark.parametrize(("wall", "logical", "now"), [(0, 0, 5), (10, 3, 5), (10, 3, 10), (10, 3, 11)])
def test_the_sql_clock_tick_is_the_domain_tick(wall, logical, now):
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE node (id INTEGER PRIMARY KEY, hlc_wall_ms INTEGER, hlc_logical INTEGER, epoch TEXT)")
    conn.execute("INSERT INTO node VALUES (1, ?, ?, 'e1')", (wall, logical))
    wall_ms, logical_after, epoch = conn.execute(_TICK_HLC, (now, now)).fetchone()
    assert Hlc(wall_ms, logical_after) == tick(Hlc(wall, logical), now)
    assert epoch == "e1"


def test_pending_events_drain_in_stream_priority_order(station):
    start = datetime(2026, 11, 23, 9, tzinfo=TZ)
    booking = bookings.book(station, services=["WASH"], start=start, plate="沪A12345", phone="13800138000")
    bookings.check_in(station, booking.code)
    bookings.set_progress(station, booking.code, "in_bay")
    with station.store.read() as conn:
        streams = [e["stream"] for e in pending_events(conn)]
    # the audit trail drains right after payments, before the bookings it records
    assert streams == ["audit"] * streams.count("audit") + ["booking", "checkin", "member", "ops"]


def test_another_process_s_new_epoch_and_catalogue_reach_a_running_station(tmp_path, station, monkeypatch):
    """The UI and the daemon keep a Station open for days; sync (another process) may start
    a new epoch or apply HQ's catalogue meanwhile."""
    from dataclasses import replace

    from edge.services import station as station_module
    from edge.store.catalog import save_catalog
    from edge.store.db import Store

    station.catalog()
    old_epoch = station.epoch
    other = Store(station.store.path)
    with other.write() as conn:
        conn.execute("UPDATE node SET epoch = 'epoch-after-restore' WHERE id = 1")
        current = station.catalog()
        oil = replace(current.services["OIL"], price_minor=35900)
        save_catalog(conn, replace(current, version="hq-v2", services={**current.services, "OIL": oil}))
    other.close()

    monkeypatch.setattr(station_module, "CATALOG_CHECK_SECONDS", 0.0)
    start = datetime(2026, 11, 24, 9, tzinfo=TZ)
    booked = bookings.book(station, services=["OIL"], start=start, plate="沪A12345")
    assert station.epoch == old_epoch != "epoch-after-restore"  # the cached identity is stale
    assert booked.price_version == "hq-v2" and booked.price_minor == 35900
    with station.store.read() as conn:
        epochs = {row[0] for row in conn.execute("SELECT epoch FROM outbox WHERE entity_id = ?", (booked.id,))}
    assert epochs == {"epoch-after-restore"}


def _open_handles(path) -> int:
    return sum(1 for fd in os.listdir("/proc/self/fd")
               if os.path.realpath(f"/proc/self/fd/{fd}").startswith(str(path)))


def test_closing_the_store_never_pulls_a_connection_from_under_another_thread(tmp_path):
    """The daemon closes the store while its sync thread may still be mid-query: closing that
    thread's connection under it crashed the whole process. It finishes its query, and once
    it has ended nothing of it stays open."""
    store = Store(tmp_path / "station.db")
    with store.write() as conn:
        conn.execute("CREATE TABLE reading (x)")
        conn.executemany("INSERT INTO reading VALUES (?)", [(i,) for i in range(20_000)])
    done, errors = threading.Event(), []

    def read_until_done() -> None:
        while not done.is_set():
            try:
                with store.read() as conn:
                    conn.execute("SELECT sum(x) FROM reading").fetchone()
            except Exception as err:  # any failure of the reader is what this test is about
                errors.append(err)

    reader = threading.Thread(target=read_until_done)
    reader.start()
    for _ in range(200):
        time.sleep(0.002)
        store.close()
    done.set()
    reader.join()
    store.close()
    gc.collect()
    assert errors == []
    assert _open_handles(tmp_path / "station.db") == 0
