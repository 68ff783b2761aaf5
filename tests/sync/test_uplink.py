"""The uplink's own window: never more unacknowledged messages than configured, payments
first, resent after the ack timeout; presence as HQ sees it."""

from __future__ import annotations

import json

from sync.hq.db import transaction
from sync.hq.lag import station_lag
from tests.sync.conftest import (STATION_ID, backlog, make_events, start_hq, start_station_sync, sync_settings,
                                 wait_until)
from tests.sync.test_downlink import Listener


def test_without_acks_the_station_sends_one_window_in_priority_order_then_resends_it(station, broker, keys,
                                                                                   runners):
    make_events(station, 2000, types=("booking.completed", "payment.received"))
    listener = Listener(broker, f"st/{STATION_ID}/up/#")
    hq = Listener(broker, f"st/{STATION_ID}/up/hello", name="fake-hq")  # answers the hello, never acks
    try:
        sync = start_station_sync(runners, station, sync_settings(broker, keys, window_messages=3,
                                                                  batch_max_events=50, ack_timeout_s=3))
        wait_until(lambda: hq.messages, what="hello")
        hello = json.loads(hq.messages[0][1])
        welcome = keys.hq.sign({"v": 1, "msg_id": "w1", "kind": "welcome", "station": STATION_ID,
                                "epoch": hello["epoch"], "uplink": {}})
        hq.publish(f"hq/{STATION_ID}/down/ack", json.dumps(welcome).encode())

        def batches():
            return [json.loads(p) for t, p in listener.messages if p and json.loads(p).get("kind") == "events"]

        wait_until(lambda: len(batches()) >= 3, what="a window of batches")
        first = batches()
        assert len(first) == 3  # and no more while nothing is acked
        assert [b["stream"] for b in first] == ["payment"] * 3 and first[0]["first"] == 1
        assert [b["first"] for b in first[1:]] == [b["last"] + 1 for b in first[:2]]  # contiguous
        wait_until(lambda: len(batches()) >= 6, what="the window resent after the ack timeout")
        assert [(b["stream"], b["first"], b["last"]) for b in batches()[3:6]] == [
            (b["stream"], b["first"], b["last"]) for b in first]
        assert backlog(station) == 2000 and sync.link.connected
    finally:
        listener.close()
        hq.close()


def test_hq_sees_the_station_come_and_go(station, broker, keys, sqlite_hq, runners):
    start_hq(runners, sqlite_hq, keys, broker)
    make_events(station, 10)
    start_station_sync(runners, station, sync_settings(broker, keys))

    def presence():
        with transaction(sqlite_hq) as session:
            return {lag.station_id: (lag.presence, lag.uplink_backlog) for lag in station_lag(session)}

    wait_until(lambda: presence().get(STATION_ID) == ("online", 0), what="online, nothing waiting")
    runners.pop().stop()
    wait_until(lambda: presence().get(STATION_ID, ("?",))[0] == "offline", what="offline after a clean stop")


def test_hq_cut_off_from_the_broker_does_not_call_a_station_online(station, broker, keys, sqlite_hq, runners):
    hq = start_hq(runners, sqlite_hq, keys, broker)
    start_station_sync(runners, station, sync_settings(broker, keys))

    def presence():
        with transaction(sqlite_hq) as session:
            return {lag.station_id: lag.presence for lag in station_lag(session)}.get(STATION_ID)

    wait_until(lambda: presence() == "online", what="online")
    broker.stop()  # HQ's own link is gone: what it last heard of the station is no news
    wait_until(lambda: not hq.link.connected, what="HQ cut off")
    hq._beat(hq.link.connected)
    assert presence() == "unknown (HQ offline)"


def test_an_event_too_large_for_one_message_is_refused_when_written(station):
    import pytest

    from edge.errors import StoreError
    from edge.services.station import utc_now
    from edge.store.outbox import EVENT_MAX_BYTES, append_event

    with pytest.raises(StoreError, match="over the"), station.store.write() as conn:
        append_event(conn, event_type="booking.completed", entity_id="b1", idem_key="big",
                     body={"notes": "x" * EVENT_MAX_BYTES}, now=utc_now())
    assert backlog(station) == 0
