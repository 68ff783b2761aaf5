"""HQ's record of the stations' shift closes: each terminal's counted drawer and its variance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index
from sqlmodel import Field

from sync.hq.models import HqModel


class HqShiftClose(HqModel, table=True):
    """A shift a station closed (its `shift.closed` event): one row per (station, shift), kept once."""

    __tablename__ = "hq_shift_close"
    __table_args__ = (Index("ix_hq_shift_close_closed", "closed_at"),)
    station_id: str = Field(primary_key=True)
    shift_id: str = Field(primary_key=True)
    terminal: str
    opened_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    closed_by: str = ""
    currency: str = ""
    float_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    expected_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    counted_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    variance_minor: int = Field(sa_column=Column(BigInteger, nullable=False))
    note: str = ""
    report: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # the Z report
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
