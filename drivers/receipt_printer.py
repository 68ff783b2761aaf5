"""An ESC/POS receipt printer on a serial port or the network (TCP 9100): an output device with a health.

The printer is opened through a pyserial URL: a serial device (`/dev/ttyUSB0`, a USB-serial
printer or a pty) or `socket://host:9100` for a network printer, so one transport serves
both. Documents arrive as the JSON form of a printout (`{"columns": 48, "lines": [...]}`,
lines of kind text / qr / feed / cut) and are rendered into ESC/POS by python-escpos
(imported on first use: a station without a printer never pays for it):

- `ESC @` initialises the printer at the start of every document;
- a line of plain ASCII is sent in the printer's default code page; a line with anything
  else (Chinese) is sent as GB18030 between `FS &` (enter Chinese mode) and `FS .` (leave
  it), which is how ESC/POS printers sold in China print Chinese;
- bold is `ESC E`, double height `ESC !`, centring `ESC a`;
- a QR code is the printer's own `GS ( k` command (python-escpos `qr(native=True)`);
- feed is `ESC d n`, the cut `GS V B 0` (a full cut where the paper stands).

Status is asked with the real-time commands `DLE EOT 1` (printer status: bit 3 = offline)
and `DLE EOT 4` (paper roll sensor: bits 5 and 6 = paper end), before every document and
every `status_interval` seconds. The answer byte always has bits 1 and 4 set and bits 0 and
7 clear; anything else is not an answer. A printer that does not answer within `timeout`,
closes the connection or reports itself offline is not connected (health: offline, the
error says why) and is reopened with backoff; a printer without paper is connected with the
condition `paper_out`. Neither is ever raised past this module as anything but
PrinterNotReady.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from typing import Any

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.serial_lines import is_plain_path

DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_PAPER = 1, 4
OFFLINE_BIT = 0x08
PAPER_END_BITS = 0x60
PAPER_NEAR_END_BITS = 0x0C
CHINESE_ON, CHINESE_OFF = b"\x1c\x26", b"\x1c\x2e"  # FS & / FS .
PAPER_OUT = "paper_out"
OFFLINE = "offline"


class PrinterNotReady(DriverError):
    """The printer cannot take a document now: `condition` is paper_out or offline."""

    def __init__(self, condition: str, message: str) -> None:
        super().__init__(message)
        self.condition = condition


def is_status_answer(byte: int) -> bool:
    """An ESC/POS real-time status byte: bits 1 and 4 set, bits 0 and 7 clear."""
    return byte & 0x93 == 0x12


def render(document: Mapping[str, Any]) -> bytes:
    """The ESC/POS bytes of a printout's JSON form; DriverError for a document that cannot be printed."""
    try:
        return _render(document)
    except DriverError:
        raise
    except Exception as err:  # python-escpos and the text codecs raise their own: one DriverError here
        raise DriverError(f"the document cannot be printed: {type(err).__name__}: {err}") from err


def _render(document: Mapping[str, Any]) -> bytes:
    from escpos.printer import Dummy  # lazy: about 0.2 s of imports (capabilities database)

    printer = Dummy()
    printer.hw("INIT")
    for line in document["lines"]:
        kind = line["kind"]
        if kind == "text":
            printer.set(align="center" if line.get("centred") else "left", bold=bool(line.get("bold")),
                        double_height=bool(line.get("double_height")),
                        normal_textsize=not line.get("double_height"))
            text = line.get("text", "")
            if text.isascii():
                printer.text(text + "\n")
            else:
                printer._raw(CHINESE_ON + text.encode("gb18030") + CHINESE_OFF + b"\n")
        elif kind == "qr":
            printer.set(align="center", bold=False, normal_textsize=True)
            printer.qr(line["text"], native=True, size=int(line.get("count", 6)))
        elif kind == "feed":
            printer._raw(b"\x1bd" + bytes([max(0, min(255, int(line.get("count", 1))))]))
        elif kind == "cut":
            printer.cut(feed=False)
        else:
            raise DriverError(f"a printout line of unknown kind {kind!r}")
    return printer.output


