"""Camera QR reading: OpenCV VideoCapture (device index, video file, RTSP URL) + a pluggable decoder.

Frames are grabbed and decoded in the source's worker thread, converted to grayscale
first (measured: decoding a BGR frame costs 3x a cvtColor plus a gray decode). zxing-cpp,
restricted to QR, is the default decoder: it was the fastest and read the most frames
in every condition measured (shared/reference/anchors_drivers.md §1); pyzbar is
selectable and needs Debian's libzbar0. A code stays in view for many frames, so a code
is reported once and then again only after it has been out of sight for `dedupe_seconds`.

A video file is a finite input: at its end the source stops and events() finishes; its
time is the frame's position in the file, so tests do not depend on decoding speed. A
camera or stream that stops delivering frames is a device loss, retried with backoff.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import CodeScanned, Event

Decoder = Callable[[Any], list[str]]  # grayscale uint8 frame -> decoded texts
DECODERS = ("zxing", "pyzbar")


def load_decoder(name: str) -> Decoder:
    """The named decoder, imported now; DriverError says what to install if it is missing."""
    if name == "zxing":
        try:
            import zxingcpp
        except ImportError as err:
            raise DriverError(f"decoder 'zxing' needs the zxing-cpp package: {err}") from err
        qr_only = zxingcpp.BarcodeFormat.QRCode  # all formats enabled cost 12x per frame (measured)

        def decode_zxing(gray: Any) -> list[str]:
            return [r.text for r in zxingcpp.read_barcodes(gray, formats=qr_only) if getattr(r, "valid", True)]

        return decode_zxing
    if name == "pyzbar":
        try:
            from pyzbar import pyzbar
        except ImportError as err:  # also raised when the libzbar0 shared library is missing
            raise DriverError(f"decoder 'pyzbar' needs pyzbar and Debian's libzbar0 "
                              f"(apt-get install libzbar0): {err}") from err

        def decode_pyzbar(gray: Any) -> list[str]:
            texts = []
            for symbol in pyzbar.decode(gray, symbols=[pyzbar.ZBarSymbol.QRCODE]):
                try:
                    texts.append(symbol.data.decode("utf-8"))
                except UnicodeDecodeError:
                    texts.append("\ufffd")  # not text: rejected by the caller like any unreadable code
            return texts

        return decode_pyzbar
    raise DriverError(f"unknown QR decoder {name!r} (known: {', '.join(DECODERS)})")


class QrCamera(ThreadedSource):
    """`CodeScanned` for each QR code that comes into view; repeats within dedupe_seconds are suppressed."""

    driver = "qr_camera"
    reconnect_initial = 0.5

    def __init__(self, name: str, *, source: str | int, decoder: str = "zxing", dedupe_seconds: float = 5.0,
                 every_nth_frame: int = 1, open_timeout: float = 5.0, reconnect_max: float = 5.0,
                 clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, reconnect_max=reconnect_max, clock=clock, wall=wall)
        if decoder not in DECODERS:
            raise DriverError(f"device {name!r}: unknown decoder {decoder!r} (known: {', '.join(DECODERS)})")
        if dedupe_seconds < 0 or every_nth_frame < 1 or open_timeout <= 0:
            raise DriverError(f"device {name!r}: dedupe_seconds >= 0, every_nth_frame >= 1, open_timeout > 0")
        if source == "" or isinstance(source, bool):
            raise DriverError(f"device {name!r}: source must be a camera index, a video file or a stream URL")
        self.source: str | int = int(source) if isinstance(source, str) and source.isdigit() else source
        self.decoder_name = decoder
        self.dedupe_seconds = dedupe_seconds
        self.every_nth_frame = every_nth_frame
        self.open_timeout = open_timeout
        self._decode: Decoder | None = None
        self._last_seen: dict[str, float] = {}

    @property
    def is_file(self) -> bool:
        return isinstance(self.source, str) and "://" not in self.source

    def _prepare(self) -> None:
        try:
            import cv2  # noqa: F401  (lazy: only stations with a QR camera pay its import and memory)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs opencv-python-headless: {err}") from err
        self._decode = load_decoder(self.decoder_name)

    def _open(self) -> Any:
        import cv2

        if isinstance(self.source, int):
            capture = cv2.VideoCapture(self.source)
            capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # decode the newest frame, not a backlog
        elif self.is_file:
            if not Path(self.source).is_file():
                raise DeviceUnavailable(f"video file {self.source} does not exist")
            capture = cv2.VideoCapture(self.source)
        else:  # a stream: without timeouts a dead RTSP camera blocks the worker for good
            ms = int(self.open_timeout * 1000)
            capture = cv2.VideoCapture(self.source, cv2.CAP_FFMPEG,
                                       [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, ms])
        if not capture.isOpened():
            capture.release()
            raise DeviceUnavailable(f"cannot open video source {self.source}")
        return capture

    def _session(self) -> bool:
        import cv2

        capture = self._open()
        self._mark_connected(str(self.source))
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        index = -1
        try:
            while not self._stop.is_set():
                try:
                    ok, frame = capture.read()
                except cv2.error as err:
                    raise DeviceUnavailable(f"{self.source}: {err}") from err
                if not ok or frame is None:
                    if self.is_file:
                        return True  # end of the video: a finite source is done
                    raise DeviceUnavailable(f"{self.source} stopped delivering frames")
                index += 1
                if index % self.every_nth_frame:
                    continue
                seen_at = index / fps if self.is_file else self._clock()
                self._publish(self._scan(frame, seen_at))
            return False
        finally:
            capture.release()

    def _scan(self, frame: Any, seen_at: float) -> list[Event]:
        import cv2

        gray = frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
        try:
            texts = self._decode(gray) if self._decode else []
        except Exception as err:  # a decoder crash on one odd frame must not end the camera
            self._reject("decoder_error", err)
            return []
        events: list[Event] = []
        for text in dict.fromkeys(texts):  # the same code twice in one frame is one sighting
            if not text or "\ufffd" in text or any(ord(ch) < 0x20 and ch not in "\t\r\n" for ch in text):
                self._reject("not_text", text)
                continue
            last = self._last_seen.get(text)
            self._last_seen[text] = seen_at
            if last is not None and seen_at - last <= self.dedupe_seconds:
                self._suppress()
                continue
            events.append(self._accepted_event(CodeScanned(code=text, device=self.name, at=self._wall())))
        if len(self._last_seen) > 256:  # forget codes long out of view so the table stays small
            self._last_seen = {code: t for code, t in self._last_seen.items() if seen_at - t <= self.dedupe_seconds}
        return events
