"""Checkout records beside the money ledger: extra parts a manager waived."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


class PartsWaiver(SQLModel, table=True):
    """A booking's extra parts (from its service report) not billed, on a manager's word."""

    __tablename__ = "parts_waiver"
    booking_id: str = Field(primary_key=True, foreign_key="booking.id")
    parts: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))
    reason: str
    authorised_by: str
    operator_id: str
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
