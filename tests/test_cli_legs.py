"""Bookings in legs through the real `station-edge` command, as the desk types it: PKG-CARE and
OIL-STD + WASH-STD of the example config are found, booked, moved, checked in and walked from
the lift to the wash.

The station's clock is the machine's: the config's time zone is one where it is mid-morning
now (the demo's trick), so today's slots are open whatever the hour here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.cli.demo_day import demo_config, demo_zone

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def desk(tmp_path):
    zone = demo_zone(datetime.now(UTC))
    config = tmp_path / "station.toml"
    config.write_text(demo_config((ROOT / "config.example.toml").read_text(encoding="utf-8"), zone), encoding="utf-8")
    env = {**os.environ, "STATION_EDGE_HOME": str(tmp_path / "data")}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([sys.executable, "-m", "edge.cli.main", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=60)
        if ok:
            assert done.returncode == 0, f"{args}: {done.stderr}"
        return done

    run("init", "--config", str(config))
    run.zone = ZoneInfo(zone)  # type: ignore[attr-defined]
    return run


def later_today(zone: ZoneInfo, hours: int) -> str:
    """A grid start `hours` from now on the station's clock (it reads 10:xx), as the desk types it."""
    local = datetime.now(UTC).astimezone(zone) + timedelta(hours=hours)
    return local.replace(minute=0, second=0, microsecond=0, tzinfo=None).isoformat(timespec="minutes")


@pytest.mark.parametrize("services", ["PKG-CARE", "OIL-STD,WASH-STD"])
def test_work_in_legs_books_moves_checks_in_and_walks_to_the_wash_from_the_cli(desk, services):
    day = later_today(desk.zone, 0)[:10]
    slots = json.loads(desk("slots", "--date", day, "--services", services, "--json").stdout)
    assert slots and all([leg["bay"][0] for leg in s["legs"]] == ["L", "W"] for s in slots)
    text = desk("slots", "--date", day, "--services", services).stdout
    assert "L1>W1" in text

    booked = json.loads(desk("book", "--start", later_today(desk.zone, 3), "--services", services,
                             "--plate", "沪A55501", "--json").stdout)
    assert [leg["bay_id"][0] for leg in booked["legs"]] == ["L", "W"]
    code = booked["code"]
    shown = desk("booking", "show", code).stdout
    assert "leg" in shown and "W1" in shown and "OIL-STD" in shown

    moved = json.loads(desk("booking", "reschedule", code, "--start", later_today(desk.zone, 2), "--json").stdout)
    assert moved["start_at"] < booked["start_at"]
    assert all(new["start_at"] < old["start_at"] for new, old in zip(moved["legs"], booked["legs"]))

    checked = json.loads(desk("checkin", "--plate", "沪A55501", "--json").stdout)
    assert checked["state"] == "checked_in" and checked["bay_id"] == moved["legs"][0]["bay_id"]
    for stage in ("in_bay", "in_service", "quality_check"):
        desk("booking", "progress", code, stage)
    at_wash = json.loads(desk("booking", "progress", code, "done", "--json").stdout)
    assert (at_wash["state"], at_wash["bay_id"], at_wash["leg"]) == ("checked_in", "W1", 1)
    listing = desk("booking", "list").stdout
    assert "W1" in listing and code in listing
    for stage in ("in_service", "quality_check", "done"):
        last = desk("booking", "progress", code, stage, "--json")
    assert json.loads(last.stdout)["state"] == "completed"


def test_a_leg_is_handed_to_another_technician_and_refusals_name_why(desk):
    start = later_today(desk.zone, 4)
    booked = json.loads(desk("book", "--start", start, "--services", "PKG-CARE", "--plate", "沪A55502",
                             "--technician", "王建国", "--json").stdout)
    assert booked["legs"][0]["technician_id"] == "T01"
    moved = json.loads(desk("booking", "reassign", booked["code"], "--technician", "T02", "--leg", "1",
                            "--json").stdout)
    assert moved["legs"][0]["technician_id"] == "T02"
    refused = desk("booking", "reassign", booked["code"], "--technician", "张丽", ok=False)
    assert refused.returncode == 6 and "张丽 has not the skills mechanic" in refused.stderr
    wash = desk("booking", "reassign", booked["code"], "--technician", "T01", "--leg", "2", ok=False)
    assert wash.returncode == 6 and "WASH-PREM needs no technician" in wash.stderr
    bad = desk("booking", "reassign", booked["code"], "--technician", "T01", "--leg", "0", ok=False)
    assert bad.returncode == 2 and "argument --leg" in bad.stderr
