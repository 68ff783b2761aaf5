"""The shared serial reader: CR/LF lines and STX…ETX frames over any pyserial URL, with reconnect.

Serial devices here are scanners, ANPR cameras on a TCP line protocol and card readers;
they differ only in how one frame becomes one event, which each driver supplies in
`_handle()`. Everything else is the same and lives here once:

- read whatever is available, `read(max(1, in_waiting))`, never a fixed block: pyserial's
  `socket://` handler throws away the bytes it already buffered when the peer disconnects
  in the middle of a large read;
- a framer that resyncs on the next STX or line end after garbage, and rejects overlong
  frames instead of growing its buffer forever;
- a partial frame left waiting longer than `frame_gap` seconds is dropped, so the tail of
  an interrupted frame is not glued onto the next good one;
- a vanished device (socat killed, USB pulled, TCP peer gone) raises DeviceUnavailable,
  which the base class logs once and retries with backoff;
- a serial port's input is flushed when it is opened (pyserial's POSIX open() resets the
  input buffer): a scan made while nobody read the port (the daemon down, the port
  re-opening) is lost, never acted on late. The board asks the attendant to have the
  customer scan again after a reconnection.
"""

from __future__ import annotations

import abc
import time
from dataclasses import dataclass

from drivers.base import Clock, ThreadedSource, WallClock, utc_now
from drivers.errors import DeviceUnavailable, DriverError
from drivers.events import Event

STX, ETX, CR, LF = 0x02, 0x03, 0x0D, 0x0A
_URL_SCHEMES = ("socket://", "rfc2217://", "loop://", "spy://", "alt://", "hwgrep://")


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame: a text line ("line") or the bytes between STX and ETX ("stx")."""

    kind: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes the framer could not use, and why."""

    reason: str
    data: bytes


class Framer:
    """Splits a byte stream into CR/LF lines and/or STX…ETX frames, resyncing after garbage."""

    def __init__(self, *, lines: bool = True, stx_etx: bool = False, max_length: int = 512) -> None:
        if not (lines or stx_etx):
            raise DriverError("a framer needs lines, STX/ETX frames or both")
        if max_length < 1:
            raise DriverError(f"max_length must be positive, not {max_length}")
        self.lines, self.stx_etx, self.max_length = lines, stx_etx, max_length
        self._buffer = bytearray()
        self._in_stx = False
        # after an overlong frame: drop bytes up to the next line end (or ETX), then resync
        self._discarding = False

    @property
    def pending(self) -> bool:
        return bool(self._buffer) or self._in_stx

    def reset(self) -> Rejected | None:
        """Forget a partial frame (device lost, or silence in mid-frame); returns it if there was one."""
        partial = Rejected("truncated", bytes(self._buffer)) if self.pending else None
        self._buffer.clear()
        self._in_stx = self._discarding = False
        return partial

    def feed(self, data: bytes) -> list[Frame | Rejected]:
        out: list[Frame | Rejected] = []
        garbage = bytearray()  # bytes outside any frame when only STX/ETX frames are expected
        buffer = self._buffer
        for byte in data:
            if self.stx_etx and byte == STX:
                if buffer or self._in_stx:
                    out.append(Rejected("truncated", bytes(buffer)))
                buffer.clear()
                self._in_stx, self._discarding = True, False
            elif self._discarding and self.stx_etx and byte == ETX:
                self._discarding = False
            elif self._in_stx:
                if byte == ETX:
                    out.append(Frame("stx", bytes(buffer)))
                    buffer.clear()
                    self._in_stx = False
                elif len(buffer) >= self.max_length:
                    out.append(Rejected("too_long", bytes(buffer)))
                    buffer.clear()
                    self._in_stx, self._discarding = False, True
                else:
                    buffer.append(byte)
            elif self._discarding and not self.lines:
                continue
            elif not self.lines:
                garbage.append(byte)
            elif byte in (CR, LF):
                if buffer and not self._discarding:
                    out.append(Frame("line", bytes(buffer)))
                buffer.clear()
                self._discarding = False
            elif self._discarding:
                continue
            elif len(buffer) >= self.max_length:
                out.append(Rejected("too_long", bytes(buffer)))
                buffer.clear()
                self._discarding = True
            else:
                buffer.append(byte)
        if garbage:
            out.append(Rejected("garbage", bytes(garbage)))
        return out


