"""Fleet bookings: admitting a sub-account's booking, and its approval request (approve, reject, expire).

`bookings.book(sub_account_id=...)` calls `plan_for` before its transaction and `admit` /
`record` inside it. A booking that approval rules catch is written in state
`pending_approval` (event `booking.pending_approval`) with an `approval.requested` event;
its cells stay claimed while the approvers decide. Each decision is an `approval.decided`
event. When every required role has approved, the booking is confirmed (`booking.approved`);
one rejection, or the deadline passing, rejects it (`booking.rejected`), releases its cells
and offers them to the waitlist, all in the same transaction.

`decide` works inside the caller's transaction so HQ's downlink handler can relay a
decision made in the app; a relayed decision carries HQ's id, and a repeat is a no-op.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from sqlite3 import Connection, Row
from typing import Any

from edge.domain.booking_state import BookingState, check_transition
from edge.domain.catalog import WorkPlan
from edge.domain.enterprise import (
    ApprovalRule,
    ApprovalState,
    Decision,
    EnterpriseAccount,
    Permission,
    SubAccount,
    applicable_rules,
    approval_deadline,
    approval_state,
    check_account_usable,
    check_approver,
    check_monthly_limit,
    check_package_quota,
    check_permission,
    month_of,
    package_plan,
    period_months,
    required_roles,
)
from edge.domain.ids import uuid7
from edge.domain.slots import local_day
from edge.errors import InvalidTransition, NotFound, RuleViolation
from edge.services import deposits, waitlist
from edge.services.booking_store import BookingRecord, firm_up_claims, get_booking, release_cells, update_booking
from edge.services.enterprise import (
    find_package,
    get_account,
    get_sub_account,
    is_fleet_vehicle,
    rules,
    sub_account_by_phone,
)
from edge.services.enterprise_billing import COMMITTED_STATES, month_spent_minor
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import dumps, from_db_time, to_db_time

EXPIRED_REASON = "approval expired"
DECISION_CHANNELS = ("terminal", "hq")


# -- admission -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FleetAdmission:
    """A sub-account's booking the enterprise rules allow, and the approvals it needs."""

    account: EnterpriseAccount
    sub_account: SubAccount
    package_code: str | None
    amount_minor: int
    categories: tuple[str, ...]
    month: str
    rules: tuple[ApprovalRule, ...]

    @property
    def needs_approval(self) -> bool:
        return bool(self.rules)


def plan_for(station: Station, sub_account_id: str, codes: list[str], size_class: str | None = None) -> WorkPlan:
    """The work plan of a sub-account's request for a car of `size_class`: its enterprise's
    package at the agreed price, or catalogue codes."""
    catalog = station.catalog()
    with station.store.read() as conn:
        sub = get_sub_account(conn, sub_account_id)
        package = _fleet_package(conn, sub.enterprise_id, codes)
    return package_plan(catalog, package, size_class) if package else catalog.plan(codes, size_class)


def _fleet_package(conn: Connection, enterprise_id: str, codes: list[str]):
    named = [(code.strip(), find_package(conn, enterprise_id, code.strip())) for code in codes]
    found = [(code, package) for code, package in named if package is not None]
    if not found:
        return None
    code, package = found[0]
    if len(named) > 1:
        raise RuleViolation(f"enterprise package {code} is booked on its own (book other services separately)")
    if not package.active:
        raise RuleViolation(f"package {code} of enterprise {enterprise_id} is withdrawn")
    return package


def admit(
    conn: Connection, station: Station, *, sub_account_id: str, codes: list[str], plan: WorkPlan, plate: str,
    start: datetime,
) -> FleetAdmission:
    """Check the sub-account may book this for this vehicle (RuleViolation names the rule) and find its approvers."""
    sub = get_sub_account(conn, sub_account_id)
    account = get_account(conn, sub.enterprise_id)
    check_account_usable(account)
    check_permission(sub, Permission.BOOK)
    if not is_fleet_vehicle(conn, account.id, plate):
        raise RuleViolation(f"plate {plate} is not a vehicle of enterprise {account.id}")
    month = month_of(local_day(start, station.tz))
    package = _fleet_package(conn, account.id, codes)
    if package is not None:
        check_package_quota(package, plate=plate, used=_package_uses(conn, account.id, package.code, plate,
                                                                      period_months(package.period, month)))
    settings = station.settings.station
    check_monthly_limit(sub, month=month, spent_minor=month_spent_minor(conn, sub.id, month),
                        amount_minor=plan.price_minor, currency=settings.currency,
                        digits=settings.currency_minor_digits)
    catalog = station.catalog()
    categories = tuple(sorted({catalog.services[code].category for code in plan.service_codes}))
    applicable = applicable_rules(rules(conn, account.id), amount_minor=plan.price_minor, categories=categories)
    return FleetAdmission(account, sub, package.code if package else None, plan.price_minor, categories, month,
                          tuple(applicable))


