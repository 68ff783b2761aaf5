"""Staff accounts from the config: PINs kept as slow hashes, sign-in by id, name or card, a manager's PIN."""

from __future__ import annotations

import pytest

from edge.config import ConfigError, load_settings
from edge.domain.permissions import CLI, Permission, authorise
from edge.domain.pins import hash_pin, verify_pin
from edge.errors import InvalidInput, NotFound, PermissionDenied
from edge.services import staff
from tests.stations import TEST_CONFIG, make_station

MANAGER_PIN, ATTENDANT_PIN = "2580", "1357"
STAFF = f'''
[[staff]]
id = "S01"
name = "周敏"
role = "manager"
card_id = "CARD-1001"
pin_hash = "{hash_pin(MANAGER_PIN)}"

[[staff]]
id = "S02"
name = "赵小燕"
role = "attendant"
pin_hash = "{hash_pin(ATTENDANT_PIN)}"
'''


def test_a_pin_is_stored_as_a_salted_hash_and_only_its_pin_matches() -> None:
    first, second = hash_pin("2580"), hash_pin("2580")
    assert "2580" not in first and first != second  # salted
    assert verify_pin("2580", first) and verify_pin("2580", second)
    assert not verify_pin("2581", first)
    assert not verify_pin("2580", "scrypt$1$1$1$bad$bad")
    with pytest.raises(InvalidInput):
        hash_pin("12")


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + STAFF)
    yield station
    station.store.close()


def test_staff_sign_in_by_id_name_or_card_with_their_pin(station) -> None:
    assert staff.sign_in(station, "S01", MANAGER_PIN).name == "周敏"
    assert staff.sign_in(station, "赵小燕", ATTENDANT_PIN).id == "S02"
    assert staff.sign_in(station, "CARD-1001", MANAGER_PIN).id == "S01"
    assert staff.by_card(station, "CARD-1001").role == "manager"
    for who, pin in (("S01", ATTENDANT_PIN), ("nobody", MANAGER_PIN)):
        with pytest.raises(PermissionDenied, match="unknown staff or wrong PIN"):
            staff.sign_in(station, who, pin)
    with pytest.raises(NotFound):
        staff.by_card(station, "CARD-9999")


def test_a_privileged_action_needs_a_manager_or_a_managers_pin(station) -> None:
    attendant = staff.sign_in(station, "S02", ATTENDANT_PIN).actor
    with pytest.raises(PermissionDenied, match="refund needs a manager"):
        authorise(attendant, Permission.REFUND)
    with pytest.raises(PermissionDenied):
        authorise(CLI, Permission.STOCK_ADJUST)
    station.actor = attendant
    assert staff.manager_for(station, Permission.REFUND, "周敏", MANAGER_PIN).id == "S01"
    with pytest.raises(PermissionDenied):  # an attendant's PIN authorises nothing
        staff.manager_for(station, Permission.REFUND, "S02", ATTENDANT_PIN)


def test_a_bad_pin_hash_in_the_config_names_the_key_and_line(tmp_path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(TEST_CONFIG + STAFF.replace('pin_hash = "scrypt', 'pin_hash = "plain', 1), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert "pin_hash" in str(info.value) and "staff hash-pin" in str(info.value)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if 'pin_hash = "plain' in text)
    assert f":{line}" in str(info.value)
