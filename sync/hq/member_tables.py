"""HQ's member ledger: each member's profile and balances as HQ counts them, the station ledger
entries folded into them, and which stations know each member (they get its snapshots).
All derive from HqModel (HQ's own metadata)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, Index
from sqlmodel import Field

from sync.hq.models import HqModel


def _time() -> Any:
    return Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=False))


def _big(*, nullable: bool = False) -> Any:
    return Field(default=None if nullable else 0, sa_column=Column(BigInteger, nullable=nullable))


class HqMember(HqModel, table=True):
    """A member as HQ holds it: the profile from the latest member event (by HLC) and the
    balances, which are the sum of every station's points and prepaid entries."""

    __tablename__ = "hq_member"
    member_id: str = Field(primary_key=True)
    phone: str = Field(default="", index=True)  # "" until a member event brought the profile
    name: str = ""
    tier: str = ""
    profile_hlc: str = ""  # "{hlc}/{station}" of the member event the profile came from
    points: int = _big()
    prepaid_minor: int = _big()
    version: int = _big()  # +1 for every change folded in
    updated_at: datetime = _time()


class HqMemberEntry(HqModel, table=True):
    """A station's points or prepaid entry HQ has counted in the member's balance (once: the
    primary key). `reported_seq` is the member downlink seq of the last snapshot that listed it
    as counted to its station (None until one did)."""

    __tablename__ = "hq_member_entry"
    __table_args__ = (Index("ix_hq_member_entry_station", "station_id", "member_id"),)
    ledger: str = Field(primary_key=True)  # points / prepaid
    entry_id: str = Field(primary_key=True)
    station_id: str
    member_id: str
    event_type: str
    amount: int = _big()  # signed points or minor units
    reported_seq: int | None = _big(nullable=True)
    counted_at: datetime = _time()


class HqMemberStation(HqModel, table=True):
    """A station that has sent events about a member: it gets the member's snapshots."""

    __tablename__ = "hq_member_station"
    member_id: str = Field(primary_key=True)
    station_id: str = Field(primary_key=True)
    first_seen_at: datetime = _time()
