"""Following a complaint up: assign it to a staff member, record how it was resolved, close it with a note.

Each step is one transaction that writes its outbox event (`complaint.assigned`,
`complaint.resolved`, `complaint.closed`) for HQ's customer service; the steps allowed from
each state are edge.domain.complaints'. A complaint is named by its id or by its booking's code.
"""

from __future__ import annotations

from datetime import datetime
from sqlite3 import Connection

from edge.domain.complaints import ComplaintState, check_step
from edge.errors import InvalidInput, NotFound
from edge.services.delivery import ComplaintRecord, complaints_where
from edge.services.station import Station
from edge.store.outbox import append_event
from edge.store.types import to_db_time


def assign(station: Station, ref: str, *, to: str, note: str = "", now: datetime | None = None) -> ComplaintRecord:
    """Give the complaint to a staff member (id or name) to follow up; again to hand it on."""
    now = now or station.clock()
    with station.store.write() as conn:
        complaint = _complaint(conn, ref)
        staff_id = _staff_id(conn, to)
        return _step(conn, station, complaint, ComplaintState.ASSIGNED, note=note, assigned_to=staff_id, now=now)


def resolve(station: Station, ref: str, *, note: str, now: datetime | None = None) -> ComplaintRecord:
    """Record what was done about it (the note is required)."""
    now = now or station.clock()
    with station.store.write() as conn:
        complaint = _complaint(conn, ref)
        return _step(conn, station, complaint, ComplaintState.RESOLVED, note=_required(note), now=now)


def close(station: Station, ref: str, *, note: str, now: datetime | None = None) -> ComplaintRecord:
    """Close it: the customer is satisfied, or nothing more will be done (the note says which)."""
    now = now or station.clock()
    with station.store.write() as conn:
        complaint = _complaint(conn, ref)
        return _step(conn, station, complaint, ComplaintState.CLOSED, note=_required(note), now=now)


def _step(conn: Connection, station: Station, complaint: ComplaintRecord, state: ComplaintState, *, note: str,
          now: datetime, assigned_to: str | None = None) -> ComplaintRecord:
    check_step(complaint.id, complaint.state, state)
    assigned_to = assigned_to or complaint.assigned_to
    note = note.strip() or complaint.note
    version = conn.execute(
        "UPDATE complaint SET state = ?, assigned_to = ?, note = ?, updated_at = ?, version = version + 1"
        " WHERE id = ? RETURNING version", (str(state), assigned_to, note, to_db_time(now), complaint.id)).fetchone()[0]
    body = {"complaint_id": complaint.id, "booking_id": complaint.booking_id, "booking": complaint.booking_code,
            "state": str(state), "assigned_to": assigned_to, "note": note, "by": station.actor.id,
            "station": station.settings.station.id}
    append_event(conn, event_type=f"complaint.{state}", entity_id=complaint.id,
                 idem_key=f"complaint:{complaint.id}:{version}", body=body, now=now)
    return _complaint(conn, complaint.id)


def _complaint(conn: Connection, ref: str) -> ComplaintRecord:
    found = complaints_where(conn, "c.id = ? OR b.code = ?", (ref.strip(), ref.strip().upper()))
    if not found:
        raise NotFound(f"no complaint {ref!r} (a complaint id or its booking's code)")
    return found[0]


def _staff_id(conn: Connection, who: str) -> str:
    row = conn.execute("SELECT id FROM staff WHERE active = 1 AND (id = ? OR name = ?) ORDER BY id = ? DESC",
                       (who.strip(), who.strip(), who.strip())).fetchone()
    if row is None:
        raise InvalidInput("to", f"no staff member {who!r} (a staff id or name)")
    return row[0]


def _required(note: str) -> str:
    if not note.strip():
        raise InvalidInput("note", "a note is needed: what was done, or why it is closed")
    return note
