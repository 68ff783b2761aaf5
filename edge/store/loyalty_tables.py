"""Tables of loyalty and money: points and prepaid ledgers, coupons, receipts, payments, invoices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


class MemberBalance(SQLModel, table=True):
    """What HQ last said a member holds (points, prepaid), and the member's growth this period.

    Local balance = this snapshot + this station's ledger entries HQ has not counted yet.
    """

    __tablename__ = "member_balance"
    member_id: str = Field(primary_key=True, foreign_key="member.id")
    points_snapshot: int = 0
    prepaid_snapshot_minor: int = 0
    snapshot_at: datetime | None = _time(nullable=True)
    growth: int = 0
    period_start: str = ""  # local date the tier period began, YYYY-MM-DD
    birthday: str | None = None  # MM-DD
    version: int = 1


class PointsEntry(SQLModel, table=True):
    """Append-only points ledger: earn (a lot that may expire), redeem, expire, adjust."""

    __tablename__ = "points_entry"
    __table_args__ = (Index("ix_points_member", "member_id", "created_at"),)
    id: str = Field(primary_key=True)
    member_id: str = Field(foreign_key="member.id")
    kind: str
    points: int  # signed: earn and positive adjustments add
    remaining: int = 0  # for earn lots: points not yet redeemed or expired
    expires_at: datetime | None = _time(nullable=True)
    receipt_id: str | None = None
    reason: str = ""
    counted_by_hq: bool = False
    created_at: datetime = _time()
    # set once the member was told this lot is about to expire
    expiry_reminded_at: datetime | None = _time(nullable=True)


class PrepaidEntry(SQLModel, table=True):
    """Append-only stored-value ledger: top_up, debit, refund, adjust."""

    __tablename__ = "prepaid_entry"
    __table_args__ = (Index("ix_prepaid_member", "member_id", "created_at"),)
    id: str = Field(primary_key=True)
    member_id: str = Field(foreign_key="member.id")
    kind: str
    amount_minor: int  # signed
    receipt_id: str | None = None
    reason: str = ""
    counted_by_hq: bool = False
    created_at: datetime = _time()


class CouponRow(SQLModel, table=True):
    __tablename__ = "coupon"
    code: str = Field(primary_key=True)
    member_id: str | None = Field(default=None, foreign_key="member.id", index=True)
    kind: str
    value: int
    service_code: str | None = None
    min_spend_minor: int = 0
    category: str | None = None
    min_tier: str | None = None
    valid_from: datetime = _time()
    valid_until: datetime = _time()
    state: str  # issued, redeemed, void
    source: str  # upgrade, compensation, hq, manual
    redeemed_receipt_id: str | None = None
    redeemed_at: datetime | None = _time(nullable=True)
    version: int = 1


class Receipt(SQLModel, table=True):
    """A checkout: every line and deduction, the price version, and its state."""

    __tablename__ = "receipt"
    __table_args__ = (Index("ix_receipt_created", "created_at"), Index("ix_receipt_booking", "booking_id"))
    id: str = Field(primary_key=True)
    number: str = Field(unique=True)  # printed on the receipt
    booking_id: str | None = Field(default=None, foreign_key="booking.id")
    member_id: str | None = Field(default=None, foreign_key="member.id")
    lines: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))
    subtotal_minor: int
    tier_discount_minor: int
    coupon_code: str | None = None
    coupon_discount_minor: int
    points_redeemed: int
    points_minor: int
    prepaid_minor: int
    remainder_minor: int
    total_minor: int
    currency: str
    price_version: str
    state: str  # paid, partly_refunded, refunded
    version: int = 1
    created_at: datetime = _time()
    deposit_minor: int = 0  # a booking's deposit applied to the bill
    cash_tendered_minor: int | None = None  # cash handed over, when change was given
    change_minor: int = 0


class InvoiceRequest(SQLModel, table=True):
    """An e-invoice the customer asked for; HQ issues it."""

    __tablename__ = "invoice_request"
    id: str = Field(primary_key=True)
    receipt_id: str = Field(foreign_key="receipt.id", index=True)
    buyer_name: str
    tax_id: str
    email: str = ""
    created_at: datetime = _time()


class Conflict(SQLModel, table=True):
    """Something the station and HQ disagree on, kept for a person to resolve."""

    __tablename__ = "conflict"
    id: str = Field(primary_key=True)
    kind: str
    entity_id: str
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JsonText(), nullable=False))
    created_at: datetime = _time()
    resolved_at: datetime | None = _time(nullable=True)
    resolution: str = ""


