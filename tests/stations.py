"""A small test station (config text and a builder) shared by the service, CLI and race tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from edge.domain.permissions import Actor, ActorKind, Role
from edge.services.setup import init_station
from edge.services.station import Station
from edge.store.types import to_db_time

# a manager whose PIN the terminal or the CLI has checked: passed as `manager=` to privileged services
MANAGER = Actor("S01", "周敏", ActorKind.STAFF, Role.MANAGER)

TEST_CONFIG = """
[station]
id = "TST-001"
name = "Test forecourt"
timezone = "Asia/Shanghai"
currency = "CNY"
locale = "en"
slot_minutes = 30

[station.hours]
mon = ["08:00-18:00"]
tue = ["08:00-18:00"]
wed = ["08:00-18:00"]
thu = ["08:00-18:00"]
fri = ["08:00-18:00"]
sat = ["08:00-18:00"]
sun = ["08:00-18:00"]

[[bays]]
id = "W1"
name = "Wash"
kind = "wash"

[[bays]]
id = "L1"
name = "Lift 1"
kind = "lift"

[[bays]]
id = "L2"
name = "Lift 2"
kind = "lift"

[[services]]
code = "WASH"
name_zh = "洗车"
name_en = "Wash"
category = "wash"
duration_minutes = 30
price = 3000
bay_kinds = ["wash"]

[[services]]
code = "OIL"
name_zh = "保养"
name_en = "Oil change"
category = "maintenance"
duration_minutes = 45
buffer_minutes = 15
price = 29900
skill = "mechanic"
bay_kinds = ["lift"]

[[services]]
code = "TYRE"
name_zh = "换胎"
name_en = "Tyre rotation"
category = "maintenance"
duration_minutes = 30
price = 8000
skill = "mechanic"
bay_kinds = ["lift"]

[[packages]]
code = "PKG"
name_zh = "套餐"
name_en = "Care package"
services = ["OIL", "WASH"]
price = 31900

[[technicians]]
id = "T1"
name = "Wang"
skills = ["mechanic"]
[technicians.roster]
mon = ["08:00-18:00"]
tue = ["08:00-18:00"]
wed = ["08:00-18:00"]
thu = ["08:00-18:00"]
fri = ["08:00-18:00"]
sat = ["08:00-18:00"]
sun = ["08:00-18:00"]

[[technicians]]
id = "T2"
name = "Li"
skills = ["mechanic"]
[technicians.roster]
mon = ["08:00-18:00"]
tue = ["08:00-18:00"]
wed = ["08:00-18:00"]
thu = ["08:00-18:00"]
fri = ["08:00-18:00"]
sat = ["08:00-18:00"]
sun = ["08:00-18:00"]

[[tiers]]
name = "regular"
horizon_days = 3
hold_minutes = 10

[[tiers]]
name = "gold"
horizon_days = 7
hold_minutes = 30
growth_threshold = 1000

[booking]
late_alert_minutes = 10
no_show_minutes = 30
waitlist_offer_minutes = 20

[booking.hot_slots]
min_tier = "gold"
release_hours_before = 24
windows = [{ days = ["sat"], start = "09:00", end = "12:00" }]
"""

# Monday 2026-11-23 07:00 in Shanghai: the station opens at 08:00
NOW = datetime(2026, 11, 22, 23, 0, tzinfo=UTC)


def make_station(tmp_path: Path, *, config: str = TEST_CONFIG, now: datetime = NOW) -> Station:
    config_path = tmp_path / "config.toml"
    config_path.write_text(config, encoding="utf-8")
    station = init_station(config_path, tmp_path / "data")
    station.clock = lambda: now
    return station


def open_drawer(station: Station, *, float_minor: int = 20000, now: datetime = NOW) -> str:
    """Open a shift on the station's terminal, as the desk does before taking cash; its id."""
    shift_id = f"shift-{station.terminal}-{now:%H%M%S}"
    with station.store.write() as conn:
        conn.execute("INSERT INTO shift (id, terminal, opened_by, opened_at, float_minor, note)"
                     " VALUES (?, ?, ?, ?, ?, '')",
                     (shift_id, station.terminal, station.actor.id, to_db_time(now), float_minor))
    return shift_id
