"""The till's screens at 80×24: no text cut at a panel's edge, in either language, and no English left in Chinese."""

from __future__ import annotations

import pytest

from tests.tui.conftest import loaded, wait_for
from tests.tui.test_chinese_everywhere import ALLOWED, data_words, english_words
from tests.tui.test_no_text_cut import clipped_texts
from tests.tui.till_sample import FIRST, till_station
from tui import i18n
from tui.app import StationApp
from tui.screens.checkout import CheckoutScreen, ReceiptTakenDialog
from tui.screens.invoice import InvoiceDialog
from tui.screens.receipts import ReceiptScreen, ReceiptsScreen
from tui.screens.refund import RefundScreen

# the operator and terminal a receipt names, as recorded (ids); the Space key as the footer prints it
TILL_DATA = {"cli", "desk", "space"}


@pytest.fixture
def till(tmp_path, monkeypatch):
    station = till_station(tmp_path, monkeypatch)
    yield station
    station.store.close()


async def walk(pilot) -> dict[str, tuple[list[str], list[str]]]:
    """Every till screen in turn, as the attendant reaches it: (texts cut, English words) of each."""
    app = pilot.app
    allowed = ALLOWED | data_words(app.station) | TILL_DATA | set(app.station.tiers)  # tier names as configured
    seen = {}

    async def look(name: str, *, refusal: bool = False) -> None:
        """A refusal is the service's own words (and what was typed): only checked for fitting."""
        await pilot.pause(0.2)
        chinese = i18n.language() == "zh_CN" and not refusal
        seen[name] = (clipped_texts(app), english_words(app, allowed) if chinese else [])

    await loaded(pilot)
    await pilot.press("p")
    await wait_for(pilot, lambda: isinstance(app.screen, CheckoutScreen) and app.screen.loads)
    screen = app.screen
    screen.query_one("#services").focus()
    await pilot.press("space", "down", "down", "space")
    screen.query_one("#customer").focus()
    await pilot.press(*"13800138000")
    screen.query_one("#coupon").focus()
    await pilot.press(*"NOSUCH")  # refused: the reason shows in the receipt panel
    await wait_for(pilot, lambda: screen.data.sale.coupon == "NOSUCH" and screen.data.problem, what="the refusal")
    await look("checkout, refused", refusal=True)
    await pilot.press(*["backspace"] * 6)
    await wait_for(pilot, lambda: screen.due_minor is not None, what="the quote")
    screen.query_one("#alipay").focus()
    await pilot.press("1", "0", "0")
    screen.query_one("#cash").focus()
    await pilot.press("enter")
    screen.query_one("#tendered").focus()
    await pilot.press(*"300")
    await look("checkout")
    await pilot.press("f5")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptTakenDialog), what="the payment")
    await look("paid")
    await pilot.press("enter")
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
    await look("receipts")
    await pilot.press(*FIRST[-5:])
    await wait_for(pilot, lambda: app.screen.query_one("#receipt-list").row_count == 1)
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen) and app.screen.loads)
    await look("receipt")
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(app.screen, RefundScreen))
    await pilot.press("space")
    await look("refund")
    await pilot.press("escape", "i")
    await wait_for(pilot, lambda: isinstance(app.screen, InvoiceDialog))
    await pilot.press(*"ACME", "enter", *"12345", "enter", "enter")  # not a tax id: refused in the dialog
    await wait_for(pilot, lambda: str(app.screen.query_one("#invoice-error").render()), what="the refusal")
    await look("e-invoice, refused", refusal=True)
    return seen


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_till_fits_80x24_and_reads_in_the_ui_language(till, language):
    app = StationApp(till, language=language)
    async with app.run_test(size=(80, 24)) as pilot:
        seen = await walk(pilot)
    offending = {name: found for name, found in seen.items() if found[0] or found[1]}
    assert not offending, "\n".join(f"{name}: cut {cut}, English {words}" for name, (cut, words) in offending.items())
