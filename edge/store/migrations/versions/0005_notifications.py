"""Once-only marks of reminders and late alerts.

Revision ID: 0005_notifications
Revises: 0004_loyalty
Create Date: 2026-11-23 15:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_notifications"
down_revision = "0004_loyalty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notification_sent",
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("due_at", sa.String(length=20), nullable=False),
        sa.Column("sent_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("booking_id", "kind"),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("notification_sent")
