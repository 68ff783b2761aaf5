"""Slot escrow: which node owns a (bay, cell) and the leases that moved ownership."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, String
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time() -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False))


class EscrowCell(SQLModel, table=True):
    """A cell a lease moved, with the fencing token it came by; other cells follow the split rule."""

    __tablename__ = "escrow_cell"
    __table_args__ = {"sqlite_with_rowid": False}
    bay_id: str = Field(sa_column=Column(String, primary_key=True))
    slot_start: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    owner: str  # station, hq
    token: int
    lease_id: str
    updated_at: datetime = _time()


class EscrowLease(SQLModel, table=True):
    """Every lease message HQ sent, as received, and what it did to each of its cells."""

    __tablename__ = "escrow_lease"
    id: str = Field(primary_key=True)  # HQ's lease id
    kind: str  # grant, revoke
    bay_id: str
    token: int
    applied: list[str] = Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))
    refused: dict[str, str] = Field(default_factory=dict, sa_column=Column(JsonText(), nullable=False))
    received_at: datetime = _time()
