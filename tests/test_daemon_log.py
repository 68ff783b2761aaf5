"""The daemon's journal stays readable: routine job runs below INFO, refused device events summed up per minute."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED

from drivers.events import BayOccupancy, CardPresented
from drivers.qr_serial import QrSerialScanner
from edge.config import DeviceSettings
from edge.daemon.devices import Device, Router, _store_health, health_rows
from edge.daemon.jobs import SCHEDULE
from edge.daemon.runner import build_scheduler
from edge.services import live_state
from tests.daemon_devices import until, with_daemon_devices
from tests.drivers.conftest import FakeClock, pty_pair  # noqa: F401  (the pty_pair fixture)
from tests.stations import TEST_CONFIG, make_station


def _fail(station) -> None:
    raise RuntimeError("the store is on fire")


def test_routine_job_runs_stay_out_of_the_journal_and_a_failing_job_is_in_it(tmp_path, caplog):
    station = make_station(tmp_path)

    async def scenario() -> None:
        scheduler = build_scheduler(station)
        ran: set[str] = set()
        every_interval_job = {job_id for job_id, _f, trigger, _a in SCHEDULE if trigger == "interval"}
        done = asyncio.Event()

        def seen(event) -> None:
            ran.add(event.job_id)
            if ran >= every_interval_job | {"broken"}:  # each ran once: none is cut off at shutdown
                done.set()

        scheduler.add_listener(seen, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR)
        scheduler.add_job(_fail, "interval", args=[station], id="broken", seconds=60, next_run_time=datetime.now(station.tz))
        scheduler.start()
        try:
            await asyncio.wait_for(done.wait(), 10)
        finally:
            scheduler.shutdown(wait=False)

    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(scenario())
    finally:
        station.store.close()
    routine = [r for r in caplog.records if "Running job" in r.getMessage() or "executed successfully" in r.getMessage()]
    assert routine == []
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any('Job "_fail' in r.getMessage() and "raised an exception" in r.getMessage() for r in errors)
    assert any(r.getMessage().startswith("job failed job=broken") and r.exc_info for r in errors)


def test_refused_device_events_are_counted_by_reason_and_logged_once_a_minute(tmp_path, caplog):
    station = make_station(tmp_path)
    clock = FakeClock()
    router = Router(station, clock=clock)
    sensor = DeviceSettings(id="sensor", driver="sim_occupancy")
    reader = DeviceSettings(id="clock", driver="sim_clock_in")
    at = station.clock()
    try:
        with caplog.at_level(logging.INFO, logger="edge.daemon"):
            for _ in range(2000):
                router.route(sensor, BayOccupancy("X9", "free", 2000.0, "sensor", at))  # no such bay
            for _ in range(300):
                router.route(reader, CardPresented("777", "clock", at))  # nobody's card
            router.flush_log()
            assert len([r for r in caplog.records if r.name == "edge.daemon.devices"]) == 1  # the first, in full
            clock.advance(61)
            router.flush_log()
        devices = [Device(settings, QrSerialScanner(settings.id, url="loop://")) for settings in (sensor, reader)]
        _store_health(station, health_rows(devices, router))
        stored = {h.device_id: h for h in live_state.device_health(station)}
    finally:
        station.store.close()
    messages = [r.getMessage() for r in caplog.records if r.name == "edge.daemon.devices"]
    assert messages[0].startswith("device event refused device=sensor reason=")
    assert messages[1:] == ["device sensor: 1999 more device events refused (reason=booking_refused) in the last 61 s"]
    assert (stored["sensor"].rejected, stored["sensor"].rejects_by_reason) == (2000, {"booking_refused": 2000})
    assert (stored["clock"].rejected, stored["clock"].rejects_by_reason) == (300, {"refused": 300})


def test_a_scanner_reading_thousands_of_non_tokens_is_one_log_line_and_an_exact_count(tmp_path, caplog, pty_pair):
    config = (TEST_CONFIG + '\n[security]\ntoken_key = "TST-001-test-signing-key"\n'
              f'\n[[devices]]\nid = "gate-qr"\ndriver = "qr_serial"\noptions = {{ url = "{pty_pair.device}" }}\n')
    station = make_station(tmp_path, config=config)
    station.clock = lambda: datetime.now(UTC)

    def gate_qr():
        return next(iter(live_state.device_health(station)), None)

    async def scenario() -> None:
        await until(lambda: (h := gate_qr()) is not None and h.connected, "the scanner connected")
        # a scanner that reads the shop's price labels: text, but no booking token
        await asyncio.to_thread(pty_pair.write, b"".join(b"PRICE-%05d\r\n" % i for i in range(3000)))
        await until(lambda: gate_qr().rejected == 3000, "3000 refusals")

    try:
        with caplog.at_level(logging.INFO):
            asyncio.run(with_daemon_devices(station, scenario))
        health = gate_qr()
    finally:
        station.store.close()
    assert health.rejects_by_reason == {"token_malformed": 3000} and health.accepted == 3000
    refusals = [r for r in caplog.records if "token" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(refusals) <= 2, [r.getMessage() for r in refusals]  # the first in full, at most one count since
    assert refusals[0].getMessage().startswith("arrival refused by qr device=gate-qr reason=token_malformed booking=-")
