"""`station-edge roster ...` through the real command line: set, list, show, remove, and refusals naming the argument."""

from __future__ import annotations

import json

import pytest

from tests.test_cli import cli, data_dir, manager_pin  # noqa: F401 (fixtures)

MONDAY = "2030-01-07"


def test_sick_day_shows_in_slots_and_lists_the_booking_left_for_the_desk(data_dir, manager_pin, capsys):
    run = lambda *args: cli(capsys, "--data-dir", data_dir, *args)  # noqa: E731
    code, out, _ = run("book", "--start", f"{MONDAY}T09:00", "--services", "OIL", "--plate", "沪A12345", "--json")
    booking = json.loads(out)
    assert code == 0 and booking["technician_id"] == "T1"

    code, out, _ = run("--operator", "S01", "roster", "set", "Wang", "--date", MONDAY, "--kind", "sick", "--note", "flu")
    assert code == 0
    assert out.splitlines()[0] == f"set T1 {MONDAY}: sick (flu)"
    assert booking["code"] in out and "reassign" in out

    code, out, _ = run("slots", "--date", MONDAY, "--services", "OIL", "--json")
    assert code == 0 and {tuple(s["technicians"]) for s in json.loads(out)} == {("T2",)}

    code, out, _ = run("--operator", "S01", "roster", "set", "T2", "--date", MONDAY, "--kind", "hours", "--from", "10:00", "--to", "12:00",
                       "--json")
    assert code == 0 and json.loads(out) | {"affected": None} == {
        "technician_id": "T2", "date": MONDAY, "kind": "hours", "from": "10:00", "to": "12:00", "note": "",
        "removed": False, "affected": None}
    code, out, _ = run("roster", "show", "Li", "--date", MONDAY)
    assert code == 0 and out.splitlines() == [
        f"Li (T2) on {MONDAY} (Mon): 10:00-12:00", "weekly roster: 08:00-18:00", "exception: hours 10:00-12:00"]

    code, out, _ = run("roster", "list", "--json")
    assert [(e["technician_id"], e["kind"]) for e in json.loads(out)] == [("T1", "sick"), ("T2", "hours")]
    code, out, _ = run("roster", "list", "--technician", "T2")
    assert code == 0 and "hours" in out and "sick" not in out

    code, out, _ = run("--operator", "S01", "roster", "remove", "T1", "--date", MONDAY)
    assert code == 0 and out.splitlines() == [f"removed T1 {MONDAY}: sick (flu)",
                                              f"no booking of T1 on {MONDAY} is outside the shifts"]
    code, out, _ = run("roster", "show", "T1", "--date", MONDAY, "--json")
    assert json.loads(out)["exception"] is None and len(json.loads(out)["shifts"]) == 1
    code, out, _ = run("sync", "outbox", "--json")
    assert [e["type"] for e in json.loads(out)["events"] if e["type"].startswith("roster.")] == [
        "roster.exception_set", "roster.exception_set", "roster.exception_removed"]


@pytest.mark.parametrize(("args", "argument"), [
    (("--kind", "extra", "--from", "18:00"), "--to"),
    (("--kind", "leave", "--from", "08:00"), "--from"),
    (("--kind", "hours", "--from", "8", "--to", "12:00"), "--from"),
    (("--kind", "hours", "--from", "12:00", "--to", "11:00"), "--to"),
])
def test_bad_hours_exit_2_naming_the_argument_and_write_nothing(data_dir, manager_pin, capsys, args, argument):
    code, _, err = cli(capsys, "--data-dir", data_dir, "--operator", "S01", "roster", "set", "T1", "--date", MONDAY, *args)
    assert code == 2 and f"argument {argument}:" in err
    code, out, _ = cli(capsys, "--data-dir", data_dir, "roster", "list", "--json")
    assert json.loads(out) == []


def test_unknown_technician_and_missing_exception_exit_4(data_dir, manager_pin, capsys):
    code, _, err = cli(capsys, "--data-dir", data_dir, "--operator", "S01", "roster", "set", "Zhao", "--date", MONDAY, "--kind", "leave")
    assert code == 4 and "T1 Wang, T2 Li" in err
    code, _, err = cli(capsys, "--data-dir", data_dir, "--operator", "S01", "roster", "remove", "T1", "--date", MONDAY)
    assert code == 4 and "no roster exception" in err
    with pytest.raises(SystemExit) as refused:  # argparse's own refusal
        cli(capsys, "--data-dir", data_dir, "--operator", "S01", "roster", "set", "T1", "--date", MONDAY, "--kind", "holiday")
    assert refused.value.code == 2 and "argument --kind" in capsys.readouterr().err