def _package_uses(conn: Connection, enterprise_id: str, code: str, plate: str, months: tuple[str, ...]) -> int:
    marks = ", ".join("?" * len(months))
    return conn.execute(
        "SELECT count(*) FROM enterprise_booking eb JOIN booking b ON b.id = eb.booking_id"
        f" WHERE eb.enterprise_id = ? AND eb.package_code = ? AND b.plate = ? AND eb.month IN ({marks})"
        f" AND b.state IN ({', '.join('?' * len(COMMITTED_STATES))})",
        (enterprise_id, code, plate, *months, *COMMITTED_STATES),
    ).fetchone()[0]


def record(conn: Connection, station: Station, admission: FleetAdmission, booking: BookingRecord, *,
           now: datetime) -> None:
    """Link the new booking to the enterprise and, if approvals are needed, open its request."""
    conn.execute(
        "INSERT INTO enterprise_booking (booking_id, enterprise_id, sub_account_id, package_code, amount_minor,"
        " month, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (booking.id, admission.account.id, admission.sub_account.id, admission.package_code,
         admission.amount_minor, admission.month, to_db_time(now)),
    )
    if not admission.needs_approval:
        return
    request_id = uuid7()
    expires_at = approval_deadline(admission.rules, admission.account, requested_at=now, start_at=booking.start_at)
    stamp = to_db_time(now)
    conn.execute(
        "INSERT INTO approval_request (id, booking_id, enterprise_id, sub_account_id, amount_minor, categories,"
        " required_roles, state, expires_at, reason, version, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, '', 1, ?, ?)",
        (request_id, booking.id, admission.account.id, admission.sub_account.id, admission.amount_minor,
         dumps(list(admission.categories)), dumps(list(required_roles(admission.rules))), to_db_time(expires_at),
         stamp, stamp),
    )
    view = _view(conn, _request_row(conn, booking.id))
    append_event(conn, event_type="approval.requested", entity_id=request_id,
                 idem_key=f"approval:{request_id}:1",
                 body={"approval": view.to_json(), "rules": [rule.id for rule in admission.rules]}, now=now)


# -- approval requests ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovalView:
    id: str
    booking_id: str
    booking_code: str
    enterprise_id: str
    requester_phone: str
    amount_minor: int
    categories: tuple[str, ...]
    required_roles: tuple[str, ...]
    decisions: tuple[dict[str, Any], ...]
    state: ApprovalState
    expires_at: datetime
    reason: str
    version: int

    @property
    def awaiting(self) -> tuple[str, ...]:
        decided = {d["role"] for d in self.decisions}
        return tuple(role for role in self.required_roles if role not in decided)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "booking_id": self.booking_id, "booking_code": self.booking_code,
            "enterprise_id": self.enterprise_id, "requester_phone": self.requester_phone,
            "amount_minor": self.amount_minor, "categories": list(self.categories),
            "required_roles": list(self.required_roles), "awaiting": list(self.awaiting),
            "decisions": list(self.decisions), "state": str(self.state), "expires_at": to_db_time(self.expires_at),
            "reason": self.reason, "version": self.version,
        }


