"""The money ledger and the shifts whose cash drawer it counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, text
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


class LedgerEntry(SQLModel, table=True):
    """One posting of a balanced money transaction (edge.domain.money_ledger); append-only."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        Index("ix_ledger_created", "created_at"),
        Index("ix_ledger_txn", "txn_id"),
        Index("ix_ledger_receipt", "receipt_id"),
        Index("ix_ledger_shift", "shift_id"),
    )
    id: str = Field(primary_key=True)
    txn_id: str  # the postings of one movement share it
    kind: str  # edge.domain.money_ledger.Kind
    account: str  # edge.domain.money_ledger.Account
    detail: str = ""
    amount_minor: int  # signed
    line_code: str | None = None
    quantity: int = 0
    receipt_id: str | None = Field(default=None, foreign_key="receipt.id")
    booking_id: str | None = None
    member_id: str | None = None
    shift_id: str | None = Field(default=None, foreign_key="shift.id")
    terminal: str
    operator_id: str
    authorised_by: str | None = None
    reference: str = ""
    reason: str = ""
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))


class Shift(SQLModel, table=True):
    """A terminal's working period with its cash drawer; at most one open per terminal."""

    __tablename__ = "shift"
    __table_args__ = (
        Index("ux_shift_open_terminal", "terminal", unique=True, sqlite_where=text("closed_at IS NULL")),
        Index("ix_shift_opened", "opened_at"),
    )
    id: str = Field(primary_key=True)
    terminal: str
    opened_by: str
    opened_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    float_minor: int
    closed_by: str | None = None
    closed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
    counted_minor: int | None = None
    denominations: dict[str, Any] | None = Field(default=None, sa_column=Column(JsonText(), nullable=True))
    expected_minor: int | None = None
    variance_minor: int | None = None
    note: str = ""
