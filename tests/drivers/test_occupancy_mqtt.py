"""Local-MQTT bay sensors against a real Mosquitto started for the test on its own port."""

from __future__ import annotations

import asyncio
import logging

import paho.mqtt.client as mqtt
import pytest

from drivers.errors import DriverError
from drivers.events import BayOccupancy
from drivers.occupancy_mqtt import MqttOccupancy
from tests.drivers.conftest import Broker, Collector


class Sensors:
    """The sensors' side: a plain paho publisher (what an ESPHome or zigbee2mqtt node would send)."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sensors")
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, topic: str, payload: str | bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def states(events, bay: str) -> list[str]:
    return [e.state for e in events if isinstance(e, BayOccupancy) and e.bay == bay]


def make_source(broker: Broker, **options) -> MqttOccupancy:
    settings = {"delay_on": 0.0, "delay_off": 0.0, "silence_timeout": 1.0, "reconnect_max": 0.5, **options}
    return MqttOccupancy(
        "local-mqtt", port=broker.port,
        bays=[{"bay": "L1", "topic": "esphome/bay-l1/distance"},
              {"bay": "W1", "topic": "zigbee2mqtt/bay-W1", "field": "occupancy", "kind": "presence"}],
        **settings)


def test_readings_become_bay_states_and_bad_payloads_are_counted(broker: Broker):
    async def scenario():
        source = make_source(broker)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.sleep(0.1)  # the subscription is acknowledged just after CONNACK
        sensors = Sensors(broker.port)
        try:
            sensors.send("esphome/bay-l1/distance", "2500")
            sensors.send("zigbee2mqtt/bay-W1", '{"occupancy": true, "battery": 91}')
            await events.until(lambda: (states(events.events, "L1"), states(events.events, "W1"))
                               == (["free"], ["occupied"]))
            sensors.send("esphome/bay-l1/distance", "not a number")
            sensors.send("zigbee2mqtt/bay-W1", '{"battery": 90}')
            sensors.send("esphome/bay-l1/distance", "850.5")
            await events.until(lambda: states(events.events, "L1") == ["free", "occupied"])
            # both sensors now go quiet: after silence_timeout both bays are unknown
            await events.until(lambda: states(events.events, "W1")[-1:] == ["unknown"]
                               and states(events.events, "L1")[-1:] == ["unknown"], timeout=3)
        finally:
            sensors.close()
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert states(got, "L1") == ["free", "occupied", "unknown"]
    assert states(got, "W1") == ["occupied", "unknown"]
    assert next(e.raw for e in got if isinstance(e, BayOccupancy) and e.bay == "L1" and e.state == "occupied") == 850.5
    assert health.rejects_by_reason == {"bad_payload": 2}
    assert health.accepted == 3


def test_broker_restart_is_survived(broker: Broker, caplog):
    async def scenario():
        source = make_source(broker, silence_timeout=30.0)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        broker.stop()
        await events.until(lambda: not source.health().connected, timeout=3)
        await asyncio.sleep(1.0)  # several refused reconnects
        broker.start()
        recovered_in = await events.until(lambda: source.health().connected, timeout=3)
        await asyncio.sleep(0.1)
        sensors = Sensors(broker.port)
        try:
            sensors.send("esphome/bay-l1/distance", "700")  # the subscription was renewed on reconnect
            await events.until(lambda: states(events.events, "L1") == ["occupied"])
        finally:
            sensors.close()
        await events.finish()
        return source.health(), recovered_in

    with caplog.at_level(logging.INFO, logger="drivers"):
        health, recovered_in = asyncio.run(scenario())
    assert recovered_in < 2.0 and health.reconnects == 1
    messages = [r.getMessage() for r in caplog.records]
    assert sum("device unavailable" in m for m in messages) == 1
    assert sum("device available again" in m for m in messages) == 1


def test_topics_are_checked():
    with pytest.raises(DriverError, match="no wildcards"):
        MqttOccupancy("m", bays=[{"bay": "L1", "topic": "sensors/+/distance"}])
    with pytest.raises(DriverError, match="already used"):
        MqttOccupancy("m", bays=[{"bay": "L1", "topic": "a"}, {"bay": "L2", "topic": "a"}])
    with pytest.raises(DriverError, match="unknown key"):
        MqttOccupancy("m", bays=[{"bay": "L1", "topic": "a", "feild": "x"}])
