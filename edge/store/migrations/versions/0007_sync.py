"""HQ sync state: uplink ack marks, applied downlink seqs, the link's state.

Revision ID: 0007_sync
Revises: 0006_points_expiry_reminder
Create Date: 2026-11-23 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_sync"
down_revision = "0006_points_expiry_reminder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_uplink",
        sa.Column("epoch", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("acked_upto", sa.Integer(), nullable=False),
        sa.Column("acked_at", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("epoch", "stream"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sync_downlink",
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("applied_upto", sa.Integer(), nullable=False),
        sa.Column("applied_at", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("stream"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "sync_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("changed_at", sa.String(length=20), nullable=False),
        sa.Column("seen_at", sa.String(length=20), nullable=False),
        sa.Column("last_ack_at", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("sync_link")
    op.drop_table("sync_downlink")
    op.drop_table("sync_uplink")
