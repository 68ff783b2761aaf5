"""A manager's PIN authorises one privileged action at an attendant's terminal."""

from __future__ import annotations

import pytest

from edge.domain.permissions import Permission
from edge.services import staff
from tests.stations import TEST_CONFIG, make_station
from tests.test_staff import ATTENDANT_PIN, MANAGER_PIN, STAFF
from textual.app import App
from textual.widgets import Input, Label
from tui.screens.manager_pin import ManagerPinDialog


class _Host(App):
    def __init__(self, station) -> None:
        super().__init__()
        self.station = station
        self.answers: list = []

    def on_mount(self) -> None:
        self.push_screen(ManagerPinDialog(Permission.REFUND), self.answers.append)


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path, config=TEST_CONFIG + STAFF)
    station.actor = staff.sign_in(station, "S02", ATTENDANT_PIN).actor
    yield station
    station.store.close()


async def _type(pilot, text: str) -> None:
    for key in text:
        await pilot.press(key)


async def test_a_wrong_pin_is_refused_in_the_dialog_and_the_managers_pin_answers(station) -> None:
    app = _Host(station)
    async with app.run_test() as pilot:
        await _type(pilot, "周敏")
        await pilot.press("enter")
        await _type(pilot, "9999")
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.answers == []
        assert "wrong PIN" in str(app.screen.query_one("#pin-error", Label).render())
        assert app.screen.query_one("#pin", Input).value == ""
        await _type(pilot, MANAGER_PIN)
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [actor.id for actor in app.answers] == ["S01"]


async def test_escape_authorises_nothing(station) -> None:
    app = _Host(station)
    async with app.run_test() as pilot:
        await pilot.press("escape")
        assert app.answers == [None]
