"""Tests for edge.config (loading, validation, error placement) and edge.config_lines (the locator)."""

from __future__ import annotations

import datetime as dt
import os
import re
import tomllib
import typing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from edge import config_lines
from edge.config import DEFAULT_TIERS, ConfigError, Settings, load_settings, parse_settings
from edge.config_lines import key_string, scan
from edge.errors import EdgeError

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")

MINIMAL = """\
[station]
id = "T-1"
name = "Test station"
timezone = "Asia/Shanghai"
currency = "CNY"
slot_minutes = 30

[station.hours]
mon = ["08:00-18:00"]

[[bays]]
id = "W1"
name = "Wash"
kind = "wash"

[[bays]]
id = "L1"
name = "Lift"
kind = "lift"
services = [
    "OIL-STD",
]

[[services]]
code = "WASH"
name_zh = "洗车"
name_en = "Wash"
category = "wash"
duration_minutes = 20
price = 3500
bay_kinds = ["wash"]

[[services]]
code = "OIL-STD"
name_zh = "保养"
name_en = "Oil change"
category = "maintenance"
duration_minutes = 45
price = 29900
skill = "mechanic"
bay_kinds = ["lift"]

[booking]
guest_tier = "regular"
"""


def write(tmp_path: Path, text: str, name: str = "station.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def edit(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} must occur exactly once"
    return text.replace(old, new)


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def load_error(tmp_path: Path, text: str) -> tuple[ConfigError, Path]:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    return info.value, path


# -- the example file ------------------------------------------------------


def test_example_loads_with_expected_values() -> None:
    s = load_settings(EXAMPLE)
    assert s.station.id == "SH-PD-001"
    assert s.station.slot_minutes == 30
    assert s.service("OIL-STD").price == 29900
    assert s.service("OIL-STD").materials == {"OIL-5W30-4L": 1, "FILTER-OIL-STD": 1}
    assert s.station.hours.weekly()[0] == ((7 * 60, 21 * 60),)
    assert s.station.hours.weekly()[6] == ((8 * 60, 20 * 60),)
    assert s.station.hours.spans_on(dt.date(2026, 2, 17)) == ()
    assert s.technician("T03").roster.weekly()[1] == ((420, 720), (780, 960))
    assert s.technician("T03").roster.weekly()[5] == ()
    assert [b.id for b in s.bays_for("BRAKE-CHK")] == ["L1"]  # L2 lists its services explicitly
    # the example's tiers are the defaults plus their checkout discounts and upgrade rewards
    assert [(t.name, t.horizon_days, t.hold_minutes, t.growth_threshold) for t in s.tiers] == [
        (t.name, t.horizon_days, t.hold_minutes, t.growth_threshold) for t in DEFAULT_TIERS
    ]
    assert [t.discount_pct for t in s.tiers] == [0, 2, 5, 8]
    assert s.tier("gold").upgrade_reward == "FREE-WASH-PREM"
    assert s.coupon_template("CARE-100").min_tier == "gold"
    assert s.tier_rank("gold") == 2 and s.tier("diamond").horizon_days == 14
    assert s.booking.hot_slots is not None and s.booking.hot_slots.covers(5, 9 * 60)
    assert s.booking.early_arrival_minutes == 120
    assert not s.booking.hot_slots.covers(5, 12 * 60)
    assert s.paths.data_dir == str(EXAMPLE.parent / "data")


def _field_names(model: type[BaseModel], seen: set[type]) -> set[str]:
    names: set[str] = set()
    if model in seen:
        return names
    seen.add(model)
    for name, info in model.model_fields.items():
        names.add(name)
        stack = [info.annotation]
        while stack:
            tp = stack.pop()
            if isinstance(tp, type) and issubclass(tp, BaseModel):
                names |= _field_names(tp, seen)
            stack.extend(typing.get_args(tp))
    return names


def test_example_documents_every_key() -> None:
    lines = EXAMPLE_TEXT.splitlines()
    undocumented = []
    for name in sorted(_field_names(Settings, set())):
        key = re.compile(rf"(^|[{{,\s]){name}\s*=")
        header = re.compile(rf"^\[\[?([\w.]+\.)?{name}\]\]?")
        # a key is documented by a comment on its line or just above; a table by a comment right inside it
        documented = any(
            (key.search(line.split("#")[0]) and ("#" in line or lines[i - 1].lstrip().startswith("#")))
            or (header.match(line) and lines[i + 1].lstrip().startswith("#"))
            for i, line in enumerate(lines)
        )
        if not documented:
            undocumented.append(name)
    assert undocumented == []


def test_default_tiers_and_guest_tier_when_absent(tmp_path: Path) -> None:
    s = load_settings(write(tmp_path, edit(MINIMAL, '[booking]\nguest_tier = "regular"\n', "")))
    assert s.tiers == DEFAULT_TIERS and s.booking.guest_tier == "regular"
    custom = MINIMAL.replace('guest_tier = "regular"\n', "") + (
        '\n[[tiers]]\nname = "basic"\nhorizon_days = 2\nhold_minutes = 0\n'
    )
    s = parse_settings(custom)
    assert s.booking.guest_tier == "basic" and s.tier_rank("basic") == 0


def test_settings_are_frozen_and_lookups_name_the_unknown() -> None:
    s = parse_settings(MINIMAL)
    with pytest.raises(ValidationError):
        s.station.slot_minutes = 60  # type: ignore[misc]
    with pytest.raises(ValueError, match="'platinum'"):
        s.tier("platinum")
    with pytest.raises(ValueError, match="'NOPE'"):
        s.service("NOPE")


def test_skill_no_technician_has_is_allowed() -> None:
    s = parse_settings(MINIMAL)  # OIL-STD needs "mechanic"; there are no technicians
    assert s.technicians == () and s.service("OIL-STD").skill == "mechanic"


def test_relative_data_dir_is_resolved_against_the_config_directory(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL + '\n[paths]\ndata_dir = "../var/edge"\n')
    assert load_settings(path).paths.data_dir == os.path.normpath(tmp_path / "../var/edge")
    assert parse_settings(MINIMAL + '\n[paths]\ndata_dir = "rel"\n').paths.data_dir == "rel"


# -- errors: one problem each, at the right line ---------------------------


def test_typo_key_reported_as_unknown_at_its_line(tmp_path: Path) -> None:
    text = edit(EXAMPLE_TEXT, "slot_minutes = 30", "slot_minuts = 30")
    err, path = load_error(tmp_path, text)
    line = line_of(text, "slot_minuts")
    assert f"{path}:{line}: station.slot_minuts: unknown key" in str(err)
    assert (line, "station.slot_minuts", "unknown key") in err.problems
    # the real key is then missing: reported at the [station] header
    assert (line_of(text, "[station]"), "station.slot_minutes", "required key is missing") in err.problems
    assert isinstance(err, EdgeError)


def test_float_price_reported_at_services_2_price(tmp_path: Path) -> None:
    text = edit(EXAMPLE_TEXT, "price = 29900 ", "price = 299.0 ")
    err, path = load_error(tmp_path, text)
    assert err.key == "services[2].price" and err.line == line_of(text, "price = 299.0")
    assert "integer minor units" in err.message
    assert str(err) == f"{path}:{err.line}: services[2].price: {err.message}"


@pytest.mark.parametrize(
    ("old", "new", "key", "needle", "words"),
    [
        ('"Asia/Shanghai"', '"Asia/Shanghia"', "station.timezone", "Asia/Shanghia", "Asia/Shanghia"),
        ("slot_minutes = 30", "slot_minutes = 45", "station.slot_minutes", "slot_minutes", "30 or 60"),
        ('mon = ["08:00-18:00"]', 'mon = ["08:00-12:00", "11:00-18:00"]', "station.hours.mon[1]", "mon =", "overlaps"),
        ('mon = ["08:00-18:00"]', 'mon = ["13:00-18:00", "08:00-12:00"]', "station.hours.mon[1]", "mon =", "order"),
        ('mon = ["08:00-18:00"]', 'mon = ["18:00-08:00"]', "station.hours.mon[0]", "mon =", "after the start"),
        ('mon = ["08:00-18:00"]', 'mon = ["08:00-25:00"]', "station.hours.mon[0]", "mon =", "HH:MM-HH:MM"),
        ('    "OIL-STD",\n', '    "OIL-XX",\n    "OIL-STD",\n', "bays[1].services[0]", '"OIL-XX"', "unknown service"),
        ('    "OIL-STD",\n', '    "OIL-STD",\n    "WASH",\n', "bays[1].services[1]", '"WASH"', "not 'lift'"),
        ('id = "L1"', 'id = "W1"  # dup', "bays[1].id", "# dup", "already used by bays[0]"),
        ('guest_tier = "regular"', 'guest_tier = "vip"', "booking.guest_tier", "guest_tier", "'vip'"),
        ('[booking]\n', '[booking]\nearly_arrival_minutes = -30\n', "booking.early_arrival_minutes",
         "early_arrival_minutes", "at least 0, got -30"),
        ('currency = "CNY"', 'currency = "rmb"', "station.currency", "currency", "ISO 4217"),
        ('id = "T-1"', 'id = "SH/PD"', "station.id", 'id = "SH/PD"', "MQTT"),
        ("duration_minutes = 45", "duration_minutes = 45.0", "services[1].duration_minutes", "45.0", "an integer"),
        ('category = "wash"', 'category = "wsah"', "services[0].category", "wsah", "expected 'fuel'"),
        ('bay_kinds = ["wash"]', 'bay_kinds = ["ramp"]', "services[0].bay_kinds", "ramp", "no bay can do 'WASH'"),
        ('name = "Test station"', 'name = ""', "station.name", 'name = ""', "must not be empty"),
    ],
)
def test_single_problem_is_placed(tmp_path: Path, old: str, new: str, key: str, needle: str, words: str) -> None:
    text = edit(MINIMAL, old, new)
    err, path = load_error(tmp_path, text)
    assert len(err.problems) == 1, err.problems
    assert (err.key, err.line) == (key, line_of(text, needle))
    assert words in err.message
    assert str(err).startswith(f"{path}:{err.line}: {key}: ")


def test_syntax_error_uses_tomllib_line(tmp_path: Path) -> None:
    text = edit(MINIMAL, "[booking]", "[booking")
    err, path = load_error(tmp_path, text)
    assert (err.key, err.line) == ("<syntax>", line_of(text, "[booking"))
    assert str(err).startswith(f"{path}:{err.line}: <syntax>: ")


def test_missing_key_reported_at_table_header(tmp_path: Path) -> None:
    text = edit(MINIMAL, 'kind = "lift"\n', "")
    err, _ = load_error(tmp_path, text)
    assert err.problems == [(line_of(text, "[[bays]]", 2), "bays[1].kind", "required key is missing")]


def test_missing_top_level_section_has_no_line(tmp_path: Path) -> None:
    text = MINIMAL.split("[[services]]")[0] + '\n[booking]\nguest_tier = "regular"\n'
    err, path = load_error(tmp_path, text)
    assert err.line is None and err.key == "services"
    assert str(err) == f"{path}: services: required key is missing"


def test_array_of_tables_written_as_table_gets_a_hint() -> None:
    text = MINIMAL.split("[[bays]]")[0] + '[bays]\nid = "W1"\n\n[[services]]' + MINIMAL.split("[[services]]", 1)[1]
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="x.toml")
    assert "write [[bays]]" in info.value.message


