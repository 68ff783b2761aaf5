"""Outbox event types, the sync stream each travels on, and the streams' drain priority."""

from __future__ import annotations

from enum import StrEnum


class Stream(StrEnum):
    PAYMENT = "payment"
    AUDIT = "audit"
    BOOKING = "booking"
    CHECKIN = "checkin"
    MEMBER = "member"
    OPS = "ops"
    SENSOR = "sensor"


# a backlog drains money first and sensor chatter last (docs/protocol.md, "Uplink")
STREAM_PRIORITY: tuple[Stream, ...] = (
    Stream.PAYMENT,
    Stream.AUDIT,
    Stream.BOOKING,
    Stream.CHECKIN,
    Stream.MEMBER,
    Stream.OPS,
    Stream.SENSOR,
)

EVENT_STREAMS: dict[str, Stream] = {
    "booking.held": Stream.BOOKING,
    "booking.confirmed": Stream.BOOKING,
    "booking.rescheduled": Stream.BOOKING,
    "booking.reassigned": Stream.BOOKING,
    "booking.cancelled": Stream.BOOKING,
    "booking.expired": Stream.BOOKING,
    "booking.no_show": Stream.BOOKING,
    "booking.pending_approval": Stream.BOOKING,
    "booking.checked_in": Stream.CHECKIN,
    "booking.progress": Stream.OPS,
    "booking.completed": Stream.OPS,
    "member.created": Stream.MEMBER,
    "member.updated": Stream.MEMBER,
    "waitlist.joined": Stream.BOOKING,
    "waitlist.offered": Stream.BOOKING,
    "waitlist.cancelled": Stream.BOOKING,
    "points.earned": Stream.MEMBER,
    "points.redeemed": Stream.MEMBER,
    "points.expired": Stream.MEMBER,
    "points.adjusted": Stream.MEMBER,
    "points.expiring": Stream.MEMBER,
    "prepaid.top_up": Stream.PAYMENT,
    "prepaid.debit": Stream.PAYMENT,
    "prepaid.refund": Stream.PAYMENT,
    "prepaid.adjust": Stream.PAYMENT,
    "prepaid.low_balance": Stream.MEMBER,
    "coupon.issued": Stream.MEMBER,
    "coupon.redeemed": Stream.MEMBER,
    "coupon.restored": Stream.MEMBER,
    "coupon.conflict": Stream.MEMBER,
    "tier.changed": Stream.MEMBER,
    "payment.received": Stream.PAYMENT,
    "payment.refunded": Stream.PAYMENT,
    "invoice.requested": Stream.PAYMENT,
    "deposit.taken": Stream.PAYMENT,
    "deposit.returned": Stream.PAYMENT,
    "deposit.forfeited": Stream.PAYMENT,
    "parts.waived": Stream.OPS,
    "enterprise.updated": Stream.MEMBER,
    "enterprise.charged": Stream.PAYMENT,
    "approval.requested": Stream.BOOKING,
    "approval.decided": Stream.BOOKING,
    "booking.approved": Stream.BOOKING,
    "booking.rejected": Stream.BOOKING,
    "service.reported": Stream.OPS,
    "feedback.requested": Stream.OPS,
    "feedback.recorded": Stream.OPS,
    "complaint.raised": Stream.OPS,
    "disruption.offered": Stream.BOOKING,
    "disruption.resolved": Stream.BOOKING,
    "bay.service_changed": Stream.OPS,
    "notification.requested": Stream.OPS,
    "booking.late": Stream.OPS,
    "inventory.moved": Stream.OPS,
    "inventory.low_stock": Stream.OPS,
    "booking.notes": Stream.BOOKING,
    "token.issued": Stream.BOOKING,
    "bay.occupancy": Stream.SENSOR,
    "device.health": Stream.SENSOR,
    "technician.clocked_in": Stream.OPS,
    "technician.clocked_out": Stream.OPS,
    "roster.exception_set": Stream.OPS,
    "roster.exception_removed": Stream.OPS,
    "booking.tentative": Stream.BOOKING,
    "escrow.requested": Stream.BOOKING,
    "escrow.answered": Stream.BOOKING,
    "escrow.lease_acked": Stream.BOOKING,
    "escrow.conflict": Stream.BOOKING,
    "conflict.resolved": Stream.OPS,
    "booking.work_added": Stream.BOOKING,
    "booking.work_removed": Stream.BOOKING,
    "found_work.added": Stream.BOOKING,
    "found_work.decided": Stream.BOOKING,
    "audit.recorded": Stream.AUDIT,
}


def stream_of(event_type: str) -> Stream:
    """The stream an event type travels on; an unknown type is a programming error."""
    try:
        return EVENT_STREAMS[event_type]
    except KeyError:
        raise ValueError(f"unknown outbox event type {event_type!r}; add it to EVENT_STREAMS") from None
