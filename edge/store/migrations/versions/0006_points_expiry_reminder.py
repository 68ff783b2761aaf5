"""Remember which points lots were announced as about to expire.

Revision ID: 0006_points_expiry_reminder
Revises: 0005_notifications
Create Date: 2026-11-23 16:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0006_points_expiry_reminder"
down_revision = "0005_notifications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("points_entry", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expiry_reminded_at", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("points_entry", schema=None) as batch_op:
        batch_op.drop_column("expiry_reminded_at")
