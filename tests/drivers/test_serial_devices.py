"""Serial drivers through real socat pseudo-terminals: good frames, garbage, splits, checksums, floods, unplug."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from drivers.anpr import AnprReader
from drivers.clock_in import ClockInReader
from drivers.events import CardPresented, CodeScanned, PlateRead
from drivers.qr_serial import QrSerialScanner
from drivers.serial_lines import SerialLineSource
from tests.drivers.conftest import Collector, PtyPair


def em4100(card_number: int, version: int = 0x1A, *, corrupt: bool = False) -> bytes:
    data = bytes([version]) + card_number.to_bytes(4, "big")
    checksum = 0
    for byte in data:
        checksum ^= byte
    if corrupt:
        checksum ^= 0x01
    return b"\x02" + data.hex().upper().encode() + f"{checksum:02X}".encode() + b"\x03"


@dataclass
class Device:
    """How one driver kind is exercised: its frames, and what each should become."""

    make: Callable[[str], SerialLineSource]
    good: list[tuple[bytes, str]]  # frame, the value of the event it gives
    bad: list[tuple[bytes, str]]  # frame, the reject reason it is counted under
    split: tuple[bytes, bytes, str]  # one frame in two writes, the value expected
    flood: Callable[[int], bytes]  # the i-th flood frame
    value: Callable[[object], str]


DEVICES = {
    "qr_serial": Device(
        make=lambda url: QrSerialScanner("bay-scanner", url=url, prefix="", suffix=""),
        good=[(b"SE1.eyJib29raW5nIjoxfQ.c2ln\r\n", "SE1.eyJib29raW5nIjoxfQ.c2ln"),
              (b"BK-20261123-07\r", "BK-20261123-07"),
              ("订单-甲".encode() + b"\r\n", "订单-甲")],
        bad=[(b"\xff\xfe\x80garbage\r\n", "not_text"), (b"bad\x07bell\r\n", "not_text"), (b" \r\n", "empty")],
        split=(b"SE1.first-ha", b"lf.second-half\r\n", "SE1.first-half.second-half"),
        flood=lambda i: f"BK-{i:06d}\r\n".encode(),
        value=lambda event: event.code,
    ),
    "anpr": Device(
        make=lambda url: AnprReader("lane-cam", url=url, lane="1"),
        good=[("沪A12345,0.93,2\r\n".encode(), "沪A12345|0.93|2"),
              ('{"plate": "粤B·D12345", "confidence": 88, "lane": 3}\n'.encode(), "粤B·D12345|0.88|3"),
              (b"AB123CD,0.7\r\n", "AB123CD|0.7|1")],
        bad=[(b"\x00\x01\x02\r\n", "not_text"), (b"just-a-plate\r\n", "malformed"),
             ("沪A12345,high,2\r\n".encode(), "bad_confidence"), ("无牌车,0.99,1\r\n".encode(), "no_plate"),
             (b'{"plate": 7}\n', "malformed")],
        split=("京A·".encode(), "88888,0.97,1\r\n".encode(), "京A·88888|0.97|1"),
        flood=lambda i: f"沪A{i % 100000:05d},0.9,1\r\n".encode(),
        value=lambda event: f"{event.plate}|{event.confidence:g}|{event.lane}",
    ),
    "clock_in": Device(
        make=lambda url: ClockInReader("door-reader", url=url, release_after=0.3),
        good=[(em4100(5551234), "0005551234"), (b"0012345678\r\n", "0012345678"), (em4100(42, 0x03), "0000000042")],
        bad=[(em4100(777, corrupt=True), "bad_checksum"), (b"\x02XYZ\x03", "malformed"),
             (b"card 12\r\n", "not_a_card_number"), (b"\x02" + b"1" * 80 + b"\x03", "too_long")],
        split=(em4100(8675309)[:6], em4100(8675309)[6:], "0008675309"),
        flood=lambda i: em4100(100000 + i),
        value=lambda event: event.card_id,
    ),
}


@pytest.fixture(params=sorted(DEVICES))
def device(request) -> Device:
    return DEVICES[request.param]


def test_good_garbage_split_and_bad_frames(pty_pair: PtyPair, device: Device):
    async def scenario():
        source = device.make(pty_pair.device)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected, what="connected")
        expected = []
        for frame, value in device.good:
            await asyncio.to_thread(pty_pair.write, frame)
            expected.append(value)
            await events.count(len(expected))  # one at a time: the card reader merges quick repeats
            await asyncio.sleep(0.35 if isinstance(source, ClockInReader) else 0)
        for frame, _ in device.bad:
            await asyncio.to_thread(pty_pair.write, frame)
        reasons = [reason for _, reason in device.bad]
        await events.until(lambda: source.health().rejected >= len(reasons), what="rejections")
        head, tail, value = device.split
        await asyncio.to_thread(pty_pair.write, head)
        await asyncio.sleep(0.05)  # the second half arrives in a later read
        await asyncio.to_thread(pty_pair.write, tail)
        expected.append(value)
        await events.count(len(expected))
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert [device.value(e) for e in got] == [v for _, v in device.good] + [device.split[2]]
    assert all(e.device == got[0].device and e.at.tzinfo is not None for e in got)
    wanted: dict[str, int] = {}
    for _, reason in device.bad:
        wanted[reason] = wanted.get(reason, 0) + 1
    assert dict(health.rejects_by_reason) == wanted
    assert health.accepted == len(got) and health.connected is False  # closed


def test_flood_of_ten_thousand_frames_with_every_tenth_corrupt(pty_pair: PtyPair, device: Device):
    frames, corrupt = 10_000, 1_000
    payload = bytearray()
    for i in range(frames):
        frame = device.flood(i)
        if i % 10 == 9:  # damage one byte in the middle: an invalid frame, never a crash
            middle = len(frame) // 2
            frame = frame[:middle] + b"\xff" + frame[middle + 1:]
        payload += frame

    async def scenario():
        source = device.make(pty_pair.device)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        started = time.monotonic()
        await asyncio.to_thread(pty_pair.write, bytes(payload))
        await events.until(lambda: source.health().accepted + source.health().rejected >= frames, timeout=30)
        took = time.monotonic() - started
        await events.finish()
        return events.events, source.health(), took

    got, health, took = asyncio.run(scenario())
    assert health.rejected == corrupt, health.rejects_by_reason
    assert len(got) == health.accepted == frames - corrupt
    assert took < 30


def test_a_flood_of_garbage_is_counted_and_logged_sparingly(pty_pair: PtyPair, caplog):
    async def scenario():
        source = QrSerialScanner("scanner", url=pty_pair.device)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, b"\x01\x02\xff\r\n" * 5000 + b"OK-1\r\n")
        await events.count(1)
        await events.finish()
        return events.events, source.health()

    with caplog.at_level(logging.WARNING, logger="drivers"):
        got, health = asyncio.run(scenario())
    assert [e.code for e in got] == ["OK-1"]
    assert health.rejects_by_reason == {"not_text": 5000}
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("drivers")]
    assert len(messages) == 2, messages  # the first in full; the rest summed up when the scanner closed
    assert messages[0].startswith("frame rejected device=scanner reason=not_text")
    assert messages[1].startswith("device scanner: 4999 more frames rejected (reason=not_text) in the last")


def test_garbage_is_summed_up_once_a_minute_per_reason_while_it_lasts(pty_pair: PtyPair, caplog, fake_clock):
    def summaries() -> list[str]:
        return [r.getMessage() for r in caplog.records if "more frames rejected" in r.getMessage()]

    async def scenario():
        source = QrSerialScanner("qr-1", url=pty_pair.device, clock=fake_clock)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, b"\x01\xff\r\n \r\n" * 1500)
        await events.until(lambda: source.health().rejected == 3000, what="3000 rejections")
        fake_clock.advance(61)  # a minute on: the idle reader writes what is due without another frame
        await events.until(lambda: len(summaries()) == 2, what="the two summaries")
        await asyncio.to_thread(pty_pair.write, b"\x01\xff\r\n" * 700)
        await events.until(lambda: source.health().rejected == 3700, what="700 more")
        fake_clock.advance(61)
        await events.until(lambda: len(summaries()) == 3, what="the next minute's summary")
        await events.finish()
        return source.health()

    with caplog.at_level(logging.WARNING, logger="drivers"):
        health = asyncio.run(scenario())
    assert health.rejects_by_reason == {"not_text": 2200, "empty": 1500}
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("drivers")]
    assert len(messages) == 5, messages  # a first line and a summary per reason, then one more summary
    assert sorted(summaries()[:2]) == [
        "device qr-1: 1499 more frames rejected (reason=empty) in the last 61 s",
        "device qr-1: 1499 more frames rejected (reason=not_text) in the last 61 s",
    ]
    assert summaries()[2] == "device qr-1: 700 more frames rejected (reason=not_text) in the last 61 s"


def test_unplug_and_replug_recovers_within_two_seconds(pty_pair: PtyPair, device: Device, caplog):
    frame, value = device.good[0]

    async def scenario():
        source = device.make(pty_pair.device)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, frame + device.split[0])  # a frame cut off by the unplug
        await events.count(1)
        pty_pair.unplug()
        await events.until(lambda: not source.health().connected, timeout=2, what="loss noticed")
        await asyncio.sleep(1.5)  # unplugged for a while: several failed reopen attempts
        pty_pair.plug()
        recovered_in = await events.until(lambda: source.health().connected, timeout=2, what="recovery")
        await asyncio.sleep(0.35)  # the card reader counts a new presentation after release_after
        await asyncio.to_thread(pty_pair.write, frame)
        await events.count(2)
        await events.finish()
        return events.events, source.health(), recovered_in

    with caplog.at_level(logging.INFO, logger="drivers"):
        got, health, recovered_in = asyncio.run(scenario())
    assert [device.value(e) for e in got] == [value, value]
    assert recovered_in < 2.0
    assert health.reconnects == 1 and health.last_error
    assert health.reconnected_at is not None and health.reconnected_at <= got[1].at  # what it missed is said
    assert health.rejects_by_reason.get("truncated") == 1  # the half frame lost in the unplug
    messages = [r.getMessage() for r in caplog.records]
    assert sum("device unavailable" in m for m in messages) == 1  # logged once, however many retries
    assert sum("device available again" in m for m in messages) == 1


def test_a_device_missing_at_start_is_retried_not_fatal(tmp_path, caplog):
    pair = PtyPair(tmp_path)

    async def scenario():
        source = QrSerialScanner("scanner", url=pair.device)
        await source.open()  # nothing plugged in yet
        events = Collector(source)
        await asyncio.sleep(0.5)
        assert not source.health().connected and "cannot open" in source.health().last_error
        pair.plug()
        try:
            await events.until(lambda: source.health().connected, timeout=2)
            await asyncio.to_thread(pair.write, b"LATE-1\r")
            await events.count(1)
        finally:
            await events.finish()
            pair.unplug()
        return events.events

    with caplog.at_level(logging.INFO, logger="drivers"):
        got = asyncio.run(scenario())
    assert [e.code for e in got] == ["LATE-1"]
    assert sum("device unavailable" in r.getMessage() for r in caplog.records) == 1


def test_scanner_prefix_and_suffix_are_required_and_removed(pty_pair: PtyPair):
    async def scenario():
        source = QrSerialScanner("scanner", url=pty_pair.device, prefix="]Q1", suffix="#")
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, b"]Q1SE1.abc#\r\nSE1.abc#\r\n]Q1SE1.abc\r\n]Q1BK-2#\r\n")
        await events.count(2)
        await events.until(lambda: source.health().rejected == 2)
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert [e.code for e in got] == ["SE1.abc", "BK-2"]
    assert isinstance(got[0], CodeScanned)
    assert health.rejects_by_reason == {"missing_prefix": 1, "missing_suffix": 1}


def test_card_held_on_the_reader_is_one_presentation(pty_pair: PtyPair, fake_clock):
    async def scenario():
        source = ClockInReader("door", url=pty_pair.device, release_after=1.0, clock=fake_clock)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        for _ in range(20):  # ~1 s of repeats, 50 ms apart
            await asyncio.to_thread(pty_pair.write, em4100(31337))
            fake_clock.advance(0.05)
        await events.until(lambda: source.health().suppressed == 19)
        fake_clock.advance(1.5)  # card taken away, then presented again: clock-out
        await asyncio.to_thread(pty_pair.write, em4100(31337))
        await events.count(2)
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert [e.card_id for e in got] == ["0000031337", "0000031337"]
    assert all(isinstance(e, CardPresented) for e in got)
    assert health.accepted == 2 and health.suppressed == 19


def test_anpr_low_confidence_is_rejected_when_a_threshold_is_set(pty_pair: PtyPair):
    async def scenario():
        source = AnprReader("cam", url=pty_pair.device, min_confidence=0.7)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, "沪A12345,0.62,1\n沪A12345,71,1\n".encode())
        await events.count(1)
        await events.until(lambda: source.health().rejected == 1)
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert [(e.plate, e.confidence) for e in got] == [("沪A12345", 0.71)]
    assert isinstance(got[0], PlateRead) and health.rejects_by_reason == {"low_confidence": 1}


def test_a_scan_made_while_nobody_reads_the_port_is_dropped_not_acted_on_late(pty_pair: PtyPair):
    stale = b"BK-STALE\r\n"
    pty_pair.write(stale)  # scanned while the daemon was down: the port holds it
    # socat relays the scan to the device's side on its own time: hold that side open and wait
    # until the scan sits in its input queue, so the driver's open really finds it there
    waiting = os.open(pty_pair.device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        deadline = time.monotonic() + 10
        while _queued(waiting) < len(stale):
            assert time.monotonic() < deadline, "socat never delivered the stale scan"
            time.sleep(0.005)
        assert [e.code for e in asyncio.run(_open_and_read_one_fresh_scan(pty_pair))] == ["BK-FRESH"]
    finally:
        os.close(waiting)


def _queued(fd: int) -> int:
    """Bytes waiting in a terminal's input queue."""
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


def _open_and_read_one_fresh_scan(pty_pair: PtyPair):
    async def scenario():
        source = QrSerialScanner("gate-qr", url=pty_pair.device)
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.to_thread(pty_pair.write, b"BK-FRESH\r\n")
        await events.count(1)
        return await events.finish()

    return scenario()