def test_package_problems() -> None:
    text = MINIMAL + (
        '\n[[packages]]\ncode = "WASH"\nname_zh = "套餐"\nname_en = "Pkg"\nservices = ["WASH", "NOPE"]\nprice = 100\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    keys = {key: line for line, key, _ in info.value.problems}
    assert keys == {
        "packages[0].code": line_of(text, 'code = "WASH"', 2),
        "packages[0].services[1]": line_of(text, "NOPE"),
    }


def test_hot_window_and_roster_problems_in_nested_places() -> None:
    text = MINIMAL + (
        '\n[booking.hot_slots]\nmin_tier = "gold"\nwindows = [\n'
        '    { days = ["sat"], start = "09:00", end = "12:00" },\n'
        '    { days = ["sun"], start = "12:00", end = "09:00" },\n]\n'
        '\n[[technicians]]\nid = "T1"\nname = "A"\nskills = []\n'
        '\n[[technicians]]\nid = "T2"\nname = "B"\nskills = ["mechanic"]\n'
        '[technicians.roster]\ntue = ["08:00-12:00", "13:00-12:30"]\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="c.toml")
    problems = {key: line for line, key, _ in info.value.problems}
    assert problems == {
        "booking.hot_slots.windows[1].end": line_of(text, 'start = "12:00"'),
        "technicians[1].roster.tue[1]": line_of(text, "tue ="),
    }


def test_booking_and_tier_ordering_rules() -> None:
    text = edit(MINIMAL, '[booking]\n', '[booking]\nlate_alert_minutes = 30\nno_show_minutes = 30\n') + (
        '\n[[tiers]]\nname = "regular"\nhorizon_days = 3\nhold_minutes = 0\ngrowth_threshold = 100\n'
        '\n[[tiers]]\nname = "silver"\nhorizon_days = 5\nhold_minutes = 10\ngrowth_threshold = 50\n'
        '\n[[tiers]]\nname = "silver"\nhorizon_days = 5\nhold_minutes = 10\ngrowth_threshold = 500\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    assert [key for _, key, _ in info.value.problems] == ["booking.no_show_minutes"]  # field errors come first
    text = text.replace("no_show_minutes = 30", "no_show_minutes = 31")
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    assert {key for _, key, _ in info.value.problems} == {"tiers[1].growth_threshold", "tiers[2].name"}


def test_several_problems_are_all_reported(tmp_path: Path) -> None:
    text = edit(MINIMAL, "slot_minutes = 30", "slot_minutes = 45")
    text = edit(text, 'timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"')
    text = edit(text, "price = 29900", "price = 299.0")
    text = edit(text, 'mon = ["08:00-18:00"]', 'mon = ["08:00-18:00"]\nfunday = []')
    err, path = load_error(tmp_path, text)
    expected = [
        (line_of(text, "Mars/Olympus"), "station.timezone"),
        (line_of(text, "slot_minutes"), "station.slot_minutes"),
        (line_of(text, "funday"), "station.hours.funday"),
        (line_of(text, "299.0"), "services[1].price"),
    ]
    assert [(line, key) for line, key, _ in err.problems] == expected
    lines = str(err).splitlines()
    assert len(lines) == 4
    assert all(line.startswith(f"{path}:{n}: {key}: ") for line, (n, key) in zip(lines, expected))
    assert (err.line, err.key) == expected[0]


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(tmp_path / "absent.toml")


def test_config_error_formatting() -> None:
    assert str(ConfigError("a.toml", 3, "station.id", "bad")) == "a.toml:3: station.id: bad"
    err = ConfigError("a.toml", None, "bays", "required key is missing")
    assert str(err) == "a.toml: bays: required key is missing"
    assert (err.path, err.line, err.key, err.message) == ("a.toml", None, "bays", "required key is missing")
    assert err.problems == [(None, "bays", "required key is missing")]


# -- the locator -----------------------------------------------------------


def test_locator_nested_arrays_of_tables() -> None:
    text = """\
[[technicians]]
id = "A"
[technicians.roster]
mon = ["08:00-12:00"]

[[technicians]]
id = "B"

[technicians.roster]
tue = ["08:00-12:00"]
[[technicians.certs]]
name = "x"
[[technicians.certs]]
name = "y"
"""
    lines = scan(text)
    assert lines.line_for(("technicians", 0, "roster", "mon")) == 4
    assert lines.line_for(("technicians", 1, "id")) == 7
    assert lines.line_for(("technicians", 1, "roster", "tue", 0)) == 10
    assert lines.line_for(("technicians", 1, "roster", "wed")) == 9  # missing key: the header
    assert lines.line_for(("technicians", 1, "certs", 1, "name")) == 14
    assert lines.line_for(("technicians", 1, "certs", 0)) == 11
    assert lines.line_for(("technicians",)) == 1
    assert lines.line_for(("nothing",)) is None and lines.line_for(()) is None


def test_locator_dotted_and_quoted_keys_and_comments() -> None:
    text = """\
# [[bays]] in a comment is not a header
[station]  # trailing comment
name = "a # not a comment"
hours.mon = ["08:00-18:00"]   # dotted key
hours.closed_dates = []
"odd.key" = 1
'lit' = 2
[ station . "sub table" ]
x = 1
"""
    lines = scan(text)
    assert lines.line_for(("bays", 0)) is None
    assert lines.line_for(("station", "name")) == 3
    assert lines.line_for(("station", "hours")) == 4
    assert lines.line_for(("station", "hours", "closed_dates")) == 5
    assert lines.line_for(("station", "odd.key")) == 6
    assert lines.line_for(("station", "lit")) == 7
    assert lines.line_for(("station", "sub table", "x")) == 9


def test_locator_multiline_arrays_inline_tables_and_strings() -> None:
    text = '''\
services = [
    "A",   # first
    # a comment line between elements
    "B",
    [1,
     2],
]
windows = [
    { days = ["sat"], start = "09:00" },
    {
      end = "12:00" },
]
notes = """
[fake]
services = 3
"""
after = 'x'
raw = \'\'\'
[[also.fake]]\'\'\'
last = 1979-05-27 07:32:00Z
'''
    lines = scan(text)
    assert [lines.line_for(("services", i)) for i in range(3)] == [2, 4, 5]
    assert lines.line_for(("services", 2, 1)) == 6
    assert lines.line_for(("windows", 0, "start")) == 9
    assert lines.line_for(("windows", 1, "end")) == 11
    assert lines.line_for(("fake",)) is None and lines.line_for(("also",)) is None
    assert lines.line_for(("notes",)) == 13
    assert lines.line_for(("after",)) == 17
    assert lines.line_for(("last",)) == 20


def _leaf_paths(value: object, path: tuple = ()) -> list[tuple]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, path + (k,))] or [path]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, path + (i,))] or [path]
    return [path]


