"""The systemd unit files pass `systemd-analyze verify` (with ExecStart pointed at this checkout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
UNITS = sorted((ROOT / "systemd").glob("*.service"))


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed here")
@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_verifies(unit, tmp_path):
    script = Path(sys.executable).with_name("station-edge")
    text = unit.read_text(encoding="utf-8").replace("/opt/station-edge/.venv/bin/station-edge", str(script))
    copy = tmp_path / unit.name
    copy.write_text(text, encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True, check=False)
    assert result.returncode == 0 and result.stderr.strip() == "", result.stderr


def test_the_daemon_unit_is_a_hardened_notify_service():
    text = (ROOT / "systemd" / "station-edge.service").read_text(encoding="utf-8")
    for line in ("Type=notify", "WatchdogSec=", "Restart=on-failure", "SupplementaryGroups=dialout",
                 "StateDirectory=station-edge", "ProtectSystem=strict", "ProtectHome=true",
                 "NoNewPrivileges=true", "PrivateTmp=true"):
        assert line in text
