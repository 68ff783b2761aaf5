"""Booking token generations: a reschedule makes the booking's earlier QR tokens stale.

Revision ID: 0010_token_generation
Revises: 0009_link_heard
Create Date: 2026-12-03 17:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0010_token_generation"
down_revision = "0009_link_heard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "booking_token",
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("booking_id"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("booking_token")
