"""Staff accounts as the station keeps them: from its config and HQ's last copy."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from edge.store.types import UtcDateTime


class StaffRow(SQLModel, table=True):
    __tablename__ = "staff"
    id: str = Field(primary_key=True)
    name: str
    role: str  # edge.domain.permissions.Role
    card_id: str | None = Field(default=None, unique=True)
    pin_hash: str
    active: bool = True
    source: str  # config or hq: HQ's copy wins over the config's
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
