"""Slot escrow: cells moved by leases and the leases received.

Revision ID: 0007_escrow
Revises: 0006_points_expiry_reminder
Create Date: 2026-11-23 18:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_escrow"
down_revision = "0006_points_expiry_reminder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "escrow_cell",
        sa.Column("bay_id", sa.String(), nullable=False),
        sa.Column("slot_start", sa.String(length=20), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("lease_id", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("bay_id", "slot_start"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "escrow_lease",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("bay_id", sa.String(), nullable=False),
        sa.Column("token", sa.Integer(), nullable=False),
        sa.Column("applied", sa.Text(), nullable=False),
        sa.Column("refused", sa.Text(), nullable=False),
        sa.Column("received_at", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    op.drop_table("escrow_lease")
    op.drop_table("escrow_cell")
