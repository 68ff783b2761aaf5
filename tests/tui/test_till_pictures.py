"""Pictures of the till's screens at 80×24 in Chinese and English (time and numbers frozen): checkout
with a split payment, the day's receipts, a receipt refunded in part, a refund by line, an e-invoice
request; and the README's checkout picture, made again and compared with docs/tui-checkout.svg.

Update after a deliberate change: `pytest tests/tui/test_till_pictures.py --snapshot-update` and
`python -m tests.tui.screenshot docs/tui-checkout.svg --screen checkout --size 80x24`, then look at
the SVGs before committing them.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from edge.services import checkout, receipts
from tests.stations import MANAGER
from tests.tui.conftest import wait_for
from tests.tui.screenshot import board_ready, checkout_ready, save_screen
from tests.tui.till_sample import FIRST, till_station
from tui.app import StationApp
from tui.screens.invoice import InvoiceDialog
from tui.screens.receipts import ReceiptScreen, ReceiptsScreen
from tui.screens.refund import RefundScreen

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_checkout_with_a_split_payment_and_change(busy_station, snap_compare, language):
    assert snap_compare(StationApp(busy_station, language=language), terminal_size=(80, 24),
                        run_before=checkout_ready)


def test_the_readme_checkout_picture_is_the_screen_of_today(tmp_path):
    made = tmp_path / "tui-checkout.svg"
    asyncio.run(save_screen(made, screen="checkout", language="en", size=(80, 24)))
    assert made.read_text(encoding="utf-8") == (DOCS / "tui-checkout.svg").read_text(encoding="utf-8"), \
        "python -m tests.tui.screenshot docs/tui-checkout.svg --screen checkout --size 80x24"


@pytest.fixture
def till(tmp_path, monkeypatch):
    station = till_station(tmp_path, monkeypatch)
    yield station
    station.store.close()


async def _receipt_open(pilot, number: str = FIRST) -> None:
    app = pilot.app
    await board_ready(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
    for key in number[-5:]:
        await pilot.press(key)
    await wait_for(pilot, lambda: app.screen.query_one("#receipt-list").row_count == 1)
    await pilot.press("enter", "enter")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptScreen) and app.screen.loads)


async def receipts_listed(pilot) -> None:
    app = pilot.app
    await board_ready(pilot)
    await pilot.press("r")
    await wait_for(pilot, lambda: isinstance(app.screen, ReceiptsScreen) and app.screen.loads)
    await pilot.pause(0.1)


async def receipt_refunded_in_part(pilot) -> None:
    """One wiper blade back, and a personal e-invoice asked for."""
    station = pilot.app.station
    wiper = next(line for line in receipts.get_receipt(station, FIRST).lines if line.code == "WIPER")
    checkout.refund(station, FIRST, reason="one blade did not fit", lines=[(wiper.line_code, 1)], manager=MANAGER)
    checkout.request_invoice(station, FIRST, buyer_name="张伟", email="zw@example.com")
    await _receipt_open(pilot)
    await pilot.pause(0.1)


async def refund_one_line(pilot) -> None:
    await _receipt_open(pilot)
    await pilot.press("f")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RefundScreen))
    await pilot.press("down", "down", "space", "minus")
    await pilot.pause(0.1)


async def invoice_asked(pilot) -> None:
    await _receipt_open(pilot)
    await pilot.press("i")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, InvoiceDialog))
    await pilot.pause(0.1)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("drive", [receipts_listed, receipt_refunded_in_part, refund_one_line, invoice_asked],
                         ids=lambda drive: drive.__name__)
def test_receipts_refund_and_invoice(till, snap_compare, language, drive):
    assert snap_compare(StationApp(till, language=language), terminal_size=(80, 24), run_before=drive)