def decide(
    conn: Connection, station: Station, *, booking_ref: str, approver_phone: str, approve: bool, reason: str = "",
    channel: str = "terminal", decision_id: str | None = None, now: datetime,
) -> ApprovalView:
    """One approver's decision on a booking's request; confirms or rejects the booking when that settles it.

    A decision arriving after the deadline finds the request expired (and the booking
    rejected) instead: the returned view says so.
    """
    if channel not in DECISION_CHANNELS:
        raise RuleViolation(f"unknown decision channel {channel!r} (one of {', '.join(DECISION_CHANNELS)})")
    booking = get_booking(conn, booking_ref)
    request = _request_row(conn, booking.id, code=booking.code)
    if decision_id is not None and conn.execute(
        "SELECT 1 FROM approval_decision WHERE id = ?", (decision_id,)
    ).fetchone():
        return _view(conn, request)
    if request["state"] != ApprovalState.PENDING:
        raise InvalidTransition(f"approval of booking {booking.code} is {request['state']} already")
    if booking.state != BookingState.PENDING_APPROVAL:
        raise InvalidTransition(f"booking {booking.code} is {booking.state}; there is nothing to decide")
    if now >= from_db_time(request["expires_at"]):
        return _expire(conn, station, request, booking, now=now)
    if not approve and not reason.strip():
        raise RuleViolation(f"rejecting booking {booking.code} needs a reason")
    approver = sub_account_by_phone(conn, request["enterprise_id"], approver_phone)
    required = tuple(json.loads(request["required_roles"]))
    decisions = _decisions(conn, request["id"])
    check_approver(approver, booking_code=booking.code, requester_id=request["sub_account_id"],
                   required=required, decisions=decisions)
    conn.execute(
        "INSERT INTO approval_decision (id, request_id, sub_account_id, role, approved, reason, channel, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (decision_id or uuid7(), request["id"], approver.id, approver.role, approve, reason.strip(), channel,
         to_db_time(now)),
    )
    decisions.append(Decision(approver.role, approve, approver.id, reason.strip()))
    state = approval_state(required, decisions, expires_at=from_db_time(request["expires_at"]), now=now)
    view = _set_state(conn, station, request, state, reason=reason.strip() if not approve else "", now=now,
                      decision={"role": approver.role, "phone": approver.phone, "approved": approve,
                                "reason": reason.strip(), "channel": channel})
    if state == ApprovalState.APPROVED:
        check_transition(booking.code, booking.state, BookingState.CONFIRMED)
        firm_up_claims(conn, booking)
        update_booking(conn, station, booking, "booking.approved", now=now, state=BookingState.CONFIRMED,
                       hold_until=None)
    elif state == ApprovalState.REJECTED:
        _reject_booking(conn, station, booking, reason=reason.strip(), now=now)
    return view


def approve(station: Station, booking_ref: str, *, by_phone: str, now: datetime | None = None) -> ApprovalView:
    """An approver at the terminal approves a booking for their role."""
    with station.store.write() as conn:
        return decide(conn, station, booking_ref=booking_ref, approver_phone=by_phone, approve=True,
                      now=now or station.clock())


def reject(
    station: Station, booking_ref: str, *, by_phone: str, reason: str, now: datetime | None = None
) -> ApprovalView:
    """An approver at the terminal rejects a booking: it is rejected with the reason and its cells freed."""
    with station.store.write() as conn:
        return decide(conn, station, booking_ref=booking_ref, approver_phone=by_phone, approve=False, reason=reason,
                      now=now or station.clock())


def expire_approvals(station: Station, *, now: datetime | None = None) -> list[ApprovalView]:
    """Reject bookings whose approval deadline passed; close requests whose booking was cancelled meanwhile."""
    now = now or station.clock()
    with station.store.write() as conn:
        rows = conn.execute(
            "SELECT r.* FROM approval_request r JOIN booking b ON b.id = r.booking_id"
            " WHERE r.state = 'pending' AND (r.expires_at <= ? OR b.state != ?) ORDER BY r.expires_at",
            (to_db_time(now), BookingState.PENDING_APPROVAL),
        ).fetchall()
        closed = []
        for request in rows:
            booking = get_booking(conn, request["booking_id"])
            if booking.state == BookingState.PENDING_APPROVAL:
                closed.append(_expire(conn, station, request, booking, now=now))
            else:
                closed.append(_set_state(conn, station, request, ApprovalState.WITHDRAWN,
                                         reason=f"booking {booking.state}", now=now))
        return closed


