"""`station-edge tui`: opens the app on the data directory's station, in the chosen language, logging to a file."""

from __future__ import annotations

import logging

import pytest

from edge.cli.main import EXIT_STORE, main
from tui import i18n
from tui.app import StationApp


@pytest.fixture
def launched(monkeypatch):
    """Record the app the command would run instead of taking over the terminal."""
    apps = []
    monkeypatch.setattr(StationApp, "run", lambda self: apps.append((self, i18n.language())))
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield apps
    for handler in list(root.handlers):
        root.removeHandler(handler)
        if handler not in handlers:
            handler.close()
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def test_tui_opens_the_station_in_the_language_asked_for(empty_station, launched):
    data_dir = empty_station.store.path.parent
    assert main(["--data-dir", str(data_dir), "tui", "--lang", "zh_CN"]) == 0
    [(app, language)] = launched
    assert app.station.settings.station.id == "TST-001" and language == "zh_CN"
    assert any(getattr(h, "baseFilename", "").endswith("tui.log") for h in logging.getLogger().handlers)


def test_tui_follows_the_station_locale(empty_station, launched, monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    data_dir = empty_station.store.path.parent
    assert main(["--data-dir", str(data_dir), "tui"]) == 0
    assert launched[0][1] == "en"  # the test config says locale = "en"; it outranks $LANG


def test_tui_without_a_station_says_so(tmp_path, launched):
    assert main(["--data-dir", str(tmp_path), "tui"]) == EXIT_STORE
    assert launched == []
