"""Tables of enterprise (fleet) accounts: see edge/services/enterprise.py.

Accounts, sub-accounts, fleet vehicles, packages and approval rules are HQ's (docs/protocol.md, "Authority");
the station keeps a copy. Fleet bookings, approval requests and decisions, and charges
on account are the station's own facts.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


def _json_list() -> Any:
    return Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))


class EnterpriseAccount(SQLModel, table=True):
    """A verified company with a credit limit.

    Outstanding = what HQ last said the company owes + this station's charges HQ has not counted yet.
    """

    __tablename__ = "enterprise_account"
    id: str = Field(primary_key=True)  # HQ's id for the company
    name: str
    tax_id: str
    verified: bool = False
    credit_limit_minor: int
    approval_hours: int = 24
    outstanding_snapshot_minor: int = 0
    snapshot_at: datetime | None = _time(nullable=True)
    active: bool = True
    version: int = 1
    updated_at: datetime = _time()


class EnterpriseSubAccount(SQLModel, table=True):
    """A driver or employee acting for the enterprise: role, permissions, monthly spending limit."""

    __tablename__ = "enterprise_sub_account"
    __table_args__ = (UniqueConstraint("enterprise_id", "phone", name="uq_enterprise_sub_account_phone"),)
    id: str = Field(primary_key=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id")
    phone: str
    name: str = ""
    role: str
    permissions: list[str] = _json_list()
    monthly_limit_minor: int | None = None
    active: bool = True
    updated_at: datetime = _time()


class EnterpriseVehicle(SQLModel, table=True):
    """A plate of the enterprise's fleet (one enterprise at a time)."""

    __tablename__ = "enterprise_vehicle"
    plate: str = Field(primary_key=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id", index=True)
    active: bool = True
    updated_at: datetime = _time()


class EnterprisePackage(SQLModel, table=True):
    """Services agreed with one enterprise at a fixed price, a number of times per vehicle and period."""

    __tablename__ = "enterprise_package"
    enterprise_id: str = Field(foreign_key="enterprise_account.id", primary_key=True)
    code: str = Field(primary_key=True)
    name: str = ""
    services: list[str] = _json_list()
    price_minor: int
    max_uses: int | None = None
    period: str = "year"  # month, quarter, year
    active: bool = True
    updated_at: datetime = _time()


class ApprovalRule(SQLModel, table=True):
    """Bookings of a category above an amount need this role's approval."""

    __tablename__ = "approval_rule"
    id: str = Field(primary_key=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id", index=True)
    category: str  # a service category, or '*'
    above_minor: int
    approver_role: str
    expiry_hours: int | None = None
    active: bool = True
    updated_at: datetime = _time()


class EnterpriseBooking(SQLModel, table=True):
    """A booking made by a sub-account on the enterprise's account."""

    __tablename__ = "enterprise_booking"
    # a sub-account's monthly spending is summed through this index
    __table_args__ = (Index("ix_enterprise_booking_sub_month", "sub_account_id", "month"),)
    booking_id: str = Field(foreign_key="booking.id", primary_key=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id")
    sub_account_id: str = Field(foreign_key="enterprise_sub_account.id")
    package_code: str | None = None  # the enterprise package booked, if any
    amount_minor: int
    month: str  # station-local month of the booking's start, YYYY-MM
    created_at: datetime = _time()


class ApprovalRequest(SQLModel, table=True):
    """A fleet booking waiting for its approvers; state: pending, approved, rejected, expired, withdrawn."""

    __tablename__ = "approval_request"
    __table_args__ = (
        # only pending requests are ever swept for expiry
        Index("ix_approval_request_pending", "expires_at", sqlite_where=text("state = 'pending'")),
    )
    id: str = Field(primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", unique=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id", index=True)
    sub_account_id: str = Field(foreign_key="enterprise_sub_account.id")
    amount_minor: int
    categories: list[str] = _json_list()
    required_roles: list[str] = _json_list()
    state: str
    expires_at: datetime = _time()
    reason: str = ""
    version: int = 1
    created_at: datetime = _time()
    updated_at: datetime = _time()


class ApprovalDecision(SQLModel, table=True):
    """One approver's yes or no, at the terminal or relayed by HQ."""

    __tablename__ = "approval_decision"
    id: str = Field(primary_key=True)  # HQ's id when HQ relays it: a repeat is recognised
    request_id: str = Field(foreign_key="approval_request.id", index=True)
    sub_account_id: str = Field(foreign_key="enterprise_sub_account.id")
    role: str
    approved: bool
    reason: str = ""
    channel: str  # terminal, hq
    created_at: datetime = _time()


class EnterpriseCharge(SQLModel, table=True):
    """Money put on the enterprise's account at checkout (positive), or given back by a refund (negative)."""

    __tablename__ = "enterprise_charge"
    __table_args__ = (
        Index("ix_enterprise_charge_month", "enterprise_id", "month"),
        Index("ix_enterprise_charge_sub_month", "sub_account_id", "month"),
        Index("ix_enterprise_charge_booking", "booking_id"),
    )
    id: str = Field(primary_key=True)
    enterprise_id: str = Field(foreign_key="enterprise_account.id")
    sub_account_id: str | None = Field(default=None, foreign_key="enterprise_sub_account.id")
    booking_id: str | None = Field(default=None, foreign_key="booking.id")
    receipt_id: str = Field(foreign_key="receipt.id")
    kind: str  # charge, refund
    amount_minor: int
    month: str  # station-local month of the charge, YYYY-MM
    reason: str = ""
    counted_by_hq: bool = False
    created_at: datetime = _time()