def test_locator_records_every_value_of_the_example() -> None:
    recorded = scan(EXAMPLE_TEXT).lines
    text_lines = EXAMPLE_TEXT.splitlines()
    for path in _leaf_paths(tomllib.loads(EXAMPLE_TEXT)):
        assert path in recorded, path
        last_key = next(p for p in reversed(path) if isinstance(p, str))
        assert last_key in text_lines[recorded[path] - 1] or isinstance(path[-1], int), path


def test_key_string() -> None:
    assert key_string(("technicians", 0, "roster", "tue", 1)) == "technicians[0].roster.tue[1]"
    assert key_string(("services", 0, "materials", "oil 5w30")) == 'services[0].materials."oil 5w30"'


_TOMLISH = st.text(alphabet="[]{}\"'=.,#\n\\ \tab1-:", max_size=80)


@settings(max_examples=300, deadline=None)
@given(_TOMLISH)
def test_locator_scanner_never_raises(text: str) -> None:
    # The internal scanner, not scan(): scan() would hide a crash behind its safety net.
    config_lines._Scanner(text).run()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(EXAMPLE_TEXT.splitlines(keepends=True)), max_size=40))
def test_locator_scanner_never_raises_on_example_fragments(lines: list[str]) -> None:
    config_lines._Scanner("".join(lines)).run()


