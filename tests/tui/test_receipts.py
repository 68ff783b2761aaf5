"""Receipts, refunds and e-invoices at the terminal, as the attendant and the manager do them."""

from __future__ import annotations

import pytest

from edge.services import receipts, staff
from tests.test_staff import MANAGER_PIN
from tests.tui.conftest import cells, loaded, text_of, wait_for
from tests.tui.till_sample import FIRST, SECOND, till_station
from tui.app import StationApp
from tui.screens.invoice import InvoiceDialog
from tui.screens.manager_pin import ManagerPinDialog
from tui.screens.receipts import ReceiptScreen, ReceiptsScreen
from tui.screens.refund import RefundScreen

@pytest.fixture
def station(tmp_path, monkeypatch):
    station = till_station(tmp_path, monkeypatch)
    yield station
    station.store.close()


async def type_in(pilot, text: str) -> None:
    for key in text:
        await pilot.press(key)


async def open_receipt(pilot, number: str) -> ReceiptScreen:
    app = pilot.app
    await loaded(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
    await type_in(pilot, number)
    await wait_for(pilot, lambda: [row[0] for row in cells(app.screen.query_one("#receipt-list"))] == [number],
                   what=f"only {number} listed")
    await pilot.press("enter", "enter")  # to the list, then the receipt
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen) and app.screen.loads, what="the receipt")
    return app.screen


async def open_refund(pilot, number: str) -> ReceiptScreen:
    """The receipt, then `f`: the refund screen in front; the receipt screen under it."""
    screen = await open_receipt(pilot, number)
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RefundScreen))
    return screen


async def ask_invoice(pilot, buyer: str) -> InvoiceDialog:
    """`i` on the receipt shown, and the buyer typed."""
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, InvoiceDialog))
    await type_in(pilot, buyer)
    return pilot.app.screen


async def test_todays_receipts_are_listed_and_searched(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        await loaded(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
        rows = cells(app.screen.query_one("#receipt-list"))
        assert [row[0] for row in rows] == [SECOND, FIRST]
        assert rows[1][1:] == ["08:10", "张伟", "409.00 CNY", "paid"]
        await type_in(pilot, "13800138000")
        await wait_for(pilot, lambda: len(cells(app.screen.query_one("#receipt-list"))) == 1, what="the search")


async def test_a_receipt_shows_its_lines_payments_and_change(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_receipt(pilot, FIRST)
        shown = text_of(screen.query_one("#receipt-facts"))
        for text in ("Oil change", "Wash", "Wiper blade ×2", "Bank card", "200.00 CNY", "Cash given",
                     "Change", "11.00 CNY", "E-invoice: not asked"):
            assert text in shown, text


async def test_an_attendant_refunds_one_line_with_the_managers_pin(station):
    number = FIRST
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_refund(pilot, number)
        await pilot.press("down", "down", "minus", "plus")  # the wiper blades: one of the two
        assert "1 item(s) on 1 line(s)" in text_of(app.screen.query_one("#refund-note"))
        app.screen.query_one("#reason").focus()
        await type_in(pilot, "one blade did not fit")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ManagerPinDialog), what="the manager's PIN")
        await type_in(pilot, "周敏")
        await pilot.press("enter")
        await type_in(pilot, MANAGER_PIN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the receipt")
        await wait_for(pilot, lambda: screen.receipt.state == "partly_refunded", what="the refund shown")
        shown = text_of(screen.query_one("#receipt-facts"))
        assert "(1 refunded)" in shown and "one blade did not fit" in shown
    view = receipts.get_receipt(station, number)
    assert [(line.code, line.refunded_quantity) for line in view.lines] == [("OIL", 0), ("WASH", 0), ("WIPER", 1)]
    assert view.refunds[-1].authorised_by == "S01"


async def test_a_manager_refunds_the_whole_receipt_without_a_pin(station):
    station.actor = staff.sign_in(station, "S01", MANAGER_PIN).actor
    number = SECOND
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_refund(pilot, number)
        await pilot.press("a")
        assert "The whole receipt" in text_of(app.screen.query_one("#refund-note"))
        app.screen.query_one("#reason").focus()
        await type_in(pilot, "customer left")
        await pilot.press("f5")
        await wait_for(pilot, lambda: app.screen is screen and screen.receipt.state == "refunded",
                       what="the refund")
        assert not screen.check_action("refund", ())
        await ask_invoice(pilot, "张伟")  # an e-invoice for a refunded receipt: refused, and said why
        await pilot.press("enter", "enter", "enter")
        await wait_for(pilot, lambda: str(app.screen.query_one("#invoice-error").render()), what="the refusal")
        assert "refunded" in str(app.screen.query_one("#invoice-error").render())
    assert receipts.get_receipt(station, number).state == "refunded"


async def test_a_personal_e_invoice_is_asked_once(station):
    number = FIRST
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await open_receipt(pilot, number)
        await ask_invoice(pilot, "张伟")
        await pilot.press("enter", "enter")  # no tax id: a personal invoice
        await type_in(pilot, "zw@example.com")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is screen and screen.receipt.invoice == "requested",
                       what="the request")
        await ask_invoice(pilot, "张伟")
        await pilot.press("enter", "enter", "enter")
        await wait_for(pilot, lambda: str(app.screen.query_one("#invoice-error").render()), what="the refusal")
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen)
