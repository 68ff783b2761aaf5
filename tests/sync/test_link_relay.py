"""The impaired-link relay itself, against a local echo or sink server on 127.0.0.1.

Timings are asserted only as orders of magnitude, with wide margins for a busy machine.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from tests.sync.link_relay import LinkRelay


class _Server:
    """A threaded TCP server on 127.0.0.1: "echo" sends every byte back, "sink" keeps what it gets."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.received = bytearray()
        self.closed = threading.Event()  # a connection ended (EOF or reset)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._sockets: list[socket.socket] = []
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            self._sockets.append(conn)
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            with contextlib.suppress(OSError):  # the client reset the connection: the server just ends
                while data := conn.recv(65536):
                    if self.mode == "echo":
                        conn.sendall(data)
                    else:
                        with self._lock:
                            self.received += data
        finally:
            self.closed.set()
            conn.close()

    def wait_for(self, size: int, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < size:
            assert time.monotonic() < deadline, f"sink got {len(self.received)} of {size} bytes"
            time.sleep(0.005)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
        self._listener.close()
        for conn in self._sockets:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=5)


@pytest.fixture
def echo() -> Iterator[_Server]:
    server = _Server("echo")
    yield server
    server.close()


@pytest.fixture
def sink() -> Iterator[_Server]:
    server = _Server("sink")
    yield server
    server.close()


def _connect(relay: LinkRelay) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        assert chunk, f"connection closed after {len(data)} of {size} bytes"
        data += chunk
    return bytes(data)


def _round_trip(sock: socket.socket, message: bytes = b"ping") -> float:
    began = time.monotonic()
    sock.sendall(message)
    assert _recv_exactly(sock, len(message)) == message
    return time.monotonic() - began


def test_a_perfect_link_passes_everything_and_counts_it(echo: _Server) -> None:
    payload = bytes(range(256)) * 400  # 100 kB
    with LinkRelay(echo.port) as relay, _connect(relay) as sock:
        sock.sendall(payload)
        assert _recv_exactly(sock, len(payload)) == payload
        assert relay.delivered_bytes("up") == len(payload)
        assert relay.delivered_bytes("down") == len(payload)
        assert relay.connections == 1


def test_latency_delays_each_direction(echo: _Server) -> None:
    with LinkRelay(echo.port, latency_s=0.15) as relay, _connect(relay) as sock:
        assert 0.25 <= _round_trip(sock) < 3.0


def test_the_bandwidth_cap_paces_a_transfer(sink: _Server) -> None:
    payload = b"x" * 20_000  # 160 kbit at 80 kbit/s: about 2 s
    with LinkRelay(sink.port, bandwidth_bps=80_000) as relay, _connect(relay) as sock:
        began = time.monotonic()
        sock.sendall(payload)
        sink.wait_for(len(payload))
        assert time.monotonic() - began >= 1.5
        assert bytes(sink.received) == payload
        assert relay.delivered_bytes("up") == len(payload)


def test_jitter_and_stalls_never_reorder_bytes(echo: _Server) -> None:
    with LinkRelay(echo.port, latency_s=0.02, jitter_s=0.02, stall_probability=0.1, stall_s=(0.01, 0.05),
                   seed=7) as relay, _connect(relay) as sock:
        sent = bytearray()
        for number in range(300):
            message = number.to_bytes(4, "big") * 10
            sock.sendall(message)
            sent += message
            if number % 10 == 0:
                time.sleep(0.002)  # separate reads, so the pieces get different delays
        assert _recv_exactly(sock, len(sent)) == sent


def test_a_stall_holds_everything_behind_it(echo: _Server) -> None:
    with LinkRelay(echo.port, stall_probability=1.0, stall_s=(0.3, 0.3)) as relay, _connect(relay) as sock:
        assert _round_trip(sock, b"a" * 5000) >= 0.5  # stalled both ways


def test_the_blackhole_discards_silently_then_lets_new_bytes_through(echo: _Server) -> None:
    with LinkRelay(echo.port) as relay, _connect(relay) as sock:
        _round_trip(sock)
        before = relay.delivered_bytes("up"), relay.delivered_bytes("down")
        relay.blackhole(True)
        sock.sendall(b"lost in the void")
        sock.settimeout(0.5)
        with pytest.raises(TimeoutError):  # nothing comes back, and nothing is closed either
            sock.recv(100)
        assert (relay.delivered_bytes("up"), relay.delivered_bytes("down")) == before
        assert not echo.closed.is_set()
        relay.blackhole(False)
        sock.settimeout(5)
        assert _round_trip(sock, b"back again") < 3.0


def test_settings_change_at_run_time(echo: _Server) -> None:
    with LinkRelay(echo.port) as relay, _connect(relay) as sock:
        fast = _round_trip(sock)
        relay.impair(latency_s=0.2, bandwidth_bps=1_000_000)
        assert _round_trip(sock) >= 0.35
        relay.impair(bandwidth_bps=0)
        assert _round_trip(sock) >= 0.35  # the latency stays
        relay.clear()
        assert _round_trip(sock) < max(0.2, 10 * fast)


def test_cut_resets_open_connections_and_new_ones_work(echo: _Server) -> None:
    with LinkRelay(echo.port) as relay:
        with _connect(relay) as sock:
            _round_trip(sock)
            relay.cut()
            with pytest.raises(ConnectionResetError):
                sock.recv(100)
        assert echo.closed.wait(5)  # the server side was closed too
        with _connect(relay) as sock:
            assert _round_trip(sock) < 3.0
        assert relay.connections == 2


def test_an_end_of_stream_is_passed_on(echo: _Server) -> None:
    with LinkRelay(echo.port, latency_s=0.05) as relay, _connect(relay) as sock:
        sock.sendall(b"last words")
        sock.shutdown(socket.SHUT_WR)
        assert _recv_exactly(sock, 10) == b"last words"
        assert sock.recv(100) == b""  # the echo server closed after our FIN


def test_stop_closes_everything_and_is_idempotent(echo: _Server) -> None:
    relay_threads = sum(thread.name == "link-relay" for thread in threading.enumerate())
    relay = LinkRelay(echo.port).start()
    sock = _connect(relay)
    _round_trip(sock)
    relay.stop()
    relay.stop()
    with pytest.raises(ConnectionResetError):
        sock.recv(100)
    sock.close()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", relay.port), timeout=2).close()
    assert sum(thread.name == "link-relay" for thread in threading.enumerate()) == relay_threads


def test_an_unreachable_target_resets_the_client() -> None:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        dead_port = probe.getsockname()[1]  # closed on leaving: nothing listens there afterwards
    with LinkRelay(dead_port) as relay, _connect(relay) as sock:
        with pytest.raises(ConnectionResetError):
            sock.recv(100)


def test_unlimited_is_fast_and_idle_is_quiet(sink: _Server) -> None:
    payload = b"z" * (8 << 20)
    with LinkRelay(sink.port) as relay, _connect(relay) as sock:
        began = time.monotonic()
        sock.sendall(payload)
        sink.wait_for(len(payload))
        assert time.monotonic() - began < 4.0  # 8 MB: at least 2 MB/s, in practice far more
        cpu = time.process_time()
        time.sleep(0.5)  # an open connection with nothing to do
        assert time.process_time() - cpu < 0.1
