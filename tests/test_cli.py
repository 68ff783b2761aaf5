"""The `station-edge` command line: the shape scripts rely on, exit codes, clear errors."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from edge.cli.main import main
from tests.stations import TEST_CONFIG
from tests.test_staff import MANAGER_PIN, STAFF

ROOT = Path(__file__).resolve().parents[1]
TOMORROW_9 = "2026-11-24T09:00:00+08:00"


def cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def manager_pin(monkeypatch):
    """The manager S01's PIN where the command line reads it: run commands with `--operator S01`."""
    monkeypatch.setenv("STATION_EDGE_PIN", MANAGER_PIN)


@pytest.fixture
def data_dir(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650")
                      + STAFF, encoding="utf-8")
    data = tmp_path / "data"
    code, out, _ = cli(capsys, "--data-dir", data, "init", "--config", config)
    assert code == 0 and "ready" in out
    return data


def counts(data_dir: Path) -> tuple[int, int]:
    with sqlite3.connect(data_dir / "station.db") as conn:
        return (conn.execute("SELECT count(*) FROM booking").fetchone()[0],
                conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_scripted_round_trip(data_dir, capsys):
    code, out, _ = cli(capsys, "--data-dir", data_dir, "service", "list", "--json")
    assert code == 0
    assert {item["code"] for item in json.loads(out)} == {"WASH", "OIL", "TYRE", "PKG"}

    code, out, _ = cli(capsys, "--data-dir", data_dir, "slots", "--date", "2030-01-07", "--services", "OIL", "--json")
    slots = json.loads(out)
    assert code == 0 and slots[0] == {"bay": "L1", "start": "2030-01-07T08:00:00+08:00",
                                      "end": "2030-01-07T08:45:00+08:00", "technicians": ["T1", "T2"],
                                      "reserved": False,
                                      "legs": [{"bay": "L1", "start": "2030-01-07T08:00:00+08:00",
                                                "technicians": ["T1", "T2"]}]}

    start = slots[0]["start"]
    code, out, _ = cli(capsys, "--data-dir", data_dir, "book", "--bay", "L1", "--start", start,
                       "--services", "OIL", "--plate", "沪A12345", "--phone", "13800138000", "--json")
    booking = json.loads(out)
    assert code == 0 and booking["id"] and booking["state"] == "confirmed" and booking["bay_id"] == "L1"

    code, out, err = cli(capsys, "--data-dir", data_dir, "book", "--bay", "L1", "--start", start,
                         "--services", "TYRE", "--plate", "沪B99999", "--json")
    assert code == 5
    assert json.loads(out)["error"] == "slot_taken"
    assert err.strip().count("\n") == 0 and "L1 is already booked at 2030-01-07 08:00" in err

    code, out, _ = cli(capsys, "--data-dir", data_dir, "booking", "list", "--date", "2030-01-07")
    assert code == 0 and booking["code"] in out and "沪A12345" in out

    code, out, _ = cli(capsys, "--data-dir", data_dir, "booking", "cancel", booking["code"], "--json")
    assert code == 0 and json.loads(out)["state"] == "cancelled"
    code, out, _ = cli(capsys, "--data-dir", data_dir, "sync", "outbox", "--json")
    types = [e["type"] for e in json.loads(out)["events"]]
    assert "booking.confirmed" in types and "booking.cancelled" in types


def test_console_script_runs_as_a_process(data_dir):
    result = subprocess.run(
        [sys.executable, "-m", "edge.cli.main", "--data-dir", str(data_dir), "service", "list", "--json"],
        capture_output=True, text=True, cwd=ROOT, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)


@pytest.mark.parametrize(
    ("args", "code", "named"),
    [
        (["slots", "--date", "2026-13-01", "--services", "OIL"], 2, "--date"),
        (["book", "--start", "tomorrow", "--services", "OIL", "--plate", "沪A1"], 2, "--start"),
        (["book", "--start", TOMORROW_9, "--services", ",", "--plate", "沪A1"], 2, "--services"),
        (["book", "--start", TOMORROW_9, "--services", "NOPE", "--plate", "沪A12345"], 4, "NOPE"),
        (["book", "--start", TOMORROW_9, "--services", "OIL", "--plate", "!"], 2,
         "argument --plate: '!' is not a licence plate"),
        (["book", "--start", TOMORROW_9, "--services", "OIL", "--plate", "沪A12345", "--bay", "Q7"], 4, "Q7"),
        (["booking", "confirm", "ZZZZZZ"], 4, "ZZZZZZ"),
        (["sync", "outbox", "--limit", "-3"], 2, "--limit"),
    ],
)
def test_bad_input_names_the_argument_and_writes_nothing(data_dir, capsys, args, code, named):
    before = counts(data_dir)
    try:
        status = main(["--data-dir", str(data_dir), *args])
    except SystemExit as exit_:  # argparse exits on its own with 2
        status = exit_.code
    err = capsys.readouterr().err
    assert status == code
    assert named in err
    assert counts(data_dir) == before


def test_bad_config_names_file_line_and_key_and_creates_nothing(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text(TEST_CONFIG.replace("slot_minutes = 30", "slot_minutes = 45"), encoding="utf-8")
    line = TEST_CONFIG.splitlines().index("slot_minutes = 30") + 1
    code, _, err = cli(capsys, "--data-dir", tmp_path / "data", "init", "--config", config)
    assert code == 3
    assert f"{config}:{line}: station.slot_minutes:" in err
    assert not (tmp_path / "data").exists()


def test_missing_data_dir_is_a_usage_error(capsys, monkeypatch):
    monkeypatch.delenv("STATION_EDGE_HOME", raising=False)
    code, _, err = cli(capsys, "service", "list")
    assert code == 2 and "--data-dir" in err


def test_a_data_dir_without_a_station_says_to_init(tmp_path, capsys):
    for command in (["service", "list"], ["db", "upgrade"]):
        code, _, err = cli(capsys, "--data-dir", tmp_path, *command)
        assert code == 8 and "station-edge init" in err


def test_an_unknown_coupon_template_is_not_found_and_named(data_dir, capsys):
    code, out, err = cli(capsys, "--data-dir", data_dir, "member", "coupon", "issue", "--template", "NOPE")
    assert code == 4
    assert "no coupon template 'NOPE'" in err and "Traceback" not in err
