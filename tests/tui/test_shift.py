"""The shift screen (key s), keyboard only: open with the float, cash in and out, the X report, the drawer
counted note by note at the close with the total and variance following the typing, then the Z report.
Pictures at 80×24 in Chinese and English."""

from __future__ import annotations

import pytest
from textual.widgets import Input, Label, Static

from edge.domain.money_ledger import CASH, Account, Kind, Posting
from edge.services import money_ledger, shifts
from tests.stations import make_station
from tests.tui.conftest import loaded, text_of, wait_for
from tests.tui.test_chinese_everywhere import ALLOWED, data_words, english_words
from tui.app import StationApp
from tui.screens.shift import ShiftScreen
from tui.screens.shift_dialogs import CashDialog, CloseShiftDialog, ShiftReportDialog


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path)
    yield station
    station.store.close()


def sale(station, method: str, amount: int) -> None:
    with station.store.write() as conn:
        money_ledger.post(conn, station, Kind.SALE, [Posting(Account.TENDER, amount, method),
                                                     Posting(Account.SALES, -amount, "wash")], now=station.clock())


def _messages(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def _type(pilot, text: str) -> None:
    for key in text:
        await pilot.press("full_stop" if key == "." else key)


async def _shift_screen(pilot, app) -> ShiftScreen:
    await loaded(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(app.screen, ShiftScreen), what="the shift screen")
    await loaded(pilot, app.screen)
    return app.screen


def _drawer(screen) -> str:
    return text_of(screen.query_one("#drawer", Static))


async def test_the_shift_opens_with_the_float_typed_at_the_terminal(station):
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _shift_screen(pilot, app)
        field = screen.query_one("#float", Input)
        assert field.value == "0.00" and app.focused is field and not screen.query_one("#drawer").display
        await pilot.press("ctrl+u")
        await _type(pilot, "200.00")
        loads = screen.loads
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.loads > loads and screen.query_one("#drawer").display, what="opened")
        assert shifts.current_shift(station).float_minor == 20000
        assert "Float" in _drawer(screen) and "200.00 CNY" in _drawer(screen)
        assert "Shift open with a float of 200.00 CNY" in _messages(app)
        assert not screen.query_one("#open-form").display


async def test_the_float_offered_is_what_the_last_close_counted(station):
    shifts.open_shift(station, float_minor=20000)
    shifts.close_shift(station, counted_minor=18850)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _shift_screen(pilot, app)
        assert screen.query_one("#float", Input).value == "188.50"
        await pilot.press("x")  # no shift open: no report to show
        await pilot.pause(0.1)
        assert screen.query_one("#float", Input).value == "188.50x" and not isinstance(app.screen, ShiftReportDialog)


async def test_cash_in_and_out_with_a_reason_and_the_x_report(station):
    shifts.open_shift(station, float_minor=20000)
    sale(station, CASH, 3000)
    sale(station, "wechat_pay", 29900)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _shift_screen(pilot, app)
        drawer = _drawer(screen)
        assert "Taken by cash" in drawer and "Taken by WeChat Pay" in drawer and "299.00 CNY" in drawer
        assert "Expected cash in the drawer" in drawer and "230.00 CNY" in drawer

        await pilot.press("i")
        await wait_for(pilot, lambda: isinstance(app.screen, CashDialog), what="the cash dialog")
        await _type(pilot, "50")
        await pilot.press("enter")  # on to the reason
        assert app.focused.id == "cash-reason"
        await _type(pilot, "change")
        loads = screen.loads
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.loads > loads and "280.00 CNY" in _drawer(screen), what="cash in")
        assert "Expected cash now 280.00 CNY" in _messages(app)

        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CashDialog), what="the cash-out dialog")
        await _type(pilot, "abc")
        await pilot.press("enter")
        await pilot.press("enter")  # no amount, no reason: refused, nothing moved
        await wait_for(pilot, lambda: any("not an amount" in m for m in _messages(app)), what="the refusal")
        assert shifts.current_shift(station).expected_minor == 28000

        await pilot.press("o")
        await wait_for(pilot, lambda: isinstance(app.screen, CashDialog), what="the cash-out dialog")
        await _type(pilot, "100")
        await pilot.press("enter")
        await _type(pilot, "banked")
        await pilot.press("enter")
        await wait_for(pilot, lambda: "180.00 CNY" in _drawer(screen), what="cash out")

        await pilot.press("x")
        await wait_for(pilot, lambda: isinstance(app.screen, ShiftReportDialog), what="the X report")
        report = text_of(app.screen.query_one("#report-figures", Static))
        for line in ("Sales", "329.00 CNY", "WeChat Pay 299.00 CNY", "Cash in", "50.00 CNY", "Cash out",
                     "100.00 CNY", "Expected cash", "180.00 CNY"):
            assert line in report
        assert "Variance" not in report
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen, what="back on the shift screen")
        assert shifts.current_shift(station) is not None  # an X report changes nothing


