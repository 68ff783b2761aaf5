"""Device health keeps its rejected frames and refused events by reason, and when the device last reconnected.

Revision ID: 0010_device_reasons
Revises: 0009_link_heard
Create Date: 2026-12-03 17:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0010_device_reasons"
down_revision = "0009_link_heard"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("device_health") as batch:
        batch.add_column(sa.Column("rejects_by_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reconnected_at", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_health") as batch:
        batch.drop_column("reconnected_at")
        batch.drop_column("rejects_by_reason")