def decode_text(data: bytes, encoding: str) -> str | None:
    """The frame as text, or None if it is not text in that encoding or carries control characters."""
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        return None
    if any((ord(ch) < 0x20 and ch != "\t") or ord(ch) == 0x7F for ch in text):
        return None
    return text


def is_plain_path(url: str) -> bool:
    return not url.startswith(_URL_SCHEMES)


class SerialLineSource(ThreadedSource):
    """A device on a pyserial URL that speaks in frames; subclasses turn one frame into an event."""

    def __init__(self, name: str, *, url: str, baudrate: int = 9600, lines: bool = True,
                 stx_etx: bool = False, max_length: int = 512, frame_gap: float = 1.0,
                 reconnect_max: float = 1.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, reconnect_max=reconnect_max, clock=clock, wall=wall)
        if not url:
            raise DriverError(f"device {name!r}: url is empty (e.g. /dev/ttyACM0 or socket://host:port)")
        if baudrate <= 0 or frame_gap <= 0:
            raise DriverError(f"device {name!r}: baudrate and frame_gap must be positive")
        self.url = url
        self.baudrate = baudrate
        self.frame_gap = frame_gap
        self._framer = Framer(lines=lines, stx_etx=stx_etx, max_length=max_length)

    @abc.abstractmethod
    def _handle(self, frame: Frame) -> Event | None:
        """The event for one frame, or None after calling _reject() or _suppress()."""

    def _prepare(self) -> None:
        try:
            import serial  # noqa: F401  (lazy: the daemon imports drivers it does not use)
        except ImportError as err:
            raise DriverError(f"device {self.name!r} needs pyserial: {err}") from err

    def _open_port(self):  # -> serial.SerialBase
        import serial

        try:
            # exclusive: a second process reading the same scanner would steal half its bytes
            return serial.serial_for_url(self.url, baudrate=self.baudrate, timeout=0.1,
                                         exclusive=True if is_plain_path(self.url) else None)
        except (serial.SerialException, OSError, ValueError) as err:
            raise DeviceUnavailable(f"cannot open {self.url}: {err}") from err

    def _session(self) -> bool:
        import serial

        port = self._open_port()
        self._mark_connected(self.url)
        framer = self._framer
        last_byte_at = self._clock()
        try:
            while not self._stop.is_set():
                try:
                    data = port.read(max(1, port.in_waiting))
                except (serial.SerialException, OSError) as err:
                    raise DeviceUnavailable(f"{self.url}: {err}") from err
                now = self._clock()
                if framer.pending and now - last_byte_at > self.frame_gap:
                    partial = framer.reset()
                    if partial is not None:
                        self._reject("stale_partial", partial.data)
                if not data:
                    self._flush_reject_log()  # a burst of garbage that stopped is still summed up
                    continue
                last_byte_at = now
                self._publish(self._frames_to_events(framer.feed(data)))
            return False
        finally:
            partial = framer.reset()
            if partial is not None:
                self._reject("truncated", partial.data)
            try:
                port.close()
            except (serial.SerialException, OSError):
                pass  # the device is already gone; closing our end cannot fail in a way that matters

    def _frames_to_events(self, items: list[Frame | Rejected]) -> list[Event]:
        events: list[Event] = []
        for item in items:
            if isinstance(item, Rejected):
                self._reject(item.reason, item.data)
                continue
            event = self._handle(item)
            if event is not None:
                events.append(self._accepted_event(event))
        return events
