"""The typed events device sources yield; plain frozen dataclasses, no edge imports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias

OccupancyState: TypeAlias = Literal["occupied", "free", "unknown"]


@dataclass(frozen=True, slots=True)
class CodeScanned:
    """A QR or barcode read by a serial scanner or a camera (the text as scanned)."""

    code: str
    device: str
    at: datetime


@dataclass(frozen=True, slots=True)
class PlateRead:
    """A licence plate from an ANPR camera, as the camera sent it (not yet normalised)."""

    plate: str
    confidence: float  # 0.0-1.0; cameras sending percentages are scaled down
    lane: str
    device: str
    at: datetime


@dataclass(frozen=True, slots=True)
class BayOccupancy:
    """A bay's debounced state changed; `raw` is the reading that settled it (None if silent)."""

    bay: str
    state: OccupancyState
    raw: float | bool | None
    device: str
    at: datetime


@dataclass(frozen=True, slots=True)
class CardPresented:
    """A technician's card was presented (once per presentation, however long it is held)."""

    card_id: str
    device: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DeviceAlarm:
    """A device fault worth a person's attention, raised (active) and later cleared."""

    device: str
    alarm: str  # "stuck": the same reading for too long
    active: bool
    detail: str
    at: datetime
    bay: str | None = None


Event: TypeAlias = CodeScanned | PlateRead | BayOccupancy | CardPresented | DeviceAlarm
