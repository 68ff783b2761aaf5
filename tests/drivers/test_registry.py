"""The driver registry, the simulators, and the drivers package's import hygiene."""

from __future__ import annotations

import ast
import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from drivers import registry
from drivers.base import Backoff, Source
from drivers.errors import DriverError
from drivers.events import BayOccupancy, CardPresented, CodeScanned, PlateRead
from drivers.simulators import SimulatedAnpr, SimulatedOccupancy
from tests.drivers.conftest import Collector

ROOT = Path(__file__).resolve().parents[2]
HARDWARE_LIBRARIES = ("serial", "cv2", "zxingcpp", "pyzbar", "pymodbus", "paho", "numpy")


def test_drivers_import_nothing_from_edge_sync_or_tui():
    for path in sorted((ROOT / "drivers").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else []
            for name in names:
                assert name.split(".")[0] not in {"edge", "sync", "tui"}, f"{path.name} imports {name}"


def test_hardware_libraries_load_only_when_a_driver_opens():
    code = ("import sys, drivers.registry as r\n"
            "for d in r.DRIVERS: r.driver_class(d)\n"
            f"print([m for m in {HARDWARE_LIBRARIES!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_every_module_says_what_it_owns_and_stays_small():
    for path in sorted((ROOT / "drivers").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert ast.get_docstring(ast.parse(text)), f"{path.name} has no module docstring"
        assert len(text.splitlines()) < 400, f"{path.name} is too long"


def test_every_driver_is_a_source_with_a_name():
    for driver in registry.DRIVERS:
        cls = registry.driver_class(driver)
        assert issubclass(cls, Source) and cls.driver == driver


def test_create_source_checks_options_by_name_and_type():
    source = registry.create_source("front-scanner", "qr_serial", {"url": "/dev/ttyACM0", "baudrate": 115200})
    assert source.name == "front-scanner" and source.baudrate == 115200
    with pytest.raises(DriverError, match=r"unknown driver 'qr_serail' \(known: anpr, clock_in"):
        registry.create_source("x", "qr_serail", {})
    with pytest.raises(DriverError, match=r"device 'x' \(driver qr_serial\): unknown option\(s\) baud "):
        registry.create_source("x", "qr_serial", {"url": "loop://", "baud": 9600})
    with pytest.raises(DriverError, match=r"missing option\(s\) url"):
        registry.create_source("x", "qr_serial", {})
    with pytest.raises(DriverError, match="option baudrate must be int, not '9600'"):
        registry.create_source("x", "qr_serial", {"url": "loop://", "baudrate": "9600"})
    with pytest.raises(DriverError, match="option bays must be"):
        registry.create_source("x", "occupancy_modbus", {"port": "/dev/ttyUSB0", "bays": ["L1"]})
    camera = registry.create_source("cam", "qr_camera", {"source": "0", "dedupe_seconds": 3})
    assert camera.source == 0 and camera.dedupe_seconds == 3  # an int is a fine float; "0" is camera 0
    sensors = registry.create_source("bus", "occupancy_modbus",
                                     {"port": "/dev/ttyUSB0", "bays": [{"bay": "L1", "device_id": 3}]})
    assert sensors.points == {"L1": (3, 0, "holding", 1.0)}


def test_backoff_grows_to_its_cap_and_resets():
    backoff = Backoff(0.1, 1.0)
    delays = [backoff.next() for _ in range(8)]
    assert 0.09 <= delays[0] <= 0.11 and all(d <= 1.1 for d in delays) and delays[-1] >= 0.9
    backoff.reset()
    assert backoff.next() <= 0.11


def test_simulators_emit_on_a_timer_and_on_demand():
    async def scenario():
        scanner = registry.create_source("sim-scanner", "sim_qr", {"codes": ["BK-1", "BK-2"], "interval": 0.05,
                                                                    "seed": 1})
        cards = registry.create_source("sim-door", "sim_clock_in", {"cards": []})
        anpr = registry.create_source("sim-cam", "sim_anpr", {"plates": ["沪A12345"], "interval": 0.05,
                                                              "misread_rate": 1.0, "seed": 3})
        for source in (scanner, cards, anpr):
            await source.open()
        scans, presented, plates = Collector(scanner), Collector(cards), Collector(anpr)
        await scans.count(3)
        cards.inject("0005551234")
        await presented.count(1)
        await plates.count(2)
        return [await c.finish() for c in (scans, presented, plates)]

    scans, presented, plates = asyncio.run(scenario())
    assert [e.code for e in scans[:3]] == ["BK-1", "BK-2", "BK-1"] and isinstance(scans[0], CodeScanned)
    assert presented == [CardPresented("0005551234", "sim-door", presented[0].at)]
    assert all(isinstance(p, PlateRead) and p.plate != "沪A12345" and p.confidence <= 0.8 for p in plates)


def test_simulated_occupancy_goes_through_the_real_filter():
    async def scenario():
        source = SimulatedOccupancy("sim-bays", bays=["L1", "L2"], interval=0.02, dwell_min=0.2, dwell_max=0.4,
                                    delay_on=0.05, delay_off=0.05, seed=5)
        await source.open()
        events = Collector(source)
        await events.until(lambda: {e.state for e in events.events if e.bay == "L1"} >= {"occupied", "free"}, 5)
        source.inject("L2", True)
        with pytest.raises(DriverError, match="no bay 'L9'"):
            source.inject("L9", True)
        return await events.finish()

    events = asyncio.run(scenario())
    assert all(isinstance(e, BayOccupancy) and e.state in ("occupied", "free") for e in events)
    l1 = [e.state for e in events if e.bay == "L1"]
    assert all(a != b for a, b in zip(l1, l1[1:]))  # changes only


def test_sim_anpr_misreads_like_ocr():
    sim = SimulatedAnpr("sim", plates=["沪A12345"], misread_rate=1.0, seed=0)
    misread = sim._misread("沪A12345")
    assert misread != "沪A12345" and len(misread) == 7 and misread[0] == "沪"


def test_events_before_open_is_a_driver_error():
    source = registry.create_source("x", "sim_qr", {})

    async def scenario():
        async for _ in source.events():
            break  # never reached: asking for events before open() must raise

    with pytest.raises(DriverError, match="open"):
        asyncio.run(scenario())