# -- materials (inventory) -------------------------------------------------

_MATERIAL = '\n[[materials]]\nsku = "{sku}"\nname_zh = "机油"\nname_en = "Engine oil"\nunit = "L"\nreorder_level = {level}\n'


def test_example_stocks_every_material_its_services_use() -> None:
    s = load_settings(EXAMPLE)
    used = {sku for svc in s.services for sku in svc.materials}
    assert used == {m.sku for m in s.materials}
    oil = s.material("OIL-5W30-4L")
    assert (oil.unit, oil.reorder_level, oil.initial_stock) == ("can", 6, 24)
    assert parse_settings(MINIMAL).materials == ()


def test_service_materials_must_be_stocked_and_skus_unique() -> None:
    text = edit(MINIMAL, 'skill = "mechanic"\n', 'skill = "mechanic"\nmaterials = { OIL-5W30 = 4, FILTER = 1 }\n')
    text += _MATERIAL.format(sku="OIL-5W30", level=4) + _MATERIAL.format(sku="OIL-5W30", level=2)
    with pytest.raises(ConfigError) as info:
        parse_settings(text, source="m.toml")
    assert {(key, line) for line, key, _ in info.value.problems} == {
        ("services[1].materials.FILTER", line_of(text, "materials = {")),
        ("materials[1].sku", line_of(text, 'sku = "OIL-5W30"', 2)),
    }
    assert "unknown material 'FILTER' (add a [[materials]] entry for it)" in str(info.value)


def test_material_fields_are_checked_where_written() -> None:
    text = MINIMAL + _MATERIAL.format(sku="OIL 5W30", level=-1) + "initial_stock = 2.5\n"
    with pytest.raises(ConfigError) as info:
        parse_settings(text)
    assert {key: line for line, key, _ in info.value.problems} == {
        "materials[0].sku": line_of(text, 'sku = "OIL 5W30"'),
        "materials[0].reorder_level": line_of(text, "reorder_level = -1"),
        "materials[0].initial_stock": line_of(text, "initial_stock = 2.5"),
    }
