"""Fixtures of the UI tests: a real station file per test, the busy sample morning, and waiting helpers."""

from __future__ import annotations

import asyncio
import inspect
import io
from collections.abc import Callable

import pytest
from rich.console import Console

from tests.stations import make_station
from tests.tui.sample import sample_station
from tui import i18n


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    """Run `async def` tests on a fresh event loop (Pilot needs one; no asyncio plugin is installed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


@pytest.fixture
def empty_station(tmp_path):
    station = make_station(tmp_path)
    yield station
    station.store.close()


@pytest.fixture
def busy_station(tmp_path, monkeypatch):
    station = sample_station(tmp_path, monkeypatch)
    yield station
    station.store.close()


@pytest.fixture(autouse=True)
def english_afterwards():
    """The UI language is process-wide: leave it as the next test expects it."""
    yield
    i18n.set_language("en")


async def wait_for(pilot, condition: Callable[[], object], *, timeout: float = 5.0, what: str = "") -> None:
    """Let the app run until `condition()` holds (worker threads answer asynchronously)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.02)


async def loaded(pilot, screen=None, *, after: int = 0) -> None:
    """Wait until the (current) screen has finished more than `after` loads."""
    await wait_for(pilot, lambda: (screen or pilot.app.screen).loads > after, what="the screen's data")


def text_of(widget) -> str:
    """What a Static shows, as plain text (a Rich table or Text alike)."""
    console = Console(width=200, record=True, file=io.StringIO())
    console.print(widget.content)
    return console.export_text()


def cells(table) -> list[list[str]]:
    """A DataTable's rows as plain text."""
    return [[str(getattr(cell, "plain", cell)) for cell in table.get_row_at(i)] for i in range(table.row_count)]
