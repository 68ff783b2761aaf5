"""ANPR cameras that speak a line protocol over serial or TCP: plate, confidence and lane per line.

Two line shapes are accepted, so most cameras' "push plate over TCP/RS-485" modes fit:

    沪A12345,0.93,2                      delimited: plate, confidence[, lane]
    {"plate": "沪A12345", "confidence": 93, "lane": "2"}     JSON object

A confidence above 1 is read as a percentage. The plate is passed on as the camera sent
it (trimmed); normalising and matching it to a booking is the station's job
(`edge.domain.plates`), not the driver's. A TCP camera is a `socket://host:port` URL.
"""

from __future__ import annotations

import json
import math
import time

from drivers.base import Clock, WallClock, utc_now
from drivers.errors import DriverError
from drivers.events import PlateRead
from drivers.serial_lines import Frame, SerialLineSource, decode_text

# what cameras send for a vehicle without a readable plate
NO_PLATE = frozenset({"无牌", "无牌车", "无车牌", "_无_", "未识别", "NONE", "UNKNOWN", "NOPLATE", "-", "?"})
_MAX_PLATE = 16


class AnprReader(SerialLineSource):
    """`PlateRead` per line; malformed lines, no-plate reads and low confidence are counted rejections."""

    driver = "anpr"

    def __init__(self, name: str, *, url: str, baudrate: int = 9600, delimiter: str = ",",
                 lane: str = "", min_confidence: float = 0.0, encoding: str = "utf-8",
                 frame_gap: float = 1.0, reconnect_max: float = 1.0, clock: Clock = time.monotonic,
                 wall: WallClock = utc_now) -> None:
        super().__init__(name, url=url, baudrate=baudrate, lines=True, max_length=1024,
                         frame_gap=frame_gap, reconnect_max=reconnect_max, clock=clock, wall=wall)
        if not delimiter or delimiter in "{}\"":
            raise DriverError(f"device {name!r}: delimiter {delimiter!r} cannot split a line")
        if not 0.0 <= min_confidence <= 1.0:
            raise DriverError(f"device {name!r}: min_confidence must be within 0..1, not {min_confidence}")
        self.delimiter, self.default_lane, self.min_confidence = delimiter, lane, min_confidence
        self.encoding = encoding

    def _handle(self, frame: Frame) -> PlateRead | None:
        text = decode_text(frame.data, self.encoding)
        if text is None or not text.strip():
            self._reject("not_text", frame.data)
            return None
        fields = self._fields(text.strip())
        if fields is None:
            self._reject("malformed", text)
            return None
        plate, confidence_text, lane = fields
        plate = plate.strip()
        if plate.upper() in NO_PLATE:
            self._reject("no_plate", text)
            return None
        if not plate or len(plate) > _MAX_PLATE:
            self._reject("bad_plate", text)
            return None
        confidence = _confidence(confidence_text)
        if confidence is None:
            self._reject("bad_confidence", text)
            return None
        if confidence < self.min_confidence:
            self._reject("low_confidence", text)
            return None
        return PlateRead(plate=plate, confidence=confidence, lane=lane or self.default_lane,
                         device=self.name, at=self._wall())

    def _fields(self, text: str) -> tuple[str, object, str] | None:
        if text.startswith("{"):
            try:
                record = json.loads(text)
            except ValueError:
                return None
            if not isinstance(record, dict) or not isinstance(record.get("plate"), str):
                return None
            lane = record.get("lane", "")
            return record["plate"], record.get("confidence"), "" if lane is None else str(lane)
        parts = [part.strip() for part in text.split(self.delimiter)]
        if len(parts) not in (2, 3):
            return None
        return parts[0], parts[1], parts[2] if len(parts) == 3 else ""


def _confidence(value: object) -> float | None:
    """0..1, from a fraction or a percentage; None if it is not a number in 0..100."""
    if isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or not 0.0 <= number <= 100.0:
        return None
    return number / 100.0 if number > 1.0 else number
