"""Live device state kept for the UI and capacity: bay occupancy, technicians clocked in, device health, attendant prompts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable))


class BayLiveRecord(SQLModel, table=True):
    """A bay's occupancy as its sensor last reported it; a bay without a row has no sensor data."""

    __tablename__ = "bay_live"
    __table_args__ = {"sqlite_with_rowid": False}
    bay_id: str = Field(primary_key=True, foreign_key="bay.id")
    occupancy: str  # free, occupied, unknown (sensor silent past its timeout)
    since: datetime | None = _time(nullable=True)  # when the bay entered this occupancy
    source: str | None = None  # the sensor device that reported it
    stuck: bool = False  # the sensor has read the same value for too long
    stuck_since: datetime | None = _time(nullable=True)
    updated_at: datetime = _time()


class PresenceRecord(SQLModel, table=True):
    """One stay of a technician at the station, from clock-in to clock-out (open while present)."""

    __tablename__ = "technician_presence"
    __table_args__ = (Index("ix_technician_presence_tech_in", "technician_id", "clocked_in_at"),
                      Index("ix_technician_presence_in", "clocked_in_at"))
    id: int | None = Field(default=None, primary_key=True)
    technician_id: str = Field(foreign_key="technician.id")
    card_id: str
    device: str  # the reader the card was presented to ("terminal" when clocked by hand)
    clocked_in_at: datetime = _time()
    clocked_out_at: datetime | None = _time(nullable=True)


class DeviceHealthRecord(SQLModel, table=True):
    """The daemon's view of one configured device, rewritten every few seconds and on change."""

    __tablename__ = "device_health"
    __table_args__ = {"sqlite_with_rowid": False}
    device_id: str = Field(primary_key=True)
    driver: str
    role: str
    connected: bool
    last_event_at: datetime | None = _time(nullable=True)
    last_error: str | None = None
    accepted: int = 0  # frames that became events
    rejected: int = 0  # garbage frames, failed polls, and events the station refused (forged tokens, unknown cards)
    # the rejected count by reason, e.g. {"not_text": 312, "token_expired": 2}; NULL before the daemon counted them
    rejects_by_reason: dict[str, int] | None = Field(default=None, sa_column=Column(JsonText(), nullable=True))
    # the last time the device came back after a loss (or the daemon restarted): scans meanwhile were lost
    reconnected_at: datetime | None = _time(nullable=True)
    condition: str | None = None  # connected but unfit for work: a printer's paper_out
    updated_at: datetime = _time()


class PlatePromptRecord(SQLModel, table=True):
    """A plate read that looks like an expected car but not exactly: the attendant confirms or dismisses it."""

    __tablename__ = "plate_prompt"
    # open prompts are listed by the terminal all day: the partial index holds only those
    __table_args__ = (Index("ix_plate_prompt_open", "created_at", sqlite_where=text("resolved_at IS NULL")),)
    id: str = Field(primary_key=True)  # UUIDv7
    plate_read: str
    confidence: float
    device: str
    candidates: list[Any] = Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))
    created_at: datetime = _time()
    resolved_at: datetime | None = _time(nullable=True)
    resolution: str | None = None  # checked_in, dismissed
    booking_id: str | None = Field(default=None, foreign_key="booking.id")  # the booking confirmed
