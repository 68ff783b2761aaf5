"""The print queue: documents waiting for, or printed on, the station's receipt printer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


class PrintJob(SQLModel, table=True):
    """One document for the printer; the daemon's printer worker moves it from queued to printed."""

    __tablename__ = "print_job"
    __table_args__ = (Index("ix_print_job_state", "state", "created_at"),
                      Index("ix_print_job_reference", "kind", "reference"))
    id: str = Field(primary_key=True)
    kind: str  # receipt, booking_slip, shift_report, test_page
    reference: str  # the receipt number, booking code, shift id or printer the document is of
    document: dict[str, Any] = Field(sa_column=Column(JsonText(), nullable=False))  # the Printout's JSON
    state: str  # queued, printing, printed, failed
    attempts: int = 0  # times it was sent to the printer
    last_error: str | None = None  # why the last attempt did not print (paper out, offline ...)
    device: str | None = None  # the printer that printed it
    requested_by: str  # the actor who asked for it
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    updated_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    printed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime(), nullable=True))
