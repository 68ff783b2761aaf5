"""A booking says whether it was allowed to overlap another live booking of the same car.

A car holds one live booking at a time; a fleet may book overlapping work on purpose, and
`booking.overlap_allowed` records that it did (shown by `show`, sent to HQ in its events).

Revision ID: 0011_booking_overlap_allowed
Revises: 0010_device_reasons
Create Date: 2026-12-03 17:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0011_booking_overlap_allowed"
down_revision = "0010_device_reasons"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.add_column(sa.Column("overlap_allowed", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("booking") as batch:
        batch.drop_column("overlap_allowed")
