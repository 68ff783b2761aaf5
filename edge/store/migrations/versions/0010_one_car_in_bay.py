"""One car per bay: a partial unique index on booking(bay_id) over the bookings whose car is in the bay.

A booking is in its bay while it is checked in or in service and its progress is in bay, in
service, waiting for parts or quality check; two such bookings on one bay cannot both be
true, and from now on the store refuses the second.

A station file that already holds two or more such bookings on one bay keeps the one last
updated in the bay; the others go back to checked in and received (waiting for the bay),
each as a new version with a `booking.progress` outbox event, so HQ and the app see the same.
The attendant moves the right car in again from the board.

Revision ID: 0010_one_car_in_bay
Revises: 0009_link_heard
Create Date: 2026-12-03 17:30:00
"""

import json
import logging
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa


revision = "0010_one_car_in_bay"
down_revision = "0009_link_heard"
branch_labels = None
depends_on = None

log = logging.getLogger("edge.store.migrate")

IN_BAY = ("state IN ('checked_in', 'in_service')"
          " AND progress IN ('in_bay', 'in_service', 'waiting_parts', 'quality_check')")


def upgrade() -> None:
    conn = op.get_bind()
    crowded = conn.execute(sa.text(
        f"SELECT id, bay_id FROM booking WHERE {IN_BAY} ORDER BY bay_id, updated_at DESC, id DESC")).fetchall()
    seen: set[str] = set()
    for booking_id, bay_id in crowded:
        if bay_id in seen:
            _back_to_waiting(conn, booking_id, bay_id)
        seen.add(bay_id)
    op.create_index("ux_booking_one_car_in_bay", "booking", ["bay_id"], unique=True, sqlite_where=sa.text(IN_BAY))


def _back_to_waiting(conn, booking_id: str, bay_id: str) -> None:
    from edge.store.outbox import append_event  # the same outbox row every booking change writes

    now = datetime.now(UTC)
    conn.execute(sa.text("UPDATE booking SET state = 'checked_in', progress = 'received', version = version + 1,"
                         " updated_at = :now WHERE id = :id"), {"now": now.strftime("%Y-%m-%dT%H:%M:%SZ"), "id": booking_id})
    booking = dict(conn.execute(sa.text("SELECT * FROM booking WHERE id = :id"), {"id": booking_id}).mappings().one())
    booking["services"] = json.loads(booking["services"])
    station = conn.execute(sa.text("SELECT station_id FROM node")).scalar()
    append_event(conn.connection.driver_connection, event_type="booking.progress", entity_id=booking_id,
                 idem_key=f"booking:{booking_id}:{booking['version']}", body={"booking": booking, "station": station},
                 now=now)
    log.warning("schema upgrade: bay %s had more than one car in it; booking %s goes back to waiting for the bay",
                bay_id, booking["code"])


def downgrade() -> None:
    op.drop_index("ux_booking_one_car_in_bay", table_name="booking")
