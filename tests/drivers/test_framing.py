"""The framer, the frame parsers, and the serial reader over pyserial's loop:// and socket:// URLs."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.anpr import AnprReader
from drivers.clock_in import ClockInReader, em4100_card_id
from drivers.errors import DriverError
from drivers.qr_serial import QrSerialScanner
from drivers.serial_lines import Frame, Framer, Rejected
from tests.drivers.conftest import Collector
from tests.drivers.test_serial_devices import em4100


def frames(items):
    return [(i.kind, i.data) if isinstance(i, Frame) else ("rejected", i.reason) for i in items]


def test_lines_end_at_cr_lf_or_crlf_and_blank_lines_vanish():
    framer = Framer(lines=True)
    assert frames(framer.feed(b"A1\rB2\nC3\r\n\r\n\nD")) == [("line", b"A1"), ("line", b"B2"), ("line", b"C3")]
    assert framer.pending
    assert frames(framer.feed(b"4\r")) == [("line", b"D4")]


def test_an_overlong_line_is_rejected_once_and_the_next_line_is_read():
    framer = Framer(lines=True, max_length=8)
    assert frames(framer.feed(b"X" * 30 + b"\r\nOK\r\n")) == [("rejected", "too_long"), ("line", b"OK")]


def test_stx_etx_frames_resync_after_garbage_and_cut_frames():
    framer = Framer(lines=False, stx_etx=True)
    out = frames(framer.feed(b"noise\x02AB\x02CD\x03\x03junk\x02EF"))
    assert out == [("rejected", "truncated"), ("stx", b"CD"), ("rejected", "garbage")]
    assert frames(framer.feed(b"GH\x03")) == [("stx", b"EFGH")]
    assert framer.reset() is None


def test_reset_returns_the_partial_frame():
    framer = Framer(lines=True)
    framer.feed(b"half")
    assert framer.reset() == Rejected("truncated", b"half")
    assert not framer.pending


def test_a_framer_needs_a_framing():
    with pytest.raises(DriverError):
        Framer(lines=False, stx_etx=False)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=50))
def test_any_bytes_in_any_chunks_never_raise_and_stay_bounded(data, chunk):
    framer = Framer(lines=True, stx_etx=True, max_length=32)
    for i in range(0, len(data), chunk):
        for item in framer.feed(data[i:i + chunk]):
            assert len(item.data) <= 32
    assert len(framer._buffer) <= 32


def test_em4100_frames():
    assert em4100_card_id(em4100(5551234)[1:-1]) == "0005551234"
    assert em4100_card_id(em4100(5551234, 0x1A)[1:-1], card_id_format="hex") == "1A0054B482"
    assert em4100_card_id(em4100(99)[1:-1] + b"\r\n") == "0000000099"  # CR LF before ETX
    with pytest.raises(ValueError, match="bad_checksum"):
        em4100_card_id(em4100(5551234, corrupt=True)[1:-1])
    with pytest.raises(ValueError, match="malformed"):
        em4100_card_id(b"12345")


def test_loop_url_opens_idles_and_closes_promptly():
    async def scenario():
        source = QrSerialScanner("loop-scanner", url="loop://")
        await source.open()
        events = Collector(source)
        await events.until(lambda: source.health().connected)
        await asyncio.sleep(0.3)  # empty reads time out and loop without counting anything
        started = asyncio.get_running_loop().time()
        await events.finish()
        return source.health(), asyncio.get_running_loop().time() - started

    health, close_took = asyncio.run(scenario())
    assert health.accepted == health.rejected == 0 and health.last_error is None
    assert close_took < 1.0


class FakeTcpDevice:
    """A TCP peer that sends scripted chunks, then hangs up: an ANPR camera or a serial server."""

    def __init__(self, chunks: list[bytes], pause: float = 0.05) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.chunks, self.pause = chunks, pause
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        connection, _ = self.server.accept()
        # pyserial drains whatever arrived during open() (reset_input_buffer), as it does on real
        # ports; a camera sends when a car passes, not in the instant the station connects
        threading.Event().wait(0.2)
        with connection:
            for chunk in self.chunks:
                connection.sendall(chunk)
                threading.Event().wait(self.pause)
        self.server.close()


def test_socket_url_keeps_frames_sent_just_before_the_peer_hangs_up():
    camera = FakeTcpDevice([b"\x00\xffgarbage\r\n", "沪A1".encode(), "2345,0.91,2\r\n".encode(),
                            "粤B88888,0.8,1\r\n".encode()], pause=0.05)

    async def scenario():
        source = AnprReader("tcp-cam", url=f"socket://127.0.0.1:{camera.port}", reconnect_max=0.2)
        await source.open()
        events = Collector(source)
        await events.count(2)
        await events.until(lambda: not source.health().connected, what="hang-up noticed")
        await events.finish()
        return events.events, source.health()

    got, health = asyncio.run(scenario())
    assert [(e.plate, e.confidence, e.lane) for e in got] == [("沪A12345", 0.91, "2"), ("粤B88888", 0.8, "1")]
    assert health.rejects_by_reason == {"not_text": 1}
    assert health.last_error  # the hang-up, recorded


def test_clock_in_min_repeats_filters_single_ghost_frames(fake_clock):
    reader = ClockInReader("door", url="loop://", min_repeats=2, clock=fake_clock)
    ghost = reader._handle(Frame("stx", em4100(1)[1:-1]))
    fake_clock.advance(2)
    first = reader._handle(Frame("stx", em4100(2)[1:-1]))
    fake_clock.advance(0.05)
    second = reader._handle(Frame("stx", em4100(2)[1:-1]))
    assert ghost is None and first is None and second is not None and second.card_id == "0000000002"
