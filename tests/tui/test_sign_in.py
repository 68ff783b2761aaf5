"""Staff sign in at the terminal (name or id and PIN, or a card), it locks when left idle or on ctrl+l,
and the title bar names who is working."""

from __future__ import annotations

import pytest

from edge.domain.permissions import LOCKED
from edge.services import audit
from tests.stations import TEST_CONFIG, make_station
from tests.test_staff import ATTENDANT_PIN, MANAGER_PIN, STAFF
from tests.tui.conftest import text_of, wait_for
from tui.app import StationApp
from tui.screens.board import BoardScreen
from tui.screens.sign_in import SignInScreen
from tui.widgets.common.title_bar import TitleBar
from textual.widgets import Input, Label

LOCK_AFTER = 60


@pytest.fixture
def station(tmp_path):
    config = TEST_CONFIG + STAFF + f"\n[terminal]\nlock_after_seconds = {LOCK_AFTER}\n"
    station = make_station(tmp_path, config=config)
    yield station
    station.store.close()


class FakeClock:
    """The terminal's idle clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def _type(pilot, text: str) -> None:
    for key in text:
        await pilot.press(key)


async def _sign_in(pilot, who: str, pin: str | None) -> None:
    await _type(pilot, who)
    await pilot.press("enter")
    if pin is not None:
        await wait_for(pilot, lambda: pilot.app.screen.focused is pilot.app.screen.query_one("#pin"), what="the PIN")
        await _type(pilot, pin)
        await pilot.press("enter")


def _title(app) -> str:
    return text_of(app.screen.query_one(TitleBar))


def _actions(station) -> list[tuple[str, str]]:
    return [(e.action, e.actor_id) for e in reversed(audit.entries(station))]


async def test_the_terminal_starts_at_sign_in_and_a_pin_signs_in_with_the_name_in_the_title(station):
    app = StationApp(station, sign_in=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await pilot.press("m")  # typed into the name field: no screen opens while nobody is signed in
        assert isinstance(app.screen, SignInScreen)
        app.screen.query_one("#who", Input).value = ""
        await _sign_in(pilot, "赵小燕", ATTENDANT_PIN)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        assert station.actor.id == "S02"
        await wait_for(pilot, lambda: "赵小燕 (attendant)" in _title(app), what="the operator in the title")
    assert _actions(station) == [("staff.sign_in", "S02")]


async def test_a_wrong_pin_is_refused_and_stays_on_the_sign_in_screen(station):
    app = StationApp(station, sign_in=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await _sign_in(pilot, "S01", "9999")
        screen = app.screen
        await wait_for(pilot, lambda: "wrong PIN" in str(screen.query_one("#sign-in-error", Label).render()),
                       what="the refusal")
        assert isinstance(app.screen, SignInScreen) and screen.query_one("#pin", Input).value == ""
        assert station.actor.kind != "staff"
        await _type(pilot, MANAGER_PIN)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        assert "周敏 (manager)" in _title(app)
    assert _actions(station) == [("staff.sign_in_failed", "cli"), ("staff.sign_in", "S01")]


async def test_a_card_read_into_the_name_field_signs_in_at_once(station):
    app = StationApp(station, sign_in=True, language="zh_CN")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await _sign_in(pilot, "CARD-1001", None)  # a keyboard-wedge reader types the card and Enter
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        assert station.actor.id == "S01"
        assert "周敏 (经理)" in _title(app)


async def test_the_terminal_locks_after_the_idle_time_and_another_person_unlocks(station):
    clock = FakeClock()
    app = StationApp(station, sign_in=True, idle_check=0.02, idle_clock=clock)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await _sign_in(pilot, "S01", MANAGER_PIN)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        clock.now += LOCK_AFTER - 1
        await pilot.press("down")  # a key press: the idle time starts again
        clock.now += LOCK_AFTER - 1
        await pilot.pause(0.1)
        assert isinstance(app.screen, BoardScreen)
        clock.now += 2
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the lock")
        await wait_for(pilot, lambda: station.actor == LOCKED, what="nobody acting")
        assert "locked" in str(app.screen.query_one("#sign-in-state", Label).render())
        await _sign_in(pilot, "S02", ATTENDANT_PIN)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board again")
        assert station.actor.id == "S02" and "赵小燕" in _title(app)
    assert _actions(station) == [("staff.sign_in", "S01"), ("terminal.locked", "S01"), ("staff.sign_in", "S02")]


async def test_ctrl_l_locks_at_once(station):
    app = StationApp(station, sign_in=True)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await _sign_in(pilot, "CARD-1001", None)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen), what="the board")
        await pilot.press("ctrl+l")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the lock")
        await wait_for(pilot, lambda: station.actor == LOCKED, what="nobody acting")
        await pilot.press("ctrl+l")  # already locked: nothing more
        assert len(app.screen_stack) == 2
    assert _actions(station)[-1] == ("terminal.locked", "S01")


async def test_an_operator_given_at_start_skips_sign_in(station):
    from edge.services import staff

    member = staff.sign_in(station, "S02", ATTENDANT_PIN)
    app = StationApp(station, sign_in=True, operator=member.actor)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen) and "赵小燕" in _title(app),
                       what="the board with the operator")


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_sign_in_screen_at_80x24(station, snap_compare, language):
    async def shown(pilot) -> None:
        await wait_for(pilot, lambda: isinstance(pilot.app.screen, SignInScreen), what="the sign-in screen")
        await pilot.pause(0.1)

    app = StationApp(station, sign_in=True, language=language, sign_in_hint="PIN: 周敏 2580 · 赵小燕 1357")
    assert snap_compare(app, terminal_size=(80, 24), run_before=shown)


@pytest.mark.parametrize("language", ["en", "zh_CN"])
async def test_the_sign_in_screen_and_the_title_with_the_operator_fit_80x24(station, language):
    from tests.tui.test_no_text_cut import clipped_texts

    app = StationApp(station, sign_in=True, language=language, sign_in_hint="demo PIN: 周敏 2580 · 赵小燕 1357")
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), what="the sign-in screen")
        await pilot.pause(0.1)
        assert clipped_texts(app) == []
        await _sign_in(pilot, "赵小燕", ATTENDANT_PIN)
        await wait_for(pilot, lambda: isinstance(app.screen, BoardScreen) and "赵小燕" in _title(app),
                       what="the board")
        await pilot.pause(0.1)
        assert clipped_texts(app) == []
