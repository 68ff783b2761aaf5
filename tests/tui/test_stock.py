"""The stock screen as the attendant and the manager use it: goods in, goods out, a count the manager authorises,
the movements of the highlighted material; and low stock on the board's alert list."""

from __future__ import annotations

import pytest

from edge.services import inventory
from tests.tui.conftest import cells, loaded, wait_for
from tests.tui.desk import answer_form, desk_station, form_open, manager_answers, notices, open_screen
from tui.app import StationApp
from tui.screens.manager_pin import ManagerPinDialog
from tui.screens.stock import StockScreen


@pytest.fixture
def station(tmp_path):
    station = desk_station(tmp_path)
    yield station
    station.store.close()


def on_hand(station, sku: str) -> int:
    return next(m.on_hand for m in inventory.stock(station) if m.sku == sku)


async def test_goods_in_and_out_and_a_count_the_manager_authorises(station):
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        screen = await open_screen(pilot, "k", StockScreen)
        assert cells(screen.query_one("#levels")) == [
            ["CHEM-SHAMPOO", "Shampoo", "5 dose", "2", ""], ["FILTER-OIL", "Oil filter", "3 pcs", "1", ""],
            ["OIL-5W30", "Engine oil 5W-30", "10 L", "4", ""]]

        await pilot.press("down", "down")  # the engine oil
        await wait_for(pilot, lambda: screen.sku == "OIL-5W30")
        await pilot.press("i")
        await form_open(pilot)
        form = app.screen
        assert form.answers()["sku"] == "OIL-5W30"  # the highlighted material, already typed
        await answer_form(pilot, "12", "Castrol delivery 8812")  # the quantity has the cursor
        await wait_for(pilot, lambda: on_hand(station, "OIL-5W30") == 22, what="the goods in")
        await wait_for(pilot, lambda: cells(screen.query_one("#movements"))[0][1:] == [
            "in", "12", "22", "Castrol delivery 8812"], what="the movement listed")

        await pilot.press("u")
        await form_open(pilot)
        await answer_form(pilot, "20", "drum leaked")
        await wait_for(pilot, lambda: on_hand(station, "OIL-5W30") == 2, what="the issue")
        await wait_for(pilot, lambda: cells(screen.query_one("#levels"))[2][2:] == ["2 L", "4", "low"],
                       what="marked low")

        await pilot.press("e")
        await form_open(pilot)
        await answer_form(pilot, "5", "stocktake")
        await manager_answers(pilot, "周敏")
        await wait_for(pilot, lambda: on_hand(station, "OIL-5W30") == 5, what="the count")
        [count] = [m for m in inventory.movements(station, sku="OIL-5W30") if m.kind == "adjust"]
        assert (count.quantity, count.reason) == (3, "stocktake")
        await wait_for(pilot, lambda: cells(screen.query_one("#movements"))[0][1:3] == ["count", "+3"],
                       what=f"the count listed, not {cells(screen.query_one('#movements'))}")
        assert "Engine oil 5W-30: 5 L on hand" in notices(app)


async def test_a_count_without_the_manager_and_a_quantity_that_is_no_number_change_nothing(station):
    app = StationApp(station)
    async with app.run_test(size=(100, 30)) as pilot:
        await loaded(pilot)
        screen = await open_screen(pilot, "k", StockScreen)
        await pilot.press("e")
        await form_open(pilot)
        await answer_form(pilot, "0", "lost")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagerPinDialog))
        await pilot.press("escape")
        await pilot.press("u")
        await form_open(pilot)
        await answer_form(pilot, "two", "broken")
        await wait_for(pilot, lambda: any("two is not a whole number" in n for n in notices(app)), what="the refusal")
        assert app.screen is screen
        assert on_hand(station, "CHEM-SHAMPOO") == 5
        assert [m.reason for m in inventory.movements(station)] == ["initial stock"] * 3


async def test_a_material_below_its_reorder_level_is_on_the_boards_alerts_and_enter_opens_stock(station):
    inventory.issue(station, sku="FILTER-OIL", quantity=3, reason="sold off the books")
    app = StationApp(station)
    async with app.run_test(size=(120, 40)) as pilot:
        await loaded(pilot)
        alerts = app.screen.query_one("#alerts")
        assert [row[:2] for row in cells(alerts)] == [["low stock", "FILTER-OIL"]]
        assert cells(alerts)[0][2] == "0 pcs left"
        alerts.focus()
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, StockScreen), what="the stock screen")
