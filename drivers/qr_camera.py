"""Camera QR reading: OpenCV VideoCapture (device index, video file, RTSP URL) + a pluggable decoder.

Frames reach the decoder as one grayscale plane (decoding a BGR frame costs 3x a
cvtColor plus a gray decode, measured): the luma plane straight from the backend where
it verifiably is luma, otherwise BGR converted to gray (drivers/camera_frames.py). A
reader thread grabs and converts the next frame while this source's worker decodes the
current one; a live camera's stale frames are dropped rather than queued when decoding
falls behind. zxing-cpp, restricted to QR, is the default decoder: it was the fastest
and read the most frames in every condition measured (bench/camera.py compares them);
pyzbar is selectable and needs Debian's libzbar0. A code stays in view for many
frames, so a code is reported once and then again only after it has been out of sight
for `dedupe_seconds`.

A video file is a finite input: at its end the source stops and events() finishes; its
time is the frame's position in the file, so tests do not depend on decoding speed. A
camera or stream that stops delivering frames is a device loss, retried with backoff.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import CodeScanned, Event

log = logging.getLogger(__name__)

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
                 every_nth_frame: int = 1, open_timeout: float = 5.0, read_luma: bool = True,
                 reconnect_max: float = 5.0,
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
        self.read_luma = read_luma
        self._luma: bool | None = None if read_luma else False  # None: not checked yet
        self._decode: Decoder | None = None
        self._last_seen: dict[str, float] = {}
        self._grabber: Any = None  # the running session's FrameGrabber
        self._dropped = 0  # frames dropped by finished sessions

    @property
    def is_file(self) -> bool:
        return isinstance(self.source, str) and "://" not in self.source

    @property
    def reads_luma(self) -> bool | None:
        """True: frames are the backend's luma plane; False: BGR converted to gray; None: not connected yet."""
        return self._luma

    @property
    def frames_dropped(self) -> int:
        """Live frames skipped because decoding was behind (a file never drops one)."""
        with self._lock:
            return self._dropped + (self._grabber.dropped if self._grabber else 0)

    def _prepare(self) -> None:
        try:
            import cv2  # noqa: F401  (lazy: only stations with a QR camera pay its import and memory)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs opencv-python-headless: {err}") from err
        self._decode = load_decoder(self.decoder_name)

    def _open(self) -> tuple[Any, Any | None]:
        """The capture and, when the luma check just ran, the frame it read first."""
        from drivers import camera_frames

        if self.is_file and not Path(self.source).is_file():
            raise DeviceUnavailable(f"video file {self.source} does not exist")
        if self._luma is None:  # decided once per device, on the first connection that delivers a frame
            checked = camera_frames.open_checked_luma(self.source, finite=self.is_file, timeout=self.open_timeout)
            self._luma = checked is not None
            log.info("camera frames device=%s read=%s", self.name,
                     "luma plane" if self._luma else "BGR converted to gray (no usable luma plane)")
            if checked is not None:
                return checked
        return camera_frames.open_capture(self.source, luma=self._luma, timeout=self.open_timeout), None

    def _session(self) -> bool:
        import cv2

        from drivers import camera_frames

        capture, first = self._open()
        fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
        grabber = camera_frames.FrameGrabber(capture, self.source, luma=bool(self._luma), live=not self.is_file,
                                             every_nth_frame=self.every_nth_frame, clock=self._clock, first=first)
        with self._lock:
            self._grabber = grabber
        try:
            grabber.start()  # from here the grabber owns the capture and releases it
            self._mark_connected(str(self.source))
            while True:
                try:
                    frame = grabber.next(self._stop)
                except camera_frames.LumaLost:
                    self._luma = False  # reopened with conversion on
                    raise
                if frame is None:
                    return False  # close() was called
                if frame is camera_frames.END:
                    return True  # end of the video: a finite source is done
                seen_at = frame.index / fps if self.is_file else frame.grabbed_at
                self._publish(self._scan(frame.gray, seen_at))
        finally:
            grabber.close()
            with self._lock:
                self._grabber = None
                self._dropped += grabber.dropped

    def _scan(self, gray: Any, seen_at: float) -> list[Event]:
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
