"""A scanner that drops and comes back: the daemon records it, and the board asks for a rescan for a few minutes."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from edge.services import live_state
from edge.services.live_state import DeviceHealth
from tests.daemon_devices import until, with_daemon_devices
from tests.drivers.conftest import PtyPair, pty_pair  # noqa: F401  (the pty_pair fixture)
from tests.stations import TEST_CONFIG, make_station
from tui.board_data import RECONNECTED_NOTICE, load_board


def scanner(url: str) -> str:
    return f'\n[[devices]]\nid = "gate-qr"\ndriver = "qr_serial"\noptions = {{ url = "{url}" }}\n'


def reconnections(station) -> list[tuple[str, str]]:
    return [(a.kind, a.subject) for a in load_board(station).alerts if a.kind == "reconnected"]


def scanner_station(tmp_path, url: str):
    station = make_station(tmp_path, config=TEST_CONFIG + scanner(url))
    station.clock = lambda: datetime.now(UTC)
    return station


def gate_qr(station) -> DeviceHealth | None:
    return next(iter(live_state.device_health(station)), None)


async def connected(station) -> None:
    await until(lambda: (h := gate_qr(station)) is not None and h.connected, "the scanner connected")


def test_a_scanner_that_drops_and_reopens_puts_a_rescan_alert_on_the_board(tmp_path, pty_pair: PtyPair):
    station = scanner_station(tmp_path, pty_pair.device)

    async def scenario() -> list:
        await connected(station)
        seen = [await asyncio.to_thread(reconnections, station)]  # the station's first start: nothing missed
        pty_pair.unplug()
        await until(lambda: not gate_qr(station).connected, "the loss written")
        pty_pair.plug()
        await until(lambda: gate_qr(station).connected and gate_qr(station).reconnected_at is not None,
                    "the return written")
        seen.append(await asyncio.to_thread(reconnections, station))
        return seen

    try:
        before, after = asyncio.run(with_daemon_devices(station, scenario))
    finally:
        station.store.close()
    assert before == [] and after == [("reconnected", "gate-qr")]


def test_a_daemon_restart_is_a_reconnection_of_the_scanners_it_read_before(tmp_path, pty_pair: PtyPair):
    station = scanner_station(tmp_path, pty_pair.device)

    async def alerts_once_connected() -> list:
        await connected(station)
        return await asyncio.to_thread(reconnections, station)

    try:
        assert asyncio.run(with_daemon_devices(station, alerts_once_connected)) == []
        assert not gate_qr(station).connected  # the daemon's last word when it stopped
        assert asyncio.run(with_daemon_devices(station, alerts_once_connected)) == [("reconnected", "gate-qr")]
    finally:
        station.store.close()


def test_the_alert_is_for_customer_scanners_and_lasts_a_few_minutes(station):
    now = station.clock()
    qr = DeviceHealth("gate-qr", "qr_serial", "entrance", True, None, None, 3, 0, reconnected_at=now)
    sensor = DeviceHealth("bay-sensors", "occupancy_modbus", "bay", True, None, None, 9, 0, reconnected_at=now)
    live_state.record_device_health(station, [qr, sensor], now=now)
    assert reconnections(station) == [("reconnected", "gate-qr")]  # a sensor reads no customer: nothing to ask
    later = now + RECONNECTED_NOTICE + timedelta(seconds=1)
    live_state.record_device_health(station, [replace(qr, reconnected_at=None), sensor], now=later)
    station.clock = lambda: later
    assert reconnections(station) == []
    (stored, _) = sorted(live_state.device_health(station), key=lambda h: h.device_id != "gate-qr")
    assert stored.reconnected_at == now  # kept: the daemon's later snapshots do not erase it
