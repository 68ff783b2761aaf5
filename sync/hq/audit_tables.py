"""HQ's copy of every station's audit trail, and the staff accounts HQ sends its stations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index
from sqlmodel import Field

from sync.hq.models import HqModel


class HqAuditEntry(HqModel, table=True):
    """One station's audit entry as the station hashed it (`at` kept as the hashed text), under
    (station, seq): a resent entry is the same row."""

    __tablename__ = "hq_audit_entry"
    __table_args__ = (Index("ix_hq_audit_action", "station_id", "action"),)
    station_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    at: str
    actor_id: str
    actor_name: str
    actor_kind: str
    terminal: str
    action: str
    entity: str
    entity_id: str
    before: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    after: Any = Field(default=None, sa_column=Column(JSON, nullable=True))
    authorised_by: str | None = None
    prev_hash: str
    hash: str
    received_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))


class HqStaff(HqModel, table=True):
    """A staff account HQ keeps for one station, or for the whole chain (station `*`)."""

    __tablename__ = "hq_staff"
    station_id: str = Field(primary_key=True)  # a station id, or * for every station
    staff_id: str = Field(primary_key=True)
    name: str
    role: str  # attendant, technician, manager
    card_id: str | None = None
    pin_hash: str
    active: bool = True
    updated_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
