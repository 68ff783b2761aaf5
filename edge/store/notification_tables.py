"""The once-only marks of timed notifications: a reminder or alert sent is never sent again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from edge.store.types import UtcDateTime


def _time() -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=False))


class NotificationSent(SQLModel, table=True):
    """(booking, kind) marks: the primary key makes each reminder happen once, across restarts."""

    __tablename__ = "notification_sent"
    __table_args__ = {"sqlite_with_rowid": False}
    booking_id: str = Field(primary_key=True, foreign_key="booking.id")
    kind: str = Field(primary_key=True)  # reminder_day_before, reminder_2h, late_alert
    due_at: datetime = _time()
    sent_at: datetime = _time()
