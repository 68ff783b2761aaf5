"""Bookings in legs: a booking's work may span bays (the lift, then the wash).

`booking_leg` holds each leg's services, bay, technician and time; every booking has at
least one. `booking.leg` is the leg the car is on, whose bay and technician the booking row
keeps in `bay_id` and `technician_id`. Bookings made before legs become one leg each.

Revision ID: 0012_booking_legs
Revises: 0011_booking_overlap_allowed
Create Date: 2026-12-03 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012_booking_legs"
down_revision = "0011_booking_overlap_allowed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_leg",
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("bay_id", sa.String(), nullable=False),
        sa.Column("technician_id", sa.String(), nullable=True),
        sa.Column("start_at", sa.String(length=20), nullable=False),
        sa.Column("end_at", sa.String(length=20), nullable=False),
        sa.Column("services", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("booking_id", "seq"),
        sqlite_with_rowid=False,
    )
    op.execute("INSERT INTO booking_leg (booking_id, seq, bay_id, technician_id, start_at, end_at, services)"
               " SELECT id, 0, bay_id, technician_id, start_at, end_at, services FROM booking")
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("leg", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("leg")
    op.drop_table("booking_leg")
