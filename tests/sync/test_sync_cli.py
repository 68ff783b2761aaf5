"""The sync and hq commands as a user runs them: real processes, the station's config file."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

import pytest

from edge.cli.main import main
from edge.services.setup import init_station
from edge.services.station import open_station
from tests.stations import TEST_CONFIG
from tests.sync.conftest import (REPO, backlog, hq_keys, make_events, start_hq, station_cli, sync_toml,
                                 wait_until)


@pytest.fixture
def configured(tmp_path, broker, keys):
    """A station whose own config file has an enabled [sync] section."""
    config = tmp_path / "config.toml"
    config.write_text(TEST_CONFIG + sync_toml(broker, keys), encoding="utf-8")
    station = init_station(config, tmp_path / "data")
    yield station
    station.store.close()


@pytest.mark.parametrize("command", [("sync", "run"), ("run",)], ids=["sync-run", "daemon"])
def test_the_station_syncs_alone_and_in_the_daemon_and_stops_on_sigterm(configured, broker, keys, sqlite_hq,
                                                                       runners, command, tmp_path):
    hq_engine = sqlite_hq
    made = make_events(configured, 500)
    start_hq(runners, hq_engine, keys, broker)
    process = station_cli("--data-dir", str(configured.store.path.parent), *command,
                          stderr=open(tmp_path / "station.log", "wb"))
    try:
        wait_until(lambda: backlog(configured) == 0, what="outbox drained by the process")
        assert sorted(hq_keys(hq_engine)) == sorted(made)
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    with configured.store.read() as conn:
        assert conn.execute("SELECT state FROM sync_link").fetchone()[0] == "offline"


def test_sync_status_shows_the_link_backlog_and_marks(configured, capsys):
    make_events(configured, 3, types=("member.updated",))
    assert main(["--data-dir", str(configured.store.path.parent), "--json", "sync", "status"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["link"] == "never" and shown["backlog"] == 3
    assert shown["uplink"] == {"member": {"written": 3, "acked_upto": 0}}
    assert main(["--data-dir", str(configured.store.path.parent), "sync", "status"]) == 0
    assert "3 events waiting for HQ" in capsys.readouterr().out


def test_sync_run_without_a_sync_section_names_the_key(station, capsys):
    assert main(["--data-dir", str(station.store.path.parent), "sync", "run"]) == 3
    assert "sync" in capsys.readouterr().err


def test_a_new_epoch_by_hand_renumbers_what_hq_has_not_acked(station, capsys):
    make_events(station, 4, types=("member.updated",))
    before = open_station(station.store.path.parent).epoch
    assert main(["--data-dir", str(station.store.path.parent), "--json", "sync", "new-epoch"]) == 0
    epoch = json.loads(capsys.readouterr().out)["epoch"]
    assert epoch != before
    with station.store.read() as conn:
        rows = conn.execute("SELECT epoch, seq FROM outbox ORDER BY seq").fetchall()
    assert [tuple(r) for r in rows] == [(epoch, n) for n in range(1, 5)]


def test_publish_catalog_queues_a_version_and_names_a_bad_entry(tmp_path, capsys):
    db = str(tmp_path / "hq.db")
    good = tmp_path / "catalog.toml"
    good.write_text('version = "v9"\n[[services]]\ncode = "WASH"\nname_zh = "洗车"\nname_en = "Wash"\n'
                    'category = "wash"\nduration_minutes = 30\nprice = 3500\nbay_kinds = ["wash"]\n', encoding="utf-8")
    assert main(["--json", "hq", "publish-catalog", str(good), "--station", "S1", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out) == {"version": "v9", "stations": {"S1": 1}}
    assert main(["--json", "hq", "lag", "--db", db]) == 0
    assert json.loads(capsys.readouterr().out)[0]["downlink_pending"] == 1
    bad = tmp_path / "bad.toml"
    bad.write_text(good.read_text(encoding="utf-8").replace("price = 3500", "price = -1"), encoding="utf-8")
    assert main(["hq", "publish-catalog", str(bad), "--db", db]) == 2
    assert "services[0].price" in capsys.readouterr().err


def test_hq_init_never_prints_the_database_password():
    from tests.pg_server import postgres_url

    server = postgres_url().replace("postgres@", "postgres:s3cret-pw@", 1)  # trust auth: the password is unused
    for url in (server, "postgresql+psycopg://hq:s3cret-pw@127.0.0.1:1/nowhere"):  # a database there, and none
        done = subprocess.run([sys.executable, "-m", "edge.cli.main", "hq", "init", "--db", url], cwd=REPO,
                              capture_output=True, text=True, timeout=60)
        assert "s3cret-pw" not in done.stdout + done.stderr
    assert done.returncode != 0 and "127.0.0.1" in done.stderr  # the failing one says where, not with what
    ready = subprocess.run([sys.executable, "-m", "edge.cli.main", "hq", "init", "--db", server], cwd=REPO,
                           capture_output=True, text=True, timeout=60)
    assert ready.returncode == 0 and "postgres:***@" in ready.stdout
