"""Pictures of the board at 80×24 and 120×40, in Chinese and English (time, booking codes and live state frozen).

Update after a deliberate change: `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at
the SVGs in __snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from tests.tui.screenshot import board_ready
from tui.app import StationApp


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_board(busy_station, snap_compare, language, size):
    assert snap_compare(StationApp(busy_station, language=language), terminal_size=size, run_before=board_ready)
