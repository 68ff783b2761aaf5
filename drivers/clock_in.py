"""Technician clock-in readers: EM4100 STX/ETX frames (RDM6300 and kin) and decimal card-number lines.

EM4100 frame: STX, 10 ASCII hex digits (version byte + 4-byte id), 2 hex digits holding the
XOR of those 5 bytes, ETX. The reader repeats it about every 50 ms while the card is in the
field, so one presentation is reported once: a card counts as presented again only after
`release_after` seconds without a frame of it. The id reported is the number printed on
the card (bytes 2-5 in decimal, 10 digits), which is also what USB "keyboard" readers type,
so a technician's card id is the same whichever reader kind a station has.
"""

from __future__ import annotations

import time

from drivers.base import Clock, WallClock, utc_now
from drivers.errors import DriverError
from drivers.events import CardPresented
from drivers.serial_lines import Frame, SerialLineSource, decode_text

_HEX = frozenset("0123456789ABCDEFabcdef")


def em4100_card_id(payload: bytes, *, card_id_format: str = "decimal") -> str:
    """The card id of an EM4100 frame body (between STX and ETX); ValueError names what is wrong."""
    text = payload.decode("ascii", errors="replace").strip()  # some readers put CR LF before ETX
    if len(text) != 12 or not set(text) <= _HEX:
        raise ValueError("malformed")
    data = bytes.fromhex(text[:10])
    checksum = int(text[10:], 16)
    xor = 0
    for byte in data:
        xor ^= byte
    if xor != checksum:
        raise ValueError("bad_checksum")
    if card_id_format == "hex":
        return text[:10].upper()
    return f"{int.from_bytes(data[1:], 'big'):010d}"


class ClockInReader(SerialLineSource):
    """`CardPresented` once per presentation, from EM4100 frames or decimal lines on one port."""

    driver = "clock_in"

    def __init__(self, name: str, *, url: str, baudrate: int = 9600, card_id_format: str = "decimal",
                 release_after: float = 1.0, min_repeats: int = 1, frame_gap: float = 1.0,
                 reconnect_max: float = 1.0, clock: Clock = time.monotonic, wall: WallClock = utc_now) -> None:
        super().__init__(name, url=url, baudrate=baudrate, lines=True, stx_etx=True, max_length=64,
                         frame_gap=frame_gap, reconnect_max=reconnect_max, clock=clock, wall=wall)
        if card_id_format not in ("decimal", "hex"):
            raise DriverError(f"device {name!r}: card_id_format must be 'decimal' or 'hex', not {card_id_format!r}")
        if release_after <= 0 or min_repeats < 1:
            raise DriverError(f"device {name!r}: release_after must be > 0 and min_repeats >= 1")
        self.card_id_format = card_id_format
        self.release_after = release_after
        # cheap readers emit ghost ids that pass the XOR check; min_repeats=2 waits for a second frame
        self.min_repeats = min_repeats
        self._current: str | None = None
        self._seen_at = 0.0
        self._repeats = 0

    def _handle(self, frame: Frame) -> CardPresented | None:
        if frame.kind == "stx":
            try:
                card_id = em4100_card_id(frame.data, card_id_format=self.card_id_format)
            except ValueError as err:
                self._reject(str(err), frame.data)
                return None
            return self._presented(card_id, repeats_needed=self.min_repeats)
        text = decode_text(frame.data, "ascii")
        text = text.strip() if text is not None else ""
        if not text.isdigit() or len(text) > 20:
            self._reject("not_a_card_number", frame.data)
            return None
        # keyboard-style readers type the printed 10-digit number; a shorter one is the same card
        return self._presented(text.zfill(10), repeats_needed=1)

    def _presented(self, card_id: str, *, repeats_needed: int) -> CardPresented | None:
        now = self._clock()
        same = card_id == self._current and now - self._seen_at < self.release_after
        self._seen_at = now
        if not same:
            self._current, self._repeats = card_id, 0
        self._repeats += 1
        if self._repeats != repeats_needed:
            if self._repeats > repeats_needed:
                self._suppress()
            return None
        return CardPresented(card_id=card_id, device=self.name, at=self._wall())
