"""Serial QR/barcode scanners (USB virtual COM, RS-232, TCP): one CR or CRLF-terminated line per scan."""

from __future__ import annotations

import time

from drivers.base import Clock, WallClock, utc_now
from drivers.errors import DriverError
from drivers.events import CodeScanned
from drivers.serial_lines import Frame, SerialLineSource, decode_text


class QrSerialScanner(SerialLineSource):
    """`CodeScanned` for every line; an optional configured prefix/suffix is required and removed."""

    driver = "qr_serial"

    def __init__(self, name: str, *, url: str, baudrate: int = 9600, prefix: str = "", suffix: str = "",
                 encoding: str = "utf-8", max_length: int = 512, frame_gap: float = 1.0,
                 reconnect_max: float = 1.0, clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, url=url, baudrate=baudrate, lines=True, max_length=max_length,
                         frame_gap=frame_gap, reconnect_max=reconnect_max, clock=clock, wall=wall)
        try:
            "".encode(encoding)
        except LookupError as err:
            raise DriverError(f"device {name!r}: unknown encoding {encoding!r}") from err
        self.prefix, self.suffix, self.encoding = prefix, suffix, encoding

    def _handle(self, frame: Frame) -> CodeScanned | None:
        text = decode_text(frame.data, self.encoding)
        if text is None:
            self._reject("not_text", frame.data)
            return None
        if self.prefix:
            if not text.startswith(self.prefix):
                self._reject("missing_prefix", text)
                return None
            text = text[len(self.prefix):]
        if self.suffix:
            if not text.endswith(self.suffix):
                self._reject("missing_suffix", text)
                return None
            text = text[: -len(self.suffix)]
        if not text.strip():
            self._reject("empty", frame.data)
            return None
        return CodeScanned(code=text, device=self.name, at=self._wall())
