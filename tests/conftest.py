"""Shared fixtures: a real station database on disk for each test that asks for one."""

from __future__ import annotations

import pytest

from tests.stations import make_station


@pytest.fixture
def station(tmp_path):
    station = make_station(tmp_path)
    yield station
    station.store.close()
