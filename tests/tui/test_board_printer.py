"""The receipt printer's health on the board: out of paper and offline are alerts like a device down."""

from __future__ import annotations

from edge.services import live_state
from edge.services.live_state import DeviceHealth
from tests.tui.conftest import cells, loaded, wait_for
from tui.app import StationApp
from tui.board_data import load_board


def _printer(station, *, connected: bool, condition: str | None) -> None:
    now = station.clock()
    live_state.record_device_health(station, [
        DeviceHealth("desk-printer", "receipt_printer", "entrance", connected, None,
                     None if connected else "socket://192.0.2.20:9100: no answer to a status query within 2 s",
                     3, 0, condition=condition)], now=now)


def test_a_printer_out_of_paper_or_offline_is_an_alert_and_a_ready_one_is_not(busy_station):
    _printer(busy_station, connected=True, condition="paper_out")
    assert [(a.kind, a.subject) for a in load_board(busy_station).alerts if "printer" in a.subject] == [
        ("paper_out", "desk-printer")]
    _printer(busy_station, connected=False, condition=None)
    alerts = [a for a in load_board(busy_station).alerts if a.subject == "desk-printer"]
    assert [a.kind for a in alerts] == ["printer_offline"] and "no answer" in alerts[0].where
    _printer(busy_station, connected=True, condition=None)
    assert not [a for a in load_board(busy_station).alerts if a.subject == "desk-printer"]


async def test_the_board_shows_the_printer_out_of_paper_in_english_and_chinese(busy_station):
    _printer(busy_station, connected=True, condition="paper_out")
    app = StationApp(busy_station, language="en")
    async with app.run_test(size=(160, 40)) as pilot:
        await loaded(pilot)
        board = app.screen
        assert ["printer out of paper", "desk-printer"] in [row[:2] for row in cells(board.query_one("#alerts"))]
        await pilot.press("l")
        await wait_for(pilot, lambda: ["打印机缺纸", "desk-printer"] in [
            row[:2] for row in cells(board.query_one("#alerts"))], what="the alert in Chinese")
