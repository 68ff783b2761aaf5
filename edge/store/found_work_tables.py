"""Work found during service as stored: a service added to a booking in progress, and its approval."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


class FoundWorkRecord(SQLModel, table=True):
    """One service added to a booking while the car was in: where its cells are and who decided."""

    __tablename__ = "found_work"
    # a booking's added work is read with the booking; pending work is swept by its deadline
    __table_args__ = (Index("ix_found_work_booking", "booking_id"), Index("ix_found_work_state", "state", "hold_until"))
    id: str = Field(primary_key=True)
    booking_id: str = Field(foreign_key="booking.id")
    service_code: str
    state: str  # pending, approved, refused, lapsed
    placement: str  # extended (the current leg), new_leg (later that day), follow_up (another booking)
    bay_id: str | None = Field(default=None, foreign_key="bay.id")  # the cells' bay (not for a follow-up)
    technician_id: str | None = Field(default=None, foreign_key="technician.id")
    cells: list[str] = Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))
    follow_up_booking_id: str | None = Field(default=None, foreign_key="booking.id")
    price_minor: int
    added_by: str
    added_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    hold_until: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
