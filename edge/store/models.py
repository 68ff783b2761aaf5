"""The station database's tables (SQLModel); Alembic migrations own how they change."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time(**kwargs: Any) -> Any:
    nullable = kwargs.pop("nullable", False)
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable, **kwargs))


def _booking_ref() -> Any:
    # checked at commit: a booking claims its cells before its own row is written
    return Field(sa_column=Column(String, ForeignKey("booking.id", deferrable=True, initially="DEFERRED"), nullable=False))


def _json(default: Any) -> Any:
    return Field(default_factory=lambda: type(default)(default), sa_column=Column(JsonText(), nullable=False))


class Node(SQLModel, table=True):
    """This station's identity: one row. The epoch is new whenever the database is created."""

    __tablename__ = "node"
    id: int = Field(default=1, primary_key=True)
    station_id: str
    epoch: str
    created_at: datetime = _time()
    catalog_version: str = ""
    hlc_wall_ms: int = 0
    hlc_logical: int = 0


class Bay(SQLModel, table=True):
    __tablename__ = "bay"
    id: str = Field(primary_key=True)
    name: str
    kind: str
    services: list[str] = _json([])
    position: int = 0
    # live state: a broken lift is out of service until repaired (set by staff or devices)
    in_service: bool = True
    # in the config: a bay removed from the config is kept for its bookings, but not offered
    active: bool = True


class ServiceItem(SQLModel, table=True):
    __tablename__ = "service_item"
    code: str = Field(primary_key=True)
    name_zh: str
    name_en: str
    category: str
    duration_minutes: int
    buffer_minutes: int = 0
    price_minor: int
    skill: str | None = None
    bay_kinds: list[str] = _json([])
    materials: dict[str, int] = _json({})
    interval_days: int | None = None
    interval_km: int | None = None
    # size class -> {"duration_minutes", "price_minor"}, for the classes that differ from the item's own
    by_size: dict[str, dict[str, int]] = _json({})
    active: bool = True


class Package(SQLModel, table=True):
    __tablename__ = "package"
    code: str = Field(primary_key=True)
    name_zh: str
    name_en: str
    services: list[str] = _json([])
    price_minor: int
    active: bool = True


class Technician(SQLModel, table=True):
    __tablename__ = "technician"
    id: str = Field(primary_key=True)
    name: str
    skills: list[str] = _json([])
    card_id: str | None = Field(default=None, unique=True)
    active: bool = True


class RosterShift(SQLModel, table=True):
    """One weekly shift of a technician, in local wall-clock minutes."""

    __tablename__ = "roster_shift"
    id: int | None = Field(default=None, primary_key=True)
    technician_id: str = Field(foreign_key="technician.id", index=True)
    weekday: int  # 0 = Monday
    start_minute: int
    end_minute: int


class Member(SQLModel, table=True):
    __tablename__ = "member"
    id: str = Field(primary_key=True)
    phone: str = Field(unique=True)
    name: str = ""
    tier: str
    credit_score: int
    version: int = 1
    created_at: datetime = _time()
    updated_at: datetime = _time()


class Vehicle(SQLModel, table=True):
    __tablename__ = "vehicle"
    # a member's cars are looked up by member; a walk-in's plate (no member) stays out of that index
    __table_args__ = (
        Index("ix_vehicle_member_id", "member_id", sqlite_where=text("member_id IS NOT NULL")),
        {"sqlite_with_rowid": False},
    )
    plate: str = Field(primary_key=True)
    member_id: str | None = Field(default=None, foreign_key="member.id")
    model: str = ""
    mileage_km: int | None = None
    created_at: datetime = _time()
    size_class: str | None = None  # one of [booking] size_classes; None: not known, the default class


class Booking(SQLModel, table=True):
    __tablename__ = "booking"
    __table_args__ = (
        Index("ix_booking_plate_start", "plate", "start_at"),
        Index("ix_booking_start", "start_at"),
        # only holds are ever swept: confirmed bookings never touch this index
        Index("ix_booking_hold", "hold_until", sqlite_where=text("state = 'held'")),
        # one car per bay: at most one booking in a bay at a time (edge.services.one_car_per_bay)
        Index("ux_booking_one_car_in_bay", "bay_id", unique=True, sqlite_where=text(
            "state IN ('checked_in', 'in_service')"
            " AND progress IN ('in_bay', 'in_service', 'waiting_parts', 'quality_check')")),
        # keyed by its id alone: each booking writes one B-tree fewer
        {"sqlite_with_rowid": False},
    )
    id: str = Field(primary_key=True)
    code: str = Field(unique=True)
    plate: str
    member_id: str | None = Field(default=None, foreign_key="member.id")
    channel: str
    state: str
    progress: str | None = None
    bay_id: str = Field(foreign_key="bay.id")
    technician_id: str | None = Field(default=None, foreign_key="technician.id")
    start_at: datetime = _time()
    end_at: datetime = _time()
    services: list[str] = _json([])
    package_code: str | None = None
    price_minor: int
    currency: str
    price_version: str
    hold_until: datetime | None = _time(nullable=True)
    notes: str = ""
    reason: str = ""
    version: int = 1
    created_at: datetime = _time()
    updated_at: datetime = _time()
    # a fleet booked this car for overlapping work on purpose (one live booking per car otherwise)
    overlap_allowed: bool = False
    # the leg the car is on (booking_leg.seq); bay_id and technician_id are that leg's
    leg: int = 0


