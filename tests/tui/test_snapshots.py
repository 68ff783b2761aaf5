"""Pictures of the board at 80×24 and 120×40, in Chinese and English (time, booking codes and live state frozen);
and at 80×24 a morning where sensors and bookings disagree and a car waits for its bay.

Update after a deliberate change: `pytest tests/tui/test_snapshots.py --snapshot-update`, then look at
the SVGs in __snapshots__/ before committing them.
"""

from __future__ import annotations

import pytest

from edge.services import bookings, live_state
from tests.stations import NOW, make_station
from tests.tui.sample import fixed_codes, local
from tests.tui.screenshot import board_ready
from tui.app import StationApp


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("size", [(80, 24), (120, 40)], ids=["80x24", "120x40"])
def test_board(busy_station, snap_compare, language, size):
    assert snap_compare(StationApp(busy_station, language=language), terminal_size=size, run_before=board_ready)


def bays_in_doubt(station):
    """07:00: a car that came early for 09:00 is in L1 though the sensor says free, the 08:00 car waits
    for L1, and the wash tunnel's sensor sees a car nobody booked in."""
    early = bookings.book(station, services=["OIL"], start=local(9), plate="沪A11111", bay_id="L1", now=NOW)
    waiting = bookings.book(station, services=["TYRE"], start=local(8), plate="沪B22222", bay_id="L1", now=NOW)
    for booking in (early, waiting):
        bookings.check_in(station, booking.code, now=NOW)
    bookings.set_progress(station, early.code, "in_bay", now=NOW)
    live_state.record_occupancy(station, "L1", "free", source="bay-sensors", now=NOW)
    live_state.record_occupancy(station, "W1", "occupied", source="bay-sensors", now=NOW)
    return station


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_bays_in_doubt_at_80x24(tmp_path, monkeypatch, snap_compare, language):
    fixed_codes(monkeypatch)
    station = bays_in_doubt(make_station(tmp_path))
    try:
        assert snap_compare(StationApp(station, language=language), terminal_size=(80, 24), run_before=board_ready)
    finally:
        station.store.close()
