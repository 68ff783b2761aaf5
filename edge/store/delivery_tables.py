"""Tables of service delivery: service reports, feedback and its requests, complaints, disruptions, bay outages."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, Index
from sqlmodel import Field, SQLModel

from edge.store.types import JsonText, UtcDateTime


def _time(nullable: bool = False) -> Any:
    return Field(sa_column=Column(UtcDateTime(), nullable=nullable))


def _json() -> Any:
    return Field(default_factory=list, sa_column=Column(JsonText(), nullable=False))


class ServiceReport(SQLModel, table=True):
    """What was done to a car on a completed booking, and when it is due again."""

    __tablename__ = "service_report"
    # a car's history (odometer readings, last time of each service) is read by plate, in time order
    __table_args__ = (Index("ix_service_report_plate", "plate", "completed_at"),)
    booking_id: str = Field(primary_key=True, foreign_key="booking.id")
    plate: str
    technician_id: str | None = None
    services: list[str] = _json()
    work_done: str
    parts: list[dict[str, Any]] = _json()  # {"sku", "quantity", "source": "standard" | "extra"}
    findings: list[str] = _json()
    advice: list[str] = _json()
    mileage_km: int | None = None  # the odometer reading given with this report
    next_due_date: str | None = None  # station-local date, YYYY-MM-DD
    next_due_km: int | None = None
    next_due_basis: str = ""  # interval, mileage, or '' (see edge.domain.delivery)
    completed_at: datetime = _time()
    version: int = 1
    updated_at: datetime = _time()


class FeedbackRequest(SQLModel, table=True):
    """The customer is to be asked for feedback on a completed booking from `due_at` on."""

    __tablename__ = "feedback_request"
    __table_args__ = (Index("ix_feedback_request_due", "due_at"),)
    booking_id: str = Field(primary_key=True, foreign_key="booking.id")
    due_at: datetime = _time()
    created_at: datetime = _time()


class Feedback(SQLModel, table=True):
    """The customer's rating of a completed booking (read by the reports' technicians section)."""

    __tablename__ = "feedback"
    booking_id: str = Field(primary_key=True, foreign_key="booking.id")
    rating: int  # 1-5
    comment: str = ""
    recorded_at: datetime = _time()


class Complaint(SQLModel, table=True):
    """A complaint item raised by a low rating, for staff (and HQ customer service) to follow up."""

    __tablename__ = "complaint"
    __table_args__ = (Index("ix_complaint_state", "state", "created_at"),)
    id: str = Field(primary_key=True)
    booking_id: str = Field(foreign_key="booking.id", index=True)
    member_id: str | None = Field(default=None, foreign_key="member.id")
    rating: int
    comment: str = ""
    state: str  # open, assigned, resolved, closed (edge.domain.complaints)
    created_at: datetime = _time()
    assigned_to: str | None = None  # the staff member following it up
    note: str = ""  # the latest note: how it was resolved, why it was closed
    updated_at: datetime | None = _time(nullable=True)
    version: int = 1  # raised is 1; each follow-up step adds one


class Disruption(SQLModel, table=True):
    """A confirmed booking the station cannot serve as planned: the offers made and the customer's choice."""

    __tablename__ = "disruption"
    __table_args__ = (Index("ix_disruption_booking", "booking_id", "created_at"),)
    id: str = Field(primary_key=True)
    booking_id: str = Field(foreign_key="booking.id")
    cause: str  # bay_out_of_service, technician_absent
    cause_ref: str  # the bay or technician id
    offers: list[dict[str, Any]] = _json()
    state: str  # offered, resolved, withdrawn
    choice: str | None = None  # other_bay, neighbour:<id>, coupon, wait (withdrawn: the cause went away)
    coupon_code: str | None = None
    version: int = 1
    created_at: datetime = _time()
    updated_at: datetime = _time()


class BayOutage(SQLModel, table=True):
    """A time a bay was out of service and why; ended_at is NULL while it still is."""

    __tablename__ = "bay_outage"
    __table_args__ = (Index("ix_bay_outage_bay", "bay_id", "started_at"),)
    id: str = Field(primary_key=True)
    bay_id: str = Field(foreign_key="bay.id")
    reason: str
    started_at: datetime = _time()
    ended_at: datetime | None = _time(nullable=True)
