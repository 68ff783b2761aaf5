"""The simulated twins the demo runs on: one pass through a list, unplug and replug, stuck and silent sensors."""

from __future__ import annotations

import asyncio

import pytest

from drivers import registry
from drivers.errors import DriverError
from drivers.events import BayOccupancy, DeviceAlarm
from drivers.simulators import SimulatedOccupancy
from tests.drivers.conftest import Collector


def test_a_list_gone_through_once_stops_there():
    async def scenario():
        scanner = registry.create_source("gate", "sim_qr", {"codes": ["A", "B"], "interval": 0.02, "repeat": False})
        await scanner.open()
        scans = Collector(scanner)
        await scans.count(2)
        await asyncio.sleep(0.3)  # fifteen more steps: nothing more to scan
        return await scans.finish()

    assert [e.code for e in asyncio.run(scenario())] == ["A", "B"]


def test_an_unplugged_twin_is_down_for_a_while_then_back():
    async def scenario():
        anpr = registry.create_source("cam", "sim_anpr", {"plates": ["沪A12345"], "interval": 0.02, "misread_rate": 0.0,
                                                          "outage_every": 0.2, "outage_seconds": 0.5})
        await anpr.open()
        reads = Collector(anpr)
        await reads.until(lambda: not anpr.health().connected and anpr.health().last_error, 5, "the unplug")
        down_at = len(reads.events)
        await asyncio.sleep(0.2)
        assert not anpr.health().connected and len(reads.events) == down_at  # still out: no reads
        await reads.until(lambda: anpr.health().connected and len(reads.events) > down_at, 5, "the replug")
        assert "simulated unplug" in anpr.health().last_error
        return await reads.finish()

    assert all(e.plate == "沪A12345" for e in asyncio.run(scenario()))


def test_a_stuck_bay_raises_the_alarm_and_a_silent_one_turns_unknown():
    async def scenario():
        source = SimulatedOccupancy("bays", bays=["L1", "L2", "W1"], interval=0.02, dwell_min=5, dwell_max=9,
                                    delay_on=0.02, delay_off=0.02, stuck_bays=["L1"], stuck_after=0.3,
                                    silent_bays=["L2"], silent_after=0.2, silence_timeout=0.3, seed=2)
        await source.open()
        events = Collector(source)
        await events.until(lambda: any(isinstance(e, DeviceAlarm) and e.bay == "L1" for e in events.events), 5,
                           "the stuck alarm")
        await events.until(lambda: any(isinstance(e, BayOccupancy) and e.bay == "L2" and e.state == "unknown"
                                       for e in events.events), 5, "the silent bay")
        return await events.finish()

    events = asyncio.run(scenario())
    [alarm] = [e for e in events if isinstance(e, DeviceAlarm)]
    assert alarm.alarm == "stuck" and alarm.active
    assert [e.state for e in events if isinstance(e, BayOccupancy) and e.bay == "L1"] == ["occupied"]


def test_stuck_or_silent_bays_must_be_the_twins_own():
    with pytest.raises(DriverError, match="L9"):
        registry.create_source("bays", "sim_occupancy", {"bays": ["L1"], "stuck_bays": ["L9"]})
    with pytest.raises(DriverError, match="outage"):
        registry.create_source("gate", "sim_qr", {"outage_every": -1})
