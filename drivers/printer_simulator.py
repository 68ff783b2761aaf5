"""A fake ESC/POS printer on a local TCP port (and on a pty through socat): for the demo and the tests.

It keeps every byte it is sent except the status queries (in memory as `received`, and
appended to `capture` when a file is given), and answers the real-time status queries
`DLE EOT 1` and `DLE EOT 4` the way a printer does. Three switches play what goes wrong:

- `paper_out = True`: the paper sensor reports the roll's end (bits 5 and 6 of `DLE EOT 4`);
- `online = False`: the printer is switched off: connections are dropped and new ones refused,
  until it is switched on again on the same port;
- `answering = False`: connected but mute, so status queries time out.

`serial_port(link)` starts `socat` with a pty at `link` wired to the TCP port, so the driver
can be tested through a real serial device node. Run alone (the demo does):
`python -m drivers.printer_simulator --port 9100 --capture printer.bin`.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

STATUS_OK = 0x12  # the fixed bits of a real-time status answer, nothing wrong
OFFLINE_BIT, PAPER_END_BITS = 0x08, 0x60
DLE, EOT = 0x10, 0x04


class FakePrinter:
    """A TCP printer in a thread: start(), the switches, received, stop()."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, capture: Path | None = None) -> None:
        self.host, self.port, self.capture = host, port, capture
        self.paper_out = False
        self.answering = True
        self.status_queries = 0
        self._online = True
        self._received = bytearray()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._clients: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._socat: subprocess.Popen | None = None

    # -- switches and what it printed -------------------------------------------------------

    @property
    def url(self) -> str:
        return f"socket://{self.host}:{self.port}"

    @property
    def received(self) -> bytes:
        with self._lock:
            return bytes(self._received)

    def clear(self) -> None:
        with self._lock:
            self._received.clear()

    @property
    def online(self) -> bool:
        return self._online

    @online.setter
    def online(self, value: bool) -> None:
        with self._lock:
            if value == self._online:
                return
            self._online = value
            if value:
                self._listen()
            else:
                self._close_all()

    # -- running -----------------------------------------------------------------------------

    def start(self) -> FakePrinter:
        with self._lock:
            self._listen()
        self._thread = threading.Thread(target=self._serve, name=f"fake-printer:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            self._close_all()
        if self._socat is not None:
            self._socat.terminate()
            self._socat.wait(5)
            self._socat = None

    def __enter__(self) -> FakePrinter:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def serial_port(self, link: Path) -> Path:
        """A pty at `link` (socat) whose bytes go to this printer's TCP port; ready when this returns."""
        self._socat = subprocess.Popen(
            ["socat", f"pty,raw,echo=0,link={link}", f"tcp:{self.host}:{self.port}"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while not link.exists():
            if time.monotonic() > deadline or self._socat.poll() is not None:
                raise RuntimeError(f"socat did not make {link}")
            time.sleep(0.02)
        return link

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(4)
        self.port = listener.getsockname()[1]
        self._listener = listener

    def _close_all(self) -> None:
        for sock in [*self._clients, *([self._listener] if self._listener else [])]:
            with contextlib.suppress(OSError):
                sock.close()
        self._clients, self._listener = [], None

    def _serve(self) -> None:
        pending: dict[socket.socket, bytearray] = {}
        while not self._stop.is_set():
            with self._lock:
                sockets = [*self._clients, *([self._listener] if self._listener else [])]
            if not sockets:
                time.sleep(0.05)
                continue
            try:
                readable, _, _ = select.select(sockets, [], [], 0.05)
            except (OSError, ValueError):
                continue  # a socket was closed by a switch meanwhile
            for sock in readable:
                if sock is self._listener:
                    with contextlib.suppress(OSError):
                        client, _ = sock.accept()
                        with self._lock:
                            self._clients.append(client)
                    continue
                try:
                    data = sock.recv(4096)
                except OSError:
                    data = b""
                if not data:
                    with self._lock:
                        if sock in self._clients:
                            self._clients.remove(sock)
                    pending.pop(sock, None)
                    with contextlib.suppress(OSError):
                        sock.close()
                    continue
                self._take(sock, pending.setdefault(sock, bytearray()), data)

    def _take(self, sock: socket.socket, carry: bytearray, data: bytes) -> None:
        """Keep the document bytes, answer the status queries among them (one may be split across reads)."""
        stream, kept, i = bytes(carry) + data, bytearray(), 0
        carry.clear()
        while i < len(stream):
            byte = stream[i]
            if byte == DLE and i + 1 < len(stream) and stream[i + 1] == EOT:
                if i + 2 >= len(stream):
                    carry.extend(stream[i:])
                    break
                self._answer(sock, stream[i + 2])
                i += 3
                continue
            if byte == DLE and i + 1 == len(stream):
                carry.append(byte)
                break
            kept.append(byte)
            i += 1
        if kept:
            with self._lock:
                self._received.extend(kept)
            if self.capture is not None:
                with self.capture.open("ab") as out:
                    out.write(kept)

    def _answer(self, sock: socket.socket, which: int) -> None:
        self.status_queries += 1
        if not self.answering:
            return
        answer = STATUS_OK
        if which == 4 and self.paper_out:
            answer |= PAPER_END_BITS
        with contextlib.suppress(OSError):
            sock.sendall(bytes([answer]))


def main() -> None:
    parser = argparse.ArgumentParser(description="a fake ESC/POS printer on a local TCP port")
    parser.add_argument("--port", type=int, default=9100)
    parser.add_argument("--capture", type=Path, help="append what it prints to this file")
    args = parser.parse_args()
    printer = FakePrinter(port=args.port, capture=args.capture).start()
    print(f"fake printer listening on {printer.url}", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        stopped.wait()
    printer.stop()


if __name__ == "__main__":
    main()
