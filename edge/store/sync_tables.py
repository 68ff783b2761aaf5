"""The station side of HQ sync: per-stream ack marks, applied downlink seqs, link state."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from edge.store.types import UtcDateTime


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(UtcDateTime(), nullable=nullable))


class SyncUplink(SQLModel, table=True):
    """HQ's cumulative ack of this station's outbox: every seq <= acked_upto of (epoch, stream) is at HQ."""

    __tablename__ = "sync_uplink"
    __table_args__ = {"sqlite_with_rowid": False}
    epoch: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    acked_upto: int = Field(default=0, sa_column_kwargs={"nullable": False})
    acked_at: datetime | None = _time(nullable=True)


class SyncDownlink(SQLModel, table=True):
    """The last message of HQ's per-station downlink log applied here, per stream."""

    __tablename__ = "sync_downlink"
    __table_args__ = {"sqlite_with_rowid": False}
    stream: str = Field(primary_key=True)
    applied_upto: int = Field(default=0, sa_column_kwargs={"nullable": False})
    applied_at: datetime | None = _time(nullable=True)


class SyncLink(SQLModel, table=True):
    """The link to HQ as the sync process last saw it (one row; absent until sync first ran).

    `seen_at` is refreshed while the process runs, so a killed process reads as offline.
    `state` is what the station last heard from HQ: online (HQ answers and sync moves), hq_silent
    (the broker is reachable but HQ has not answered lately), stalled (HQ answers but events or
    downlink wait without progress), offline (no broker connection).
    """

    __tablename__ = "sync_link"
    id: int = Field(default=1, primary_key=True)
    state: str
    changed_at: datetime = _time()
    seen_at: datetime = _time()
    last_ack_at: datetime | None = _time(nullable=True)
    last_error: str = ""
    heard_at: datetime | None = _time(nullable=True)  # the last verified message from HQ
    stalled_since: datetime | None = _time(nullable=True)  # work has waited without progress since