class ReceiptPrinter(ThreadedSource):
    """An ESC/POS printer; `print_document()` from any thread, health from its status polls."""

    driver = "receipt_printer"
    reconnect_initial = 0.5

    def __init__(self, name: str, *, url: str, paper_mm: int = 80, baudrate: int = 19200, timeout: float = 2.0,
                 status_interval: float = 5.0, reconnect_max: float = 5.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, reconnect_max=reconnect_max, clock=clock, wall=wall)
        if not url:
            raise DriverError(f"device {name!r}: url is empty (e.g. /dev/ttyUSB0 or socket://192.0.2.20:9100)")
        if paper_mm not in (58, 80):
            raise DriverError(f"device {name!r}: paper_mm must be 58 or 80, not {paper_mm}")
        if baudrate <= 0 or timeout <= 0 or status_interval <= 0:
            raise DriverError(f"device {name!r}: baudrate, timeout and status_interval must be positive")
        self.url, self.paper_mm, self.baudrate = url, paper_mm, baudrate
        self.timeout, self.status_interval = timeout, status_interval
        self._io = threading.Lock()  # one conversation with the printer at a time: polls and documents
        self._port: Any = None

    @property
    def columns(self) -> int:
        return 32 if self.paper_mm == 58 else 48

    @property
    def ready(self) -> bool:
        """Connected, online and with paper, as of the last status answer."""
        health = self.health()
        return health.connected and health.condition is None

    def _prepare(self) -> None:
        try:
            import serial  # noqa: F401  (lazy: the daemon imports drivers it does not use)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs pyserial: {err}") from err

    # -- the worker: keep the port open and the status fresh ---------------------------------

    def _session(self) -> bool:
        import serial

        try:
            port = serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=self.timeout,
                                         write_timeout=self.timeout,
                                         exclusive=True if is_plain_path(self.url) else None)
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceUnavailable(f"cannot open {self.url}: {err}") from err
        with self._io:
            self._port = port
        try:
            while True:
                with self._io:
                    if self._port is None:  # a document found the printer gone meanwhile
                        raise DeviceUnavailable(self.health().last_error or "printer lost")
                    self._check_status()
                if self._stop.wait(self.status_interval):
                    return False
        finally:
            with self._io:
                self._port = None
            # the printer may be gone already: then there is nothing to release
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _check_status(self) -> None:
        """Ask the printer how it is (holding `_io`); DeviceUnavailable when it is offline or silent."""
        printer = self._ask(STATUS_PRINTER)
        if printer & OFFLINE_BIT:
            raise DeviceUnavailable(f"{self.url}: the printer reports itself offline (cover open or an error)")
        paper = self._ask(STATUS_PAPER)
        # the condition first: whoever sees the printer connected sees its paper too
        self._set_condition(PAPER_OUT if paper & PAPER_END_BITS == PAPER_END_BITS else None)
        self._mark_connected(self.url)

    def _ask(self, which: int) -> int:
        import serial

        port = self._port
        try:
            port.reset_input_buffer()
            port.write(DLE_EOT + bytes([which]))
            port.flush()
            answer = port.read(1)
        except (serial.SerialException, OSError) as err:
            raise DeviceUnavailable(f"{self.url}: {err}") from err
        if not answer:
            raise DeviceUnavailable(f"{self.url}: no answer to a status query within {self.timeout:g} s")
        if not is_status_answer(answer[0]):
            self._reject("bad_status", answer)
            raise DeviceUnavailable(f"{self.url}: a status answer that is not one: {answer!r}")
        return answer[0]

    # -- printing (any thread) ---------------------------------------------------------------

    def print_document(self, document: Mapping[str, Any]) -> None:
        """Check the status, then send the document; PrinterNotReady (paper_out / offline) if it cannot."""
        import serial

        data = render(document)
        with self._io:
            if self._port is None:
                raise PrinterNotReady(OFFLINE, self.health().last_error or f"{self.url} is not open")
            try:
                self._check_status()
            except DeviceUnavailable as err:
                self._drop(err)
                raise PrinterNotReady(OFFLINE, str(err)) from err
            if self.health().condition == PAPER_OUT:
                raise PrinterNotReady(PAPER_OUT, f"{self.name}: paper out")
            try:
                self._port.write(data)
                self._port.flush()
            except (serial.SerialException, OSError) as err:
                self._drop(err)
                raise PrinterNotReady(OFFLINE, f"{self.url}: {err}") from err
        self._count_accepted()

    def _drop(self, error: BaseException) -> None:
        """Close the port after a failure (holding `_io`); the worker notices and reconnects."""
        port, self._port = self._port, None
        self._mark_lost(error)
        # closing a dead connection can fail any way; it is closed either way
        with contextlib.suppress(Exception):
            port.close()