class BookingLeg(SQLModel, table=True):
    """One leg of a booking: its services on one bay, its technician, its time. Every booking has
    at least one; its cells are the slot_claim rows of the leg's bay from the leg's start."""

    __tablename__ = "booking_leg"
    __table_args__ = {"sqlite_with_rowid": False}
    booking_id: str = Field(sa_column=Column(String, ForeignKey("booking.id"), primary_key=True))
    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    bay_id: str = Field(foreign_key="bay.id")
    technician_id: str | None = Field(default=None, foreign_key="technician.id")
    start_at: datetime = _time()
    end_at: datetime = _time()  # the work's end; the bay's turnover buffer follows it
    services: list[str] = _json([])


class SlotClaim(SQLModel, table=True):
    """One (bay, cell) a live booking occupies. The primary key makes double booking impossible."""

    __tablename__ = "slot_claim"
    # the key is the row, and a booking's claims are found by its bay and start, not by an
    # index on booking_id: a booking writes two B-trees fewer
    __table_args__ = {"sqlite_with_rowid": False}
    bay_id: str = Field(sa_column=Column(String, ForeignKey("bay.id"), primary_key=True))
    slot_start: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    booking_id: str = _booking_ref()
    # set while the booking is only held: a lapsed hold's claim may be taken over
    hold_until: datetime | None = _time(nullable=True)


class TechnicianClaim(SQLModel, table=True):
    """One (technician, cell) assigned to a booking: a technician serves one car at a time."""

    __tablename__ = "technician_claim"
    __table_args__ = {"sqlite_with_rowid": False}
    technician_id: str = Field(sa_column=Column(String, ForeignKey("technician.id"), primary_key=True))
    slot_start: datetime = Field(sa_column=Column(UtcDateTime(), primary_key=True))
    booking_id: str = _booking_ref()


class BookingToken(SQLModel, table=True):
    """A booking's token generation, raised by every reschedule: its earlier QR tokens are stale.

    A booking without a row is at generation 0, so booking and checking in write nothing here.
    """

    __tablename__ = "booking_token"
    __table_args__ = {"sqlite_with_rowid": False}
    booking_id: str = Field(sa_column=Column(String, ForeignKey("booking.id"), primary_key=True))
    generation: int


class Outbox(SQLModel, table=True):
    """An event HQ must learn about, written in the same transaction as the change itself."""

    __tablename__ = "outbox"
    # keyed by the idempotency key, which must never repeat (HQ would drop the second event);
    # sync drains each stream by seq from its acked_upto mark, through the unique index, and a
    # new event's seq is the stream's highest + 1, read through it too (rows are never deleted)
    __table_args__ = (
        UniqueConstraint("epoch", "stream", "seq", name="uq_outbox_stream_seq"),
        {"sqlite_with_rowid": False},
    )
    idem_key: str = Field(primary_key=True)
    id: str  # UUIDv7 message id, unique by construction
    epoch: str
    stream: str
    seq: int
    type: str
    entity_id: str
    hlc: str
    body: dict[str, Any] = _json({})
    created_at: datetime = _time()
    acked_at: datetime | None = _time(nullable=True)


class WaitlistEntry(SQLModel, table=True):
    """A customer's wish for a full day: offered a hold automatically when a fitting slot frees."""

    __tablename__ = "waitlist_entry"
    __table_args__ = (Index("ix_waitlist_day_state", "day", "state"),)
    id: str = Field(primary_key=True)
    plate: str
    phone: str = ""
    member_id: str | None = Field(default=None, foreign_key="member.id")
    services: list[str] = _json([])
    day: str  # station-local date, YYYY-MM-DD
    window_start: datetime = _time()
    window_end: datetime = _time()
    state: str  # waiting, offered, cancelled
    offered_booking_id: str | None = Field(default=None, foreign_key="booking.id")
    version: int = 1
    created_at: datetime = _time()
    updated_at: datetime = _time()


class Material(SQLModel, table=True):
    """A stocked material and its balance; the balance changes only with a stock_movement row."""

    __tablename__ = "material"
    sku: str = Field(primary_key=True)
    name_zh: str
    name_en: str
    unit: str
    reorder_level: int
    on_hand: int  # may be negative: consumption is recorded even when the books say none is left
    # when the open low-stock episode began (its alert was sent); NULL while above the reorder level
    low_since: datetime | None = _time(nullable=True)
    # in the config: a material removed from the config is kept for its movements, but not offered
    active: bool = True
    version: int = 0  # bumped by every change HQ learns of: each movement, and a low-stock alert
    updated_at: datetime = _time()


class StockMovement(SQLModel, table=True):
    """One change of a material's stock: in, out (by hand or consumed by a booking), or a counted adjustment."""

    __tablename__ = "stock_movement"
    # history is read newest first by rowid (the order the balances were computed in), and an
    # index on sku alone keeps its entries in (sku, rowid) order: one SKU's history needs no sort
    __table_args__ = (Index("ix_stock_movement_sku", "sku"),)
    id: str = Field(primary_key=True)  # UUIDv7
    sku: str = Field(foreign_key="material.sku")
    kind: str  # in, out, adjust
    quantity: int  # signed: + into stock, - out of it
    on_hand_after: int
    reason: str
    booking_id: str | None = Field(default=None, foreign_key="booking.id")
    created_at: datetime = _time()


TABLES = SQLModel.metadata


# the tables of later areas live in modules of their own; importing them registers them here
from edge.store import (  # noqa: E402,F401
    audit_tables,
    checkout_tables,
    delivery_tables,
    device_tables,
    enterprise_tables,
    escrow_tables,
    found_work_tables,
    ledger_tables,
    loyalty_tables,
    notification_tables,
    roster_tables,
    staff_tables,
    sync_tables,
)
