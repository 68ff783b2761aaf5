"""`station-edge shift ...` as an attendant runs it: open with the float, cash in and out, X report, counted close."""

from __future__ import annotations

import json

import pytest

from edge.cli.main import main
from tests.test_cli import cli, data_dir  # noqa: F401  (the fixture)


def usage_error(capsys, *args: str) -> str:
    """What argparse says to a command it refuses before anything runs (exit 2)."""
    with pytest.raises(SystemExit) as ended:
        main([str(a) for a in args])
    assert ended.value.code == 2
    return capsys.readouterr().err


def test_a_day_at_the_drawer(data_dir, capsys):  # noqa: F811
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "open", "--float", "200.00")
    assert code == 0 and "open on terminal desk: float 200.00 CNY" in out
    code, _, err = cli(capsys, "--data-dir", data_dir, "shift", "open")
    assert code == 6 and "already open on terminal 'desk'" in err

    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "cash-in", "50.00", "--reason", "change from the safe")
    assert code == 0 and "expected cash now 250.00 CNY" in out
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "cash-out", "30.50", "--reason", "banked")
    assert code == 0 and "30.50 CNY out of the drawer (banked); expected cash now 219.50 CNY" in out
    assert "--reason" in usage_error(capsys, "--data-dir", data_dir, "shift", "cash-out", "10")

    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "x")
    assert code == 0 and "X report (shift open)" in out
    assert "expected cash" in out and "219.50 CNY" in out and "counted" not in out
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "x", "--json")
    x = json.loads(out)
    assert x["report"] == "X" and x["cash_in_minor"] == 5000 and x["cash_out_minor"] == 3050

    code, _, err = cli(capsys, "--data-dir", data_dir, "shift", "close", "--count", "3=1")
    assert code == 2 and "--count" in err
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "close", "--count", "100=2", "--count", "10=1",
                       "--count", "5=1", "--count", "1=4", "--note", "fifty fen short")
    assert code == 0 and "Z report (shift closed)" in out
    assert "219.00 CNY" in out and "-0.50 CNY" in out and "note: fifty fen short" in out
    assert "100×2, 10×1, 5×1, 1×4" in out

    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "list", "--json")
    [listed] = json.loads(out)
    assert listed["variance_minor"] == -50 and not listed["open"]
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "show", listed["id"], "--json")
    assert json.loads(out)["counted_minor"] == 21900

    # the next shift starts with what was counted; another terminal keeps its own drawer
    code, out, _ = cli(capsys, "--data-dir", data_dir, "shift", "open")
    assert code == 0 and "float 219.00 CNY" in out
    code, out, _ = cli(capsys, "--data-dir", data_dir, "--terminal", "till-2", "shift", "open", "--json")
    assert json.loads(out)["terminal"] == "till-2" and json.loads(out)["float_minor"] == 0
    assert "terminal name" in usage_error(capsys, "--data-dir", data_dir, "--terminal", "till 2", "shift", "x")
    code, _, err = cli(capsys, "--data-dir", data_dir, "--terminal", "lane-3", "shift", "x")
    assert code == 6 and "no shift is open on terminal 'lane-3'" in err
