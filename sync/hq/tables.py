"""HQ's sync tables: the inbox of station events, applied effects, ack marks, the downlink
log per station, alerts. All derive from HqModel (HQ's own metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Index, Text
from sqlmodel import Field

from sync.hq.models import HqModel


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _json() -> Any:
    return Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class HqStation(HqModel, table=True):
    """A station HQ has heard from: presence and last contact."""

    __tablename__ = "hq_station"
    station_id: str = Field(primary_key=True)
    presence: str = "unknown"  # online / offline, from the retained st/{sid}/status
    last_seen_at: datetime | None = _time(nullable=True)


class HqWorker(HqModel, table=True):
    """An HQ worker's own broker connection, refreshed while it runs: a station's presence is
    only news while some worker is connected to hear it."""

    __tablename__ = "hq_worker"
    worker: str = Field(primary_key=True)
    connected: bool = False
    seen_at: datetime = _time()


class HqStationEpoch(HqModel, table=True):
    """An epoch a station announced in a signed hello: events of other epochs are refused."""

    __tablename__ = "hq_station_epoch"
    station_id: str = Field(primary_key=True)
    epoch: str = Field(primary_key=True)
    announced_at: datetime = _time()


class HqInbox(HqModel, table=True):
    """Every station event received, keyed by where it sits in the station's stream."""

    __tablename__ = "hq_inbox"
    station_id: str = Field(primary_key=True)
    epoch: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    idem_key: str
    event: str = Field(sa_column=Column(Text, nullable=False))  # the event's canonical JSON
    digest: str  # SHA-256 of `event`: the same seq must come again with the same digest
    status: str = "pending"  # pending (waits for earlier seqs), applied, duplicate, rejected
    reason: str = ""
    received_at: datetime = _time()


class HqCursor(HqModel, table=True):
    """Per station/epoch/stream: the contiguous high-water mark applied (what acks say)."""

    __tablename__ = "hq_cursor"
    station_id: str = Field(primary_key=True)
    epoch: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    acked_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    head: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))  # station's last seq, as reported
    updated_at: datetime = _time()


class HqEvent(HqModel, table=True):
    """An applied station event: (station, idem_key) makes each of a station's business effects
    happen once. An idem_key names an effect only within its station (two stations may both
    write `member:M:v3`); a delivery is named by (station, epoch, stream, seq) in `hq_inbox`."""

    __tablename__ = "hq_event"
    station_id: str = Field(primary_key=True)
    idem_key: str = Field(primary_key=True)
    epoch: str
    stream: str
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    type: str
    entity_id: str
    hlc: str
    applied_at: datetime = _time()


class HqBooking(HqModel, table=True):
    """HQ's view of each station booking: its latest state by hybrid logical clock."""

    __tablename__ = "hq_booking"
    station_id: str = Field(primary_key=True)
    booking_id: str = Field(primary_key=True)
    state: str
    hlc: str
    events: int = 0  # effects applied to this booking (each event once)
    updated_at: datetime = _time()


class HqAlert(HqModel, table=True):
    """Something an operator must look at: a bad signature, a replay, an unknown epoch, poison."""

    __tablename__ = "hq_alert"
    id: int | None = Field(default=None, primary_key=True)
    station_id: str = ""
    kind: str  # bad_signature, seq_reused, unknown_epoch, poison, wrong_station (misaddressed), clock_ahead, ...
    detail: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = _time()


class HqDownlink(HqModel, table=True):
    """HQ's durable per-station downlink log: each stream numbered gap-free from 1."""

    __tablename__ = "hq_downlink"
    __table_args__ = (Index("ix_hq_downlink_entity", "station_id", "stream", "entity_id"),)
    station_id: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    type: str
    entity_id: str
    hlc: str
    body: dict[str, Any] = _json()
    created_at: datetime = _time()


class HqDownCursor(HqModel, table=True):
    """Per station and downlink stream: last seq written, what the station applied, what HQ
    has sent (and when), what was compacted away (a station behind that gets a snapshot)."""

    __tablename__ = "hq_down_cursor"
    station_id: str = Field(primary_key=True)
    stream: str = Field(primary_key=True)
    last_seq: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    applied_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    sent_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    compacted_upto: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    sent_at: datetime | None = _time(nullable=True)


class HqCatalog(HqModel, table=True):
    """A catalogue version HQ published (the body is what stations receive)."""

    __tablename__ = "hq_catalog"
    version: str = Field(primary_key=True)
    body: dict[str, Any] = _json()
    published_at: datetime = _time()
