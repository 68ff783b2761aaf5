"""Materials inventory against a real station database: movements, consumption, low-stock alerts, shortages."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge.cli.main import main
from edge.domain import inventory as rules
from edge.domain.catalog import ServiceItem
from edge.errors import NotFound, RuleViolation
from edge.services import bookings, inventory
from edge.services.setup import init_station
from tests.stations import MANAGER, TEST_CONFIG, make_station
from tests.test_cli import manager_pin  # noqa: F401 (a fixture)
from tests.test_staff import STAFF

TZ = ZoneInfo("Asia/Shanghai")
MONDAY = date(2026, 11, 23)

MATERIALS = """
[[materials]]
sku = "OIL-5W30"
name_zh = "机油 5W-30"
name_en = "Engine oil 5W-30"
unit = "L"
reorder_level = 4
initial_stock = 10

[[materials]]
sku = "FILTER-OIL"
name_zh = "机滤"
name_en = "Oil filter"
unit = "pcs"
reorder_level = 1
initial_stock = 3

[[materials]]
sku = "CHEM-SHAMPOO"
name_zh = "洗车香波"
name_en = "Shampoo"
unit = "dose"
reorder_level = 2
initial_stock = 5
"""


def _with_materials(config: str) -> str:
    # the test station's services use no materials: give the oil change and the wash some
    config = config.replace("price = 3000\n", 'price = 3000\nmaterials = { CHEM-SHAMPOO = 1 }\n', 1)
    oil_materials = "materials = { OIL-5W30 = 4, FILTER-OIL = 1 }\n"
    config = config.replace("buffer_minutes = 15\n", "buffer_minutes = 15\n" + oil_materials, 1)
    return config + MATERIALS


INVENTORY_CONFIG = _with_materials(TEST_CONFIG)


def at(hh: int, mm: int = 0, day: date = MONDAY) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=TZ)


@pytest.fixture
def inv(tmp_path):
    station = make_station(tmp_path, config=INVENTORY_CONFIG)
    yield station
    station.store.close()


def on_hand(station) -> dict[str, int]:
    return {m.sku: m.on_hand for m in inventory.stock(station)}


def ops_events(station) -> list[dict]:
    with station.store.read() as conn:
        rows = conn.execute("SELECT seq, type, entity_id, idem_key, body FROM outbox WHERE stream = 'ops' ORDER BY seq")
        return [dict(row) | {"body": json.loads(row["body"])} for row in rows]


def inventory_events(station) -> list[tuple[str, str]]:
    return [(e["type"], e["idem_key"]) for e in ops_events(station) if e["type"].startswith("inventory.")]


# -- init ------------------------------------------------------------------


def test_init_creates_materials_with_their_initial_stock(inv):
    assert on_hand(inv) == {"CHEM-SHAMPOO": 5, "FILTER-OIL": 3, "OIL-5W30": 10}
    oil = next(m for m in inventory.stock(inv) if m.sku == "OIL-5W30")
    assert (oil.unit, oil.reorder_level, oil.version, oil.is_low) == ("L", 4, 1, False)
    (first,) = inventory.movements(inv, sku="OIL-5W30")
    assert (first.kind, first.quantity, first.on_hand_after, first.reason) == ("in", 10, 10, "initial stock")
    assert inventory_events(inv) == [
        ("inventory.moved", "material:OIL-5W30:1"),
        ("inventory.moved", "material:FILTER-OIL:1"),
        ("inventory.moved", "material:CHEM-SHAMPOO:1"),
    ]


def test_rerunning_init_keeps_stock_and_applies_config_changes(tmp_path):
    station = make_station(tmp_path, config=INVENTORY_CONFIG)
    inventory.issue(station, sku="OIL-5W30", quantity=3, reason="spilled")
    events_before = inventory_events(station)
    station.store.close()

    config = tmp_path / "config.toml"
    init_station(config, tmp_path / "data").store.close()  # unchanged config: nothing moves
    changed = INVENTORY_CONFIG.replace('name_en = "Engine oil 5W-30"', 'name_en = "Synthetic oil 5W-30"')
    changed = changed.replace("reorder_level = 4\ninitial_stock = 10", "reorder_level = 8\ninitial_stock = 99")
    config.write_text(changed, encoding="utf-8")
    again = init_station(config, tmp_path / "data")
    try:
        oil = next(m for m in inventory.stock(again) if m.sku == "OIL-5W30")
        assert (oil.on_hand, oil.name_en, oil.reorder_level) == (7, "Synthetic oil 5W-30", 8)
        # the raised level makes 7 L low: that alerts like a fall would, once
        assert inventory_events(again) == events_before + [("inventory.low_stock", "material:OIL-5W30:3:low")]
        assert len(inventory.movements(again, sku="OIL-5W30")) == 2
    finally:
        again.store.close()


def test_a_material_that_starts_low_alerts_once_and_a_removed_one_is_kept_inactive(tmp_path):
    config = INVENTORY_CONFIG + (
        '\n[[materials]]\nsku = "FILM-ROLL"\nname_zh = "膜卷"\nname_en = "Film roll"\nunit = "roll"\nreorder_level = 1\n'
    )
    station = make_station(tmp_path, config=config)
    station.store.close()
    assert inventory_events(station)[-1] == ("inventory.low_stock", "material:FILM-ROLL:1:low")
    station = init_station(tmp_path / "config.toml", tmp_path / "data")  # the same config again
    assert [t for t, _ in inventory_events(station)].count("inventory.low_stock") == 1
    station.store.close()

    (tmp_path / "config.toml").write_text(INVENTORY_CONFIG, encoding="utf-8")
    station = init_station(tmp_path / "config.toml", tmp_path / "data")
    try:
        assert "FILM-ROLL" not in on_hand(station)
        with pytest.raises(NotFound, match="no material 'FILM-ROLL'"):
            inventory.receive(station, sku="FILM-ROLL", quantity=1)
        assert inventory.movements(station, sku="FILM-ROLL") == []  # its history stays readable
    finally:
        station.store.close()


# -- manual movements --------------------------------------------------------


def test_receive_issue_adjust_arithmetic_and_events(inv):
    received = inventory.receive(inv, sku="OIL-5W30", quantity=5, reason="delivery DN-118")
    assert (received.movement.kind, received.movement.quantity, received.material.on_hand) == ("in", 5, 15)
    issued = inventory.issue(inv, sku="OIL-5W30", quantity=3, reason="damaged can")
    assert (issued.movement.kind, issued.movement.quantity, issued.material.on_hand) == ("out", -3, 12)
    counted = inventory.adjust(inv, sku="OIL-5W30", counted=11, reason="stocktake", manager=MANAGER)
    assert (counted.movement.kind, counted.movement.quantity, counted.material.on_hand) == ("adjust", -1, 11)
    same = inventory.adjust(inv, sku="OIL-5W30", counted=11, reason="recount", manager=MANAGER)  # a matching count is recorded too
    assert (same.movement.quantity, same.material.version) == (0, 5)
    assert inventory.receive(inv, sku="FILTER-OIL", quantity=2).movement.reason == "received"

    assert on_hand(inv) == {"CHEM-SHAMPOO": 5, "FILTER-OIL": 5, "OIL-5W30": 11}
    history = inventory.movements(inv, sku="OIL-5W30")
    assert [(m.kind, m.quantity, m.on_hand_after) for m in history] == [
        ("adjust", 0, 11), ("adjust", -1, 11), ("out", -3, 12), ("in", 5, 15), ("in", 10, 10),
    ]
    assert len(inventory.movements(inv, limit=2)) == 2

    events = ops_events(inv)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))  # gap-free
    assert [k for _, k in inventory_events(inv)][3:] == [
        "material:OIL-5W30:2", "material:OIL-5W30:3", "material:OIL-5W30:4", "material:OIL-5W30:5",
        "material:FILTER-OIL:2",
    ]
    body = events[4]["body"]
    assert body["movement"] | {"id": None, "created_at": None} == {
        "id": None, "sku": "OIL-5W30", "kind": "out", "quantity": -3, "on_hand_after": 12, "reason": "damaged can",
        "booking_id": None, "created_at": None,
    }
    assert body["material"]["on_hand"] == 12 and body["material"]["version"] == 3 and body["station"] == "TST-001"


def test_bad_input_is_refused_and_names_the_thing(inv):
    with pytest.raises(NotFound, match="no material 'OIL-0W20'.*OIL-5W30"):
        inventory.receive(inv, sku="OIL-0W20", quantity=1)
    with pytest.raises(RuleViolation, match="quantity received of OIL-5W30 must be positive, got -3"):
        inventory.receive(inv, sku="OIL-5W30", quantity=-3)
    with pytest.raises(RuleViolation, match="must be a whole number, got 1.5"):
        inventory.receive(inv, sku="OIL-5W30", quantity=1.5)  # type: ignore[arg-type]
    with pytest.raises(RuleViolation, match="cannot issue 11 L of OIL-5W30: only 10 L on hand"):
        inventory.issue(inv, sku="OIL-5W30", quantity=11, reason="workshop")
    with pytest.raises(RuleViolation, match="issuing OIL-5W30 needs a reason"):
        inventory.issue(inv, sku="OIL-5W30", quantity=1, reason="  ")
    with pytest.raises(RuleViolation, match="counted quantity of OIL-5W30 must be zero or more, got -1"):
        inventory.adjust(inv, sku="OIL-5W30", counted=-1, reason="stocktake", manager=MANAGER)
    with pytest.raises(RuleViolation, match="adjusting OIL-5W30 needs a reason"):
        inventory.adjust(inv, sku="OIL-5W30", counted=3, reason="", manager=MANAGER)
    with pytest.raises(NotFound, match="no material 'NOPE'"):
        inventory.movements(inv, sku="NOPE")
    assert on_hand(inv)["OIL-5W30"] == 10 and len(inventory_events(inv)) == 3  # nothing written


# -- low stock ---------------------------------------------------------------


def test_low_stock_alerts_once_per_fall_below_the_reorder_level(inv):
    inventory.issue(inv, sku="OIL-5W30", quantity=5, reason="workshop")  # 5: above the level of 4
    assert not [t for t, _ in inventory_events(inv) if t == "inventory.low_stock"]
    inventory.issue(inv, sku="OIL-5W30", quantity=1, reason="workshop")  # 4: at the level -> alert
    inventory.issue(inv, sku="OIL-5W30", quantity=1, reason="workshop")  # 3: still low, no second alert
    inventory.receive(inv, sku="OIL-5W30", quantity=1)  # 4: still low
    assert [k for t, k in inventory_events(inv) if t == "inventory.low_stock"] == ["material:OIL-5W30:3:low"]
    oil = next(m for m in inventory.stock(inv) if m.sku == "OIL-5W30")
    assert oil.is_low and oil.low_since is not None

    inventory.receive(inv, sku="OIL-5W30", quantity=6)  # 10: restocked above the level
    assert next(m for m in inventory.stock(inv) if m.sku == "OIL-5W30").low_since is None
    inventory.issue(inv, sku="OIL-5W30", quantity=6, reason="workshop")  # 4: a new fall -> a new alert
    assert [k for t, k in inventory_events(inv) if t == "inventory.low_stock"] == [
        "material:OIL-5W30:3:low", "material:OIL-5W30:7:low",
    ]
    low = next(e for e in ops_events(inv) if e["idem_key"] == "material:OIL-5W30:7:low")
    assert low["type"] == "inventory.low_stock" and low["entity_id"] == "OIL-5W30"
    assert low["body"]["material"] | {"low_since": None} == {
        "sku": "OIL-5W30", "name_zh": "机油 5W-30", "name_en": "Engine oil 5W-30", "unit": "L", "on_hand": 4,
        "reorder_level": 4, "low": True, "low_since": None, "version": 7,
    }
    # the alert directly follows the movement that caused it
    keys = [e["idem_key"] for e in ops_events(inv)]
    assert keys.index("material:OIL-5W30:7:low") == keys.index("material:OIL-5W30:7") + 1


# -- consumption by bookings -------------------------------------------------


def test_completing_a_booking_consumes_its_materials_in_the_same_transaction(inv):
    booking = bookings.book(inv, services=["OIL"], start=at(9), plate="沪A12345")
    bookings.check_in(inv, booking.code, now=at(8, 55))
    assert on_hand(inv) == {"CHEM-SHAMPOO": 5, "FILTER-OIL": 3, "OIL-5W30": 10}  # booking takes nothing yet
    done = bookings.complete(inv, booking.code, now=at(10, 30))
    assert on_hand(inv) == {"CHEM-SHAMPOO": 5, "FILTER-OIL": 2, "OIL-5W30": 6}
    used = {m.sku: m for m in inventory.movements(inv) if m.booking_id == booking.id}
    assert {sku: m.quantity for sku, m in used.items()} == {"OIL-5W30": -4, "FILTER-OIL": -1}
    assert used["OIL-5W30"].kind == "out" and used["OIL-5W30"].reason == f"used by booking {booking.code} (OIL)"
    assert used["OIL-5W30"].created_at == at(10, 30)

    events = ops_events(inv)
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    completed = next(i for i, e in enumerate(events) if e["type"] == "booking.completed")
    after = [(e["type"], e["idem_key"]) for e in events[completed + 1:]]
    assert after == [  # one movement per material, in SKU order
        ("inventory.moved", "material:FILTER-OIL:2"),
        ("inventory.moved", "material:OIL-5W30:2"),
    ]
    assert events[completed + 1]["body"]["movement"]["booking_id"] == done.id


def test_consumption_past_zero_is_recorded_and_flagged(inv):
    inventory.adjust(inv, sku="OIL-5W30", counted=2, reason="stocktake", manager=MANAGER)  # 2 L: low, alerted
    booking = bookings.book(inv, services=["OIL"], start=at(9), plate="沪A12345")
    bookings.check_in(inv, booking.code, now=at(8, 55))
    for stage in ("in_bay", "in_service", "quality_check", "done"):  # completion through progress, too
        bookings.set_progress(inv, booking.code, stage, now=at(9, 40))
    oil = next(m for m in inventory.stock(inv) if m.sku == "OIL-5W30")
    assert oil.on_hand == -2 and oil.is_low
    (latest, *_) = inventory.movements(inv, sku="OIL-5W30")
    assert (latest.quantity, latest.on_hand_after, latest.booking_id) == (-4, -2, booking.id)
    assert [t for t, k in inventory_events(inv) if k.startswith("material:OIL-5W30")].count("inventory.low_stock") == 1
    # manual issues still stop at zero
    with pytest.raises(RuleViolation, match="only -2 L on hand"):
        inventory.issue(inv, sku="OIL-5W30", quantity=1, reason="workshop")


def test_shortages_for_services_and_packages(inv):
    assert inventory.shortages(inv, ["PKG"]) == []
    inventory.adjust(inv, sku="OIL-5W30", counted=3, reason="stocktake", manager=MANAGER)
    inventory.adjust(inv, sku="CHEM-SHAMPOO", counted=0, reason="drum empty", manager=MANAGER)
    assert inventory.shortages(inv, ["PKG"]) == [
        rules.Shortage("OIL-5W30", "L", 3, 4), rules.Shortage("CHEM-SHAMPOO", "dose", 0, 1),
    ]
    assert inventory.shortages(inv, ["TYRE"]) == []  # uses no materials
    with pytest.raises(NotFound, match="'NOPE'"):
        inventory.shortages(inv, ["NOPE"])


def test_stations_without_materials_are_unaffected(station):
    booking = bookings.book(station, services=["OIL"], start=at(9), plate="沪A12345")
    bookings.check_in(station, booking.code, now=at(8, 55))
    bookings.complete(station, booking.code, now=at(9, 50))
    assert inventory.stock(station) == [] and inventory.movements(station) == []
    assert inventory.shortages(station, ["PKG"]) == []


# -- the command line --------------------------------------------------------


def cli(capsys, *args: object) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def data_dir(tmp_path: Path, capsys) -> Path:
    # the CLI runs on the real clock: book far ahead, so lift the horizon and the hot slots
    far_ahead = TEST_CONFIG.split("[booking.hot_slots]")[0].replace("horizon_days = 3", "horizon_days = 3650")
    config = _with_materials(far_ahead) + STAFF
    path = tmp_path / "station.toml"
    path.write_text(config, encoding="utf-8")
    code, _, _ = cli(capsys, "--data-dir", tmp_path / "data", "init", "--config", path)
    assert code == 0
    return tmp_path / "data"


def test_booking_warns_about_short_materials_but_goes_ahead(data_dir, manager_pin, capsys):
    code, out, err = cli(capsys, "--data-dir", data_dir, "book", "--start", "2030-01-07T09:00:00+08:00",
                         "--services", "OIL", "--plate", "沪A12345", "--json")
    assert code == 0 and json.loads(out)["state"] == "confirmed" and err == ""

    code, out, _ = cli(capsys, "--data-dir", data_dir, "--operator", "S01", "stock", "adjust", "--sku", "OIL-5W30",
                       "--counted", "1",
                       "--reason", "stocktake")
    assert code == 0 and "OIL-5W30: adjust -9 L (stocktake); 1 L on hand  LOW (reorder at 4)" in out

    code, out, err = cli(capsys, "--data-dir", data_dir, "booking", "hold", "--start", "2030-01-07T10:00:00+08:00",
                         "--services", "OIL", "--plate", "沪B54321")
    assert code == 0 and out.startswith("held ")
    assert err.splitlines() == ["warning: OIL-5W30 low: 1 L on hand, 4 L needed"]
    code, _, err = cli(capsys, "--data-dir", data_dir, "book", "--start", "2030-01-07T11:00:00+08:00",
                       "--services", "WASH", "--plate", "沪C11111")
    assert code == 0 and err == ""  # the wash has its shampoo

    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock", "check", "--services", "OIL", "--json")
    assert code == 0 and json.loads(out) == [{"sku": "OIL-5W30", "unit": "L", "on_hand": 1, "needed": 4}]


def test_stock_commands(data_dir, capsys):
    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["sku", "name", "on", "hand", "unit", "reorder", "at", "low"]
    assert lines[2].split() == ["CHEM-SHAMPOO", "Shampoo", "5", "dose", "2"]

    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock", "receive", "--sku", "FILTER-OIL", "--quantity", "4",
                       "--json")
    change = json.loads(out)
    assert code == 0 and change["material"]["on_hand"] == 7 and change["movement"]["reason"] == "received"

    code, out, err = cli(capsys, "--data-dir", data_dir, "stock", "issue", "--sku", "FILTER-OIL", "--quantity", "8",
                         "--reason", "returned")
    assert code == 6 and "cannot issue 8 pcs of FILTER-OIL: only 7 pcs on hand" in err

    code, _, err = cli(capsys, "--data-dir", data_dir, "stock", "receive", "--sku", "NOPE", "--quantity", "1")
    assert code == 4 and "no material 'NOPE'" in err
    with pytest.raises(SystemExit) as info:
        main(["--data-dir", str(data_dir), "stock", "receive", "--sku", "FILTER-OIL", "--quantity", "-2"])
    assert info.value.code == 2 and "'-2' is not a positive whole number" in capsys.readouterr().err

    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock", "movements", "--sku", "FILTER-OIL")
    assert code == 0 and [line.split()[3] for line in out.splitlines()[2:]] == ["in", "in"]
    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock", "--json")
    assert {m["sku"]: m["on_hand"] for m in json.loads(out)} == {"CHEM-SHAMPOO": 5, "FILTER-OIL": 7, "OIL-5W30": 10}
    code, out, _ = cli(capsys, "--data-dir", data_dir, "stock", "check", "--services", "PKG")
    assert code == 0 and out.strip() == "enough stock for PKG"


# -- the pure rules ----------------------------------------------------------


def test_low_stock_change_is_an_edge():
    change = rules.low_stock_change
    assert change(5, 4, alerted=False) is rules.LowStockChange.NONE
    assert change(4, 4, alerted=False) is rules.LowStockChange.ALERT
    assert change(-1, 4, alerted=True) is rules.LowStockChange.NONE
    assert change(5, 4, alerted=True) is rules.LowStockChange.CLEARED
    assert change(0, 0, alerted=False) is rules.LowStockChange.ALERT  # level 0: out of stock


def test_materials_needed_adds_up_shared_skus_and_shortages_skip_untracked():
    wash = ServiceItem("W", "洗", "Wash", "wash", 20, 0, 100, None, frozenset({"wash"}), (("SHAMPOO", 1),))
    wax = ServiceItem("X", "蜡", "Wax", "wash", 20, 0, 100, None, frozenset({"wash"}), (("SHAMPOO", 1), ("WAX", 2)))
    needed = rules.materials_needed([wash, wax])
    assert needed == {"SHAMPOO": 2, "WAX": 2}
    levels = {"SHAMPOO": rules.StockLevel("SHAMPOO", "dose", 1, 0)}
    assert rules.find_shortages(needed, levels) == [rules.Shortage("SHAMPOO", "dose", 1, 2)]


def test_consumption_may_go_negative_but_issue_may_not():
    level = rules.StockLevel("OIL", "L", 2, 4)
    used = rules.consumption(level, 4, booking_id="b1", reason="used")
    assert (used.on_hand_after, used.went_negative, used.kind) == (-2, True, rules.MovementKind.OUT)
    with pytest.raises(RuleViolation, match="cannot issue 4 L of OIL: only 2 L on hand"):
        rules.issue(level, 4, "workshop")
    with pytest.raises(RuleViolation, match="whole number, got True"):
        rules.receipt(level, True, "")  # type: ignore[arg-type]
