"""The audit trail: who did what, when and where, before and after, and who authorised it; hash-chained."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from edge.store.types import UtcDateTime


class AuditEntry(SQLModel, table=True):
    """One entry of the append-only trail (edge.domain.audit); rows are never updated or deleted."""

    __tablename__ = "audit_entry"
    # one index beside seq: every booking transition writes an entry, and each index is a write
    # more on that path; lists are read newest first by seq, an entity's history through its index
    __table_args__ = (Index("ix_audit_entity", "entity", "entity_id"),)
    seq: int = Field(primary_key=True)  # 1, 2, 3 ... without gaps
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor_id: str
    actor_name: str
    actor_kind: str  # edge.domain.permissions.ActorKind
    terminal: str
    action: str  # e.g. checkout, refund, stock.adjust, staff.sign_in
    entity: str
    entity_id: str
    before: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))  # canonical JSON
    after: str | None = Field(default=None, sa_column=Column(Text(), nullable=True))  # canonical JSON
    authorised_by: str | None = None
    prev_hash: str
    hash: str