def pending_approvals(station: Station, *, enterprise_id: str | None = None) -> list[ApprovalView]:
    """Requests still waiting for approvers, soonest deadline first."""
    with station.store.read() as conn:
        if enterprise_id is not None:
            get_account(conn, enterprise_id)
        rows = conn.execute(
            "SELECT * FROM approval_request WHERE state = 'pending' AND (? IS NULL OR enterprise_id = ?)"
            " ORDER BY expires_at",
            (enterprise_id, enterprise_id),
        ).fetchall()
        return [_view(conn, row) for row in rows]


def approval_of(station: Station, booking_ref: str) -> ApprovalView:
    with station.store.read() as conn:
        booking = get_booking(conn, booking_ref)
        return _view(conn, _request_row(conn, booking.id, code=booking.code))


def _expire(conn: Connection, station: Station, request: Row, booking: BookingRecord, *, now: datetime) -> ApprovalView:
    view = _set_state(conn, station, request, ApprovalState.EXPIRED, reason=EXPIRED_REASON, now=now)
    _reject_booking(conn, station, booking, reason=EXPIRED_REASON, now=now)
    return view


def _reject_booking(conn: Connection, station: Station, booking: BookingRecord, *, reason: str, now: datetime) -> None:
    check_transition(booking.code, booking.state, BookingState.REJECTED)
    release_cells(conn, booking)
    update_booking(conn, station, booking, "booking.rejected", now=now, state=BookingState.REJECTED, reason=reason,
                   hold_until=None)
    deposits.release(conn, station, booking, reason=f"booking {booking.code} rejected", now=now)
    waitlist.offer_freed(conn, station, day=local_day(booking.start_at, station.tz), now=now)


def _set_state(
    conn: Connection, station: Station, request: Row, state: ApprovalState, *, reason: str, now: datetime,
    decision: dict[str, Any] | None = None,
) -> ApprovalView:
    """The request's next version (same state after a partial approval) and its approval.decided event."""
    version = request["version"] + 1
    conn.execute(
        "UPDATE approval_request SET state = ?, reason = ?, version = ?, updated_at = ? WHERE id = ?",
        (state, reason, version, to_db_time(now), request["id"]),
    )
    view = _view(conn, _request_row(conn, request["booking_id"]))
    append_event(conn, event_type="approval.decided", entity_id=request["id"],
                 idem_key=f"approval:{request['id']}:{version}",
                 body={"approval": view.to_json(), "decision": decision}, now=now)
    return view


def _request_row(conn: Connection, booking_id: str, *, code: str | None = None) -> Row:
    row = conn.execute("SELECT * FROM approval_request WHERE booking_id = ?", (booking_id,)).fetchone()
    if row is None:
        raise NotFound(f"booking {code or booking_id} has no approval request")
    return row


def _decisions(conn: Connection, request_id: str) -> list[Decision]:
    rows = conn.execute(
        "SELECT role, approved, sub_account_id, reason FROM approval_decision WHERE request_id = ? ORDER BY created_at",
        (request_id,),
    )
    return [Decision(row["role"], bool(row["approved"]), row["sub_account_id"], row["reason"]) for row in rows]


def _view(conn: Connection, request: Row) -> ApprovalView:
    code = conn.execute("SELECT code FROM booking WHERE id = ?", (request["booking_id"],)).fetchone()[0]
    requester = conn.execute(
        "SELECT phone FROM enterprise_sub_account WHERE id = ?", (request["sub_account_id"],)
    ).fetchone()[0]
    decisions = conn.execute(
        "SELECT d.role, s.phone, d.approved, d.reason, d.channel, d.created_at FROM approval_decision d"
        " JOIN enterprise_sub_account s ON s.id = d.sub_account_id WHERE d.request_id = ? ORDER BY d.created_at",
        (request["id"],),
    )
    return ApprovalView(
        id=request["id"], booking_id=request["booking_id"], booking_code=code, enterprise_id=request["enterprise_id"],
        requester_phone=requester, amount_minor=request["amount_minor"],
        categories=tuple(json.loads(request["categories"])),
        required_roles=tuple(json.loads(request["required_roles"])),
        decisions=tuple({**dict(d), "approved": bool(d["approved"])} for d in decisions),
        state=ApprovalState(request["state"]), expires_at=from_db_time(request["expires_at"]),
        reason=request["reason"], version=request["version"],
    )
