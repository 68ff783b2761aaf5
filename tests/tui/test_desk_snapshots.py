"""Pictures of the desk's screens at 80×24 in Chinese and English: stock, fleet approvals, disruption offers,
complaints, reports and a member, on a morning with something on each (codes and clock fixed).

Update after a deliberate change: `pytest tests/tui/test_desk_snapshots.py --snapshot-update`, then look at
the SVGs in __snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from tests.tui.conftest import loaded, wait_for
from tests.tui.desk import desk_sample
from tui.app import StationApp


@pytest.fixture
def desk_morning(tmp_path, monkeypatch):
    station = desk_sample(tmp_path, monkeypatch)
    yield station
    station.store.close()


def opened(key: str, member: str = ""):
    """Press the screen's key from the board and wait for its data (a member: typed and looked up)."""
    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press(key)
        await wait_for(pilot, lambda: pilot.app.screen.loads > 0, what="the screen's data")
        if member:
            screen = pilot.app.screen
            screen.query_one("#key").value = member
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.loads > 1, what="the member")
        await pilot.pause(0.3)
    return run_before


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("key, member", [("k", ""), ("a", ""), ("d", ""), ("h", ""), ("o", ""), ("m", "13900139001")],
                         ids=["stock", "approvals", "disruptions", "complaints", "reports", "member"])
def test_desk_screens_at_80x24(desk_morning, snap_compare, language, key, member):
    assert snap_compare(StationApp(desk_morning, language=language), terminal_size=(80, 24),
                        run_before=opened(key, member))
