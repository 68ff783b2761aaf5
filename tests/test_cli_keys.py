"""`station-edge keys generate/show`: key files a station signs with and HQ verifies with."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from edge.cli.main import main
from sync.signing import Keyring, Signer


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_generate_writes_a_usable_key_pair(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("STATION_EDGE_HOME", raising=False)  # keys need no station data directory
    code, out, _ = run(capsys, "--json", "keys", "generate", "--kid", "S042-2026", "--out", tmp_path / "keys")
    assert code == 0
    result = json.loads(out)
    assert result["kid"] == "S042-2026" and result["station"] == "S042"
    private_path = Path(result["private_key"])
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    message = Signer.load(private_path).sign({"station": "S042", "seq": 1})
    assert Keyring.load(tmp_path / "keys").verify(message, station_id="S042") == "S042-2026"


def test_generate_refuses_to_overwrite_a_key(tmp_path: Path, capsys) -> None:
    assert run(capsys, "keys", "generate", "--kid", "S042-2026", "--out", tmp_path)[0] == 0
    before = (tmp_path / "S042-2026.key").read_bytes()
    code, _, err = run(capsys, "keys", "generate", "--kid", "S042-2026", "--out", tmp_path)
    assert code == 2 and "--kid S042-2026" in err and "new key id" in err
    assert (tmp_path / "S042-2026.key").read_bytes() == before


def test_generate_rejects_a_kid_without_station(tmp_path: Path, capsys) -> None:
    try:
        main(["keys", "generate", "--kid", "S042", "--out", str(tmp_path)])
    except SystemExit as exit_:
        assert exit_.code == 2
    else:
        raise AssertionError("a key id without a label was accepted")
    assert "--kid" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


def test_show_lists_kids_and_which_have_private_keys(tmp_path: Path, capsys) -> None:
    run(capsys, "keys", "generate", "--kid", "S042-2026", "--out", tmp_path)
    Signer.generate("S043-2026").save(tmp_path)
    (tmp_path / "S043-2026.key").unlink()  # HQ's keyring holds only public keys
    code, out, _ = run(capsys, "--json", "keys", "show", tmp_path)
    assert code == 0
    keys = json.loads(out)
    assert [(k["kid"], k["station"], k["private"]) for k in keys] == [
        ("S042-2026", "S042", True), ("S043-2026", "S043", False)]
    code, out, _ = run(capsys, "keys", "show", tmp_path)
    assert code == 0 and "S042-2026" in out and "S043-2026" in out


def test_show_names_a_missing_directory(tmp_path: Path, capsys) -> None:
    code, _, err = run(capsys, "keys", "show", tmp_path / "nope")
    assert code == 2 and "nope" in err
