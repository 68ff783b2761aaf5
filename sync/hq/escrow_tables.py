"""HQ's slot-escrow tables: per-station split settings and fencing counter, cells moved or moving
by lease, HQ's claims on cells, the bookings HQ decided or asked about and their legs, and its leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, DateTime, Integer, String
from sqlmodel import Field

from sync.hq.models import HqModel


def _time(*, nullable: bool = False) -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=nullable))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(default), sa_column=Column(JSON, nullable=False))


def _cell() -> Any:
    # cells are kept as the station keeps them: 'YYYY-MM-DDTHH:MM:SSZ' text, so both sides name them alike
    return Field(sa_column=Column(String(20), primary_key=True))


class HqEscrowStation(HqModel, table=True):
    """How a station's cells are split with HQ (the same numbers as the station's [escrow]),
    and the last fencing token HQ gave out for it."""

    __tablename__ = "hq_escrow_station"
    station_id: str = Field(primary_key=True)
    hq_permille: int = 0
    block_minutes: int = 120
    slot_minutes: int = 30
    near_term_hours: int = 4
    last_token: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    updated_at: datetime = _time()


class HqEscrowCell(HqModel, table=True):
    """A cell whose owner a lease moved or is moving; other cells follow the split rule."""

    __tablename__ = "hq_escrow_cell"
    station_id: str = Field(primary_key=True)
    bay_id: str = Field(primary_key=True)
    slot_start: str = _cell()
    owner: str  # station, hq
    state: str  # held, granting (given to the station, ack awaited), revoking (asked back, ack awaited)
    token: int = Field(default=0, sa_column=Column(BigInteger, nullable=False))
    lease_id: str
    updated_at: datetime = _time()


class HqEscrowClaim(HqModel, table=True):
    """A cell HQ has sold or promised: the primary key makes HQ's own double booking impossible."""

    __tablename__ = "hq_escrow_claim"
    station_id: str = Field(primary_key=True)
    bay_id: str = Field(primary_key=True)
    slot_start: str = _cell()
    booking_id: str = Field(index=True)


class HqEscrowBooking(HqModel, table=True):
    """An app booking HQ made, or a station's tentative booking HQ decided on."""

    __tablename__ = "hq_escrow_booking"
    station_id: str = Field(primary_key=True)
    booking_id: str = Field(primary_key=True)
    origin: str  # app, station
    bay_id: str
    cells: list[str] = _json([])
    services: list[str] = _json([])
    plate: str = ""
    state: str  # confirmed, tentative, rejected, cancelled
    reason: str = ""
    created_at: datetime = _time()
    updated_at: datetime = _time()


class HqEscrowLeg(HqModel, table=True):
    """One leg of a booking in hq_escrow_booking: a bay and its cells, in the booking's order (the
    booking row names the first leg's, as HQs before legs did)."""

    __tablename__ = "hq_escrow_leg"
    station_id: str = Field(primary_key=True)
    booking_id: str = Field(primary_key=True)
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))  # 0 = the first leg
    bay_id: str
    cells: list[str] = _json([])


class HqLease(HqModel, table=True):
    """A lease HQ sent a station, with its fencing token and what the station's ack said."""

    __tablename__ = "hq_lease"
    lease_id: str = Field(primary_key=True)
    station_id: str = Field(index=True)
    kind: str  # grant, revoke
    bay_id: str
    cells: list[str] = _json([])
    token: int = Field(sa_column=Column(BigInteger, nullable=False))
    state: str = "sent"  # sent, acked
    applied: list[str] = _json([])
    refused: dict[str, str] = _json({})
    created_at: datetime = _time()
    acked_at: datetime | None = _time(nullable=True)