async def test_the_close_counts_the_drawer_note_by_note_and_shows_the_z_report(station):
    shifts.open_shift(station, float_minor=20000)
    sale(station, CASH, 3000)
    app = StationApp(station)
    async with app.run_test(size=(80, 24)) as pilot:
        screen = await _shift_screen(pilot, app)
        await pilot.press("z")
        await wait_for(pilot, lambda: isinstance(app.screen, CloseShiftDialog), what="the count")
        dialog = app.screen
        label = lambda widget_id: str(dialog.query_one(widget_id, Label).render())  # noqa: E731
        assert "expected 230.00 CNY" in label("#count-total") and "-230.00 CNY" in label("#count-variance")
        await _type(pilot, "2")  # 100 × 2
        await pilot.press("enter")  # Enter goes on to the 50s
        await pilot.press("tab")  # and Tab to the 20s
        await _type(pilot, "1")
        assert "Counted 220.00 CNY" in label("#count-total") and "-10.00 CNY" in label("#count-variance")
        assert "20.00 CNY" in label("#sub-20")
        for _ in range(2):
            await pilot.press("enter")  # past the 10s to the 5s
        await _type(pilot, "1")
        await pilot.press("enter")
        await _type(pilot, "4")  # 1 × 4
        for _ in range(3):
            await pilot.press("enter")  # past 0.5 and 0.1 to the note
        assert app.focused.id == "close-note"
        assert "Counted 229.00 CNY" in label("#count-total") and "Variance -1.00 CNY" in label("#count-variance")
        await _type(pilot, "short")
        await pilot.press("enter")
        assert app.focused.id == "confirm"
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, ShiftReportDialog), what="the Z report")
        report = text_of(app.screen.query_one("#report-figures", Static))
        for line in ("Counted cash", "229.00 CNY", "Variance", "-1.00 CNY", "short"):
            assert line in report
        assert shifts.current_shift(station) is None
        [closed] = shifts.list_shifts(station)
        assert closed.variance_minor == -100 and closed.note == "short"
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is screen and screen.query_one("#open-form").display,
                       what="the screen offers a new shift")
        assert screen.query_one("#float", Input).value == "229.00"


async def test_the_shift_screen_reads_in_chinese(station):
    shifts.open_shift(station, float_minor=20000)
    sale(station, "alipay", 3000)
    allowed = ALLOWED | data_words(station) | {station.terminal}
    app = StationApp(station, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await _shift_screen(pilot, app)
        seen = {"shift": english_words(app, allowed)}
        for key, dialog in (("i", CashDialog), ("x", ShiftReportDialog), ("z", CloseShiftDialog)):
            await pilot.press(key)
            await wait_for(pilot, lambda: isinstance(app.screen, dialog), what=dialog.__name__)
            await pilot.pause(0.1)
            seen[dialog.__name__] = english_words(app, allowed)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, ShiftScreen))
    assert not {name: words for name, words in seen.items() if words}


# -- pictures ------------------------------------------------------------------------------------


def _drawer_station(tmp_path):
    station = make_station(tmp_path)
    shifts.open_shift(station, float_minor=20000)
    sale(station, CASH, 3000)
    sale(station, "wechat_pay", 29900)
    shifts.cash_movement(station, direction="out", amount_minor=10000, reason="banked")
    return station


async def _on_shift_screen(pilot) -> None:
    await loaded(pilot)
    await pilot.press("s")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, ShiftScreen) and pilot.app.screen.loads)
    await pilot.pause(0.2)


async def _counting(pilot) -> None:
    await _on_shift_screen(pilot)
    await pilot.press("z")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, CloseShiftDialog))
    for keys in ("1", "enter", "1", "enter", "enter", "3", "enter", "enter", "2"):
        await pilot.press(keys)
    await pilot.pause(0.2)


@pytest.mark.parametrize("language", ["zh_CN", "en"])
@pytest.mark.parametrize("run_before", [_on_shift_screen, _counting], ids=["drawer", "counting"])
def test_shift_pictures_at_80x24(tmp_path, snap_compare, language, run_before):
    station = _drawer_station(tmp_path)
    try:
        assert snap_compare(StationApp(station, language=language), terminal_size=(80, 24), run_before=run_before)
    finally:
        station.store.close()
