"""Roster exceptions as stored: a technician's leave, sick day, extra shift or holiday hours on one date."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from edge.store.types import UtcDateTime


class RosterExceptionRecord(SQLModel, table=True):
    """At most one exception per technician and date (setting another replaces it)."""

    __tablename__ = "roster_exception"
    # the board and availability read one day's exceptions: the day leads the second index
    __table_args__ = (Index("ix_roster_exception_day", "day"), {"sqlite_with_rowid": False})
    technician_id: str = Field(primary_key=True, foreign_key="technician.id")
    day: str = Field(primary_key=True)  # station-local date, YYYY-MM-DD
    kind: str  # leave, sick, extra, hours
    start_minute: int | None = None  # local minutes since midnight; None for a day off
    end_minute: int | None = None
    note: str = ""
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
