"""Modbus RTU bay sensors: a pymodbus simulated RTU slave on one end of a socat pty, the driver on the other."""

from __future__ import annotations

import asyncio
import logging
import os
import threading

import pytest

from drivers.errors import DriverError
from drivers.events import BayOccupancy
from drivers.occupancy_modbus import ModbusOccupancy
from tests.drivers.conftest import SOCAT, Collector, PtyPair

pytest.importorskip("pymodbus")


class ModbusSlaves:
    """Distance sensors on an RS-485 line, served by pymodbus; `readings[id]` is the register, "fail" an exception."""

    def __init__(self, port: str, readings: dict[int, int | str]) -> None:
        self.port, self.readings = port, readings
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        from pymodbus.framer import FramerType
        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        def device(device_id: int) -> SimDevice:
            async def action(function_code, start_address, address, count, registers, set_values):
                from pymodbus.constants import ExcCodes

                value = self.readings.get(device_id, "fail")
                if value == "fail":
                    return ExcCodes.DEVICE_FAILURE
                registers[0] = value
                return None

            return SimDevice(id=device_id, simdata=[SimData(address=0, count=4, values=0,
                                                            datatype=DataType.REGISTERS)], action=action)

        devices = [device(i) for i in sorted(self.readings)]
        ready = threading.Event()

        def serve() -> None:
            async def main() -> None:
                self._loop = asyncio.get_running_loop()
                self._server = ModbusSerialServer(devices, port=self.port, framer=FramerType.RTU, baudrate=9600)
                ready.set()
                await self._server.serve_forever()

            asyncio.run(main())

        self._thread = threading.Thread(target=serve, daemon=True)
        self._thread.start()
        assert ready.wait(5)

    def stop(self) -> None:
        if self._server is not None and self._loop is not None:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5)
            self._thread.join(5)
            self._server = None


@pytest.fixture
def bus(tmp_path):
    if not os.path.exists(SOCAT):
        pytest.skip("socat is not installed")
    pair = PtyPair(tmp_path)
    pair.plug(open_host=False)  # the slave server opens the host end itself
    slaves = ModbusSlaves(pair.host, {1: 2500, 2: 800})
    slaves.start()
    yield pair, slaves
    slaves.stop()
    pair.unplug()


def states(events, bay: str) -> list[str]:
    return [e.state for e in events if isinstance(e, BayOccupancy) and e.bay == bay]


def test_polled_sensors_settle_fail_fall_silent_and_survive_an_unplug(bus, caplog):
    pair, slaves = bus

    async def scenario():
        source = ModbusOccupancy(
            "rs485-bays", port=pair.device, timeout=0.2, poll_interval=0.1, delay_on=0.0, delay_off=0.0,
            silence_timeout=1.0, bays=[{"bay": "L1", "device_id": 1, "register": 0},
                                       {"bay": "L2", "device_id": 2, "register": 0, "occupied_below": 1000}])
        await source.open()
        events = Collector(source)
        await events.until(lambda: (states(events.events, "L1"), states(events.events, "L2"))
                           == (["free"], ["occupied"]))
        slaves.readings[1] = 900  # a car drives into L1
        await events.until(lambda: states(events.events, "L1") == ["free", "occupied"])
        slaves.readings[2] = "fail"  # L2's sensor answers with exceptions: no readings, then unknown
        await events.until(lambda: states(events.events, "L2") == ["occupied", "unknown"], timeout=3)
        assert source.health().rejects_by_reason.get("exception_reply", 0) >= 3
        slaves.readings[2] = 2400
        await events.until(lambda: states(events.events, "L2")[-1] == "free")

        slaves.stop()
        pair.unplug()  # the USB RS-485 adapter is pulled
        await events.until(lambda: not source.health().connected, timeout=2)
        await events.until(lambda: states(events.events, "L1")[-1] == "unknown", timeout=3)  # ticks while down
        pair.plug(open_host=False)
        slaves.start()
        recovered_in = await events.until(lambda: source.health().connected, timeout=2)
        await events.until(lambda: states(events.events, "L1")[-1] == "occupied", timeout=3)
        await events.finish()
        return events.events, source.health(), recovered_in

    with caplog.at_level(logging.INFO, logger="drivers"):
        got, health, recovered_in = asyncio.run(scenario())
    assert states(got, "L1") == ["free", "occupied", "unknown", "occupied"]
    assert states(got, "L2")[:3] == ["occupied", "unknown", "free"]
    assert recovered_in < 2.0 and health.reconnects == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("device unavailable" in m for m in messages) == 1
    assert sum("device available again" in m for m in messages) == 1
    assert sum("sensor not answering" in m and "bay=L2" in m for m in messages) == 1
    assert sum("sensor answering again" in m and "bay=L2" in m for m in messages) == 1


def test_options_are_checked():
    with pytest.raises(DriverError, match="bays is empty"):
        ModbusOccupancy("m", port="/dev/ttyUSB0", bays=[])
    with pytest.raises(DriverError, match="device_id"):
        ModbusOccupancy("m", port="/dev/ttyUSB0", bays=[{"bay": "L1", "device_id": 300}])
    with pytest.raises(DriverError, match="listed twice"):
        ModbusOccupancy("m", port="/dev/ttyUSB0", bays=[{"bay": "L1"}, {"bay": "L1"}])
    with pytest.raises(DriverError, match="register_type"):
        ModbusOccupancy("m", port="/dev/ttyUSB0", bays=[{"bay": "L1", "register_type": "float"}])
