"""Work found during service, at HQ: the customer's answer from the app, sent down to the station.

The station's `found_work.added` event (with `ask_customer`) is what the app shows the customer;
their answer goes into the station's downlink log as `found_work.decided` on the booking stream,
in the caller's transaction, and the station applies it (edge.services.found_work).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from sync.errors import SyncError
from sync.hq.downlink import enqueue_downlink

DECISIONS = ("approved", "refused")


def send_decision(session: Session, station_id: str, *, booking_id: str, service: str, decision: str,
                  now: datetime) -> int:
    """Queue the customer's answer about `service` added to `booking_id`; the message's seq."""
    if decision not in DECISIONS:
        raise SyncError(f"decision {decision!r} is not one of {', '.join(DECISIONS)}")
    if not booking_id or not service:
        raise SyncError("a decision names the booking and the service")
    return enqueue_downlink(session, station_id, "booking", "found_work.decided", f"found_work:{booking_id}:{service}",
                            {"booking_id": booking_id, "service": service, "decision": decision}, now)
