"""The audit trail: one hash-chained entry per thing that matters, written where it happens, listed
and filtered from the command line, checked by `doctor`; and the privileged commands refused
without a manager (exit 10) and done with one."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta

import pytest

from edge.cli.main import main
from edge.domain.audit import GENESIS_HASH, entry_hash, verify_chain
from edge.domain.permissions import HQ
from edge.errors import PermissionDenied
from edge.services import audit, bookings, inventory, ledgers, members, staff
from tests.stations import MANAGER, NOW, TEST_CONFIG, make_station
from tests.test_cli import cli, manager_pin  # noqa: F401 (a fixture)
from tests.test_inventory import INVENTORY_CONFIG
from tests.test_staff import ATTENDANT_PIN, MANAGER_PIN, STAFF
from tests.tui.sample import local


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=INVENTORY_CONFIG + STAFF)
    yield station
    station.store.close()


def _trail(station) -> list[tuple[str, str, str | None]]:
    return [(e.action, e.actor_id, e.authorised_by) for e in reversed(audit.entries(station, limit=1000))]


def test_a_chain_verifies_and_any_change_names_the_first_entry_that_no_longer_fits():
    entries, prev = [], GENESIS_HASH
    for seq in range(1, 4):
        fields = {"seq": seq, "at": "2026-11-23T01:00:00Z", "actor_id": "S01", "actor_name": "周敏",
                  "actor_kind": "staff", "terminal": "desk", "action": "refund", "entity": "ledger",
                  "entity_id": f"t{seq}", "before": None, "after": {"amount": seq * 100}, "authorised_by": "S01"}
        entry = {**fields, "prev_hash": prev, "hash": entry_hash(fields, prev)}
        entries.append(entry)
        prev = entry["hash"]
    assert verify_chain(entries) is None
    assert verify_chain([entries[0], {**entries[1], "after": {"amount": 1}}, entries[2]]).seq == 2
    assert verify_chain([entries[0], entries[2]]).seq == 2  # a removed entry
    assert verify_chain(entries[1:]).seq == 1


def test_each_kind_of_action_is_recorded_once_where_it_happens_by_whoever_acted(station):
    booking = bookings.book(station, services=["WASH"], start=local(9), plate="沪A12345", bay_id="W1", now=NOW)
    bookings.cancel(station, booking.code, reason="customer called", now=NOW)
    staff.sign_in(station, "S02", ATTENDANT_PIN)  # the attendant works from here on
    inventory.receive(station, sku="OIL-5W30", quantity=4, now=NOW)
    with pytest.raises(PermissionDenied, match="stock adjust needs a manager; 赵小燕 is not one"):
        inventory.adjust(station, sku="OIL-5W30", counted=3, reason="stocktake", now=NOW)
    inventory.adjust(station, sku="OIL-5W30", counted=3, reason="stocktake", now=NOW, manager=MANAGER)
    member = members.enroll(station, phone="13900139000", name="Li", now=NOW).member
    ledgers.correct_points(station, member_id=member.id, points=50, reason="old card", manager=MANAGER, now=NOW)
    ledgers.correct_prepaid(station, member_id=member.id, amount_minor=2_000, reason="cash kept", manager=MANAGER,
                            now=NOW)
    members.override_credit(station, phone="13900139000", score=60, reason="no-show forgiven", manager=MANAGER,
                            now=NOW)
    staff.lock(station)
    assert _trail(station) == [
        ("booking.confirmed", "cli", None), ("booking.cancelled", "cli", None),
        ("staff.sign_in", "S02", None), ("stock.receive", "S02", None), ("stock.adjust", "S02", "S01"),
        ("points.adjust", "S02", "S01"), ("prepaid.adjust", "S02", "S01"),
        ("member.credit_override", "S02", "S01"), ("terminal.locked", "S02", None)]
    cancelled, adjusted, credit = (next(e for e in audit.entries(station) if e.action == action)
                                   for action in ("booking.cancelled", "stock.adjust", "member.credit_override"))
    assert cancelled.before == {"state": "confirmed"} and cancelled.after["state"] == "cancelled"
    assert adjusted.before == {"on_hand": 14} and adjusted.after["on_hand"] == 3
    assert credit.before == {"credit_score": 100} and credit.after == {"credit_score": 60, "reason": "no-show forgiven"}
    assert audit.verify(station) == (9, None)
    with station.store.read() as conn:  # each entry goes to HQ on its own stream
        assert conn.execute("SELECT count(*) FROM outbox WHERE stream = 'audit'").fetchone()[0] == 9


def test_a_wrong_pin_is_recorded_and_a_snapshot_from_hq_takes_over_a_config_account(station):
    with pytest.raises(PermissionDenied):
        staff.sign_in(station, "S01", "0000")
    from edge.domain.pins import hash_pin
    with station.store.write() as conn:
        station.actor = HQ
        staff.apply_hq_snapshot(conn, station, [{"id": "S01", "name": "周敏", "role": "attendant",
                                                 "card_id": "CARD-1001", "pin_hash": hash_pin("4321")}], now=NOW)
    assert staff.sign_in(station, "S01", "4321").role == "attendant"  # HQ's account wins
    with pytest.raises(PermissionDenied):
        staff.sign_in(station, "S01", MANAGER_PIN)
    assert [a for a, _, _ in _trail(station)] == ["staff.sign_in_failed", "staff.snapshot", "staff.sign_in",
                                                   "staff.sign_in_failed"]


def _tamper(station, sql: str) -> None:
    with sqlite3.connect(station.store.path) as conn:
        conn.execute(sql)


def test_doctor_fails_naming_the_first_broken_entry(station, capsys):
    for n in range(3):
        inventory.receive(station, sku="OIL-5W30", quantity=1, now=NOW + timedelta(minutes=n))
    data_dir = station.store.path.parent
    assert main(["--data-dir", str(data_dir), "doctor", "--no-devices"]) == 0
    assert "ok    audit: hash chain verified (3 entries)" in capsys.readouterr().out
    _tamper(station, "UPDATE audit_entry SET actor_name = 'someone else' WHERE seq = 2")
    assert main(["--data-dir", str(data_dir), "doctor", "--no-devices"]) == 9
    assert "FAIL  audit: hash chain broken at seq 2: its fields do not match its hash" in capsys.readouterr().out
    _tamper(station, "DELETE FROM audit_entry WHERE seq = 2")
    main(["--data-dir", str(data_dir), "doctor", "--no-devices"])
    assert "hash chain broken at seq 2: entry 2 is missing" in capsys.readouterr().out


@pytest.fixture
def data_dir(tmp_path, capsys):
    config = tmp_path / "station.toml"
    config.write_text(INVENTORY_CONFIG + STAFF, encoding="utf-8")
    code, _, _ = cli(capsys, "--data-dir", tmp_path / "data", "init", "--config", config)
    assert code == 0
    return tmp_path / "data"


def test_privileged_commands_exit_10_without_a_manager_and_work_with_one(data_dir, capsys, monkeypatch):
    run = lambda *args: cli(capsys, "--data-dir", data_dir, *args)  # noqa: E731
    assert run("member", "add", "--phone", "13900139000", "--name", "Li")[0] == 0
    adjust = ("stock", "adjust", "--sku", "OIL-5W30", "--counted", "9", "--reason", "stocktake")
    code, _, err = run(*adjust)
    assert code == 10 and "stock adjust needs a manager; the command line is not one" in err and "--manager" in err
    monkeypatch.setenv("STATION_EDGE_PIN", ATTENDANT_PIN)
    code, _, err = run("--operator", "S02", *adjust)
    assert code == 10 and "赵小燕 is not one" in err
    monkeypatch.setenv("STATION_EDGE_MANAGER_PIN", "0000")
    code, _, err = run("--operator", "S02", "--manager", "周敏", *adjust)
    assert code == 10 and "wrong PIN" in err
    monkeypatch.setenv("STATION_EDGE_MANAGER_PIN", MANAGER_PIN)
    assert run("--operator", "S02", "--manager", "周敏", *adjust)[0] == 0
    code, out, _ = run("--operator", "S02", "--manager", "S01", "member", "credit", "set", "13900139000", "70",
                       "--reason", "no-show was our fault", "--json")
    assert code == 0 and json.loads(out)["credit_score"] == 70
    code, out, _ = run("--operator", "S02", "--manager", "S01", "member", "prepaid", "adjust", "--phone",
                       "13900139000", "--amount", "20.00", "--reason", "cash kept", "--json")
    assert code == 0 and json.loads(out)["prepaid_minor"] == 2_000
    monkeypatch.delenv("STATION_EDGE_PIN")
    code, _, err = run("--operator", "S02", "stock", "list")  # no PIN and no terminal to ask at
    assert code == 2 and "STATION_EDGE_PIN" in err


def test_audit_lists_newest_first_and_filters(data_dir, capsys, manager_pin):  # noqa: F811
    run = lambda *args: cli(capsys, "--data-dir", data_dir, *args)  # noqa: E731
    run("--operator", "S01", "stock", "adjust", "--sku", "OIL-5W30", "--counted", "9", "--reason", "stocktake")
    run("stock", "receive", "--sku", "OIL-5W30", "--quantity", "2")
    code, out, _ = run("audit", "--json")
    listed = json.loads(out)
    assert code == 0 and [e["action"] for e in listed] == ["stock.receive", "stock.adjust", "staff.sign_in"]
    assert [e["seq"] for e in listed] == [3, 2, 1]
    code, out, _ = run("audit", "--actor", "周敏", "--action", "stock", "--json")
    assert [(e["action"], e["authorised_by"]) for e in json.loads(out)] == [("stock.adjust", "S01")]
    code, out, _ = run("audit", "--entity", "material:OIL-5W30", "--limit", "1", "--json")
    assert [e["action"] for e in json.loads(out)] == ["stock.receive"]
    code, out, _ = run("audit", "--until", "2000-01-01", "--json")
    assert json.loads(out) == []
    code, out, _ = run("audit", "--action", "staff")
    assert code == 0 and "staff.sign_in" in out and "stock" not in out.split("\n", 2)[2]


def test_staff_list_and_hash_pin(data_dir, capsys, monkeypatch):
    import io

    code, out, _ = cli(capsys, "--data-dir", data_dir, "staff", "list", "--json")
    assert [(a["id"], a["role"]) for a in json.loads(out)] == [("S02", "attendant"), ("S01", "manager")]
    monkeypatch.setattr("sys.stdin", io.StringIO("4321\n"))
    code, out, _ = cli(capsys, "staff", "hash-pin")
    from edge.domain.pins import verify_pin
    assert code == 0 and verify_pin("4321", out.strip())
