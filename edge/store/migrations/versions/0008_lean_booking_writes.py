"""Fewer pages per booking: seqs read from the outbox's own index, walk-in plates out of the member index.

The outbox_seq counter row was one more page written by every event; a stream's next seq is
its highest seq + 1, read through the outbox's (epoch, stream, seq) unique index in the same
write transaction, and outbox rows are never deleted, so seqs stay gap-free. The vehicle
table's member index now holds only vehicles that have a member.

Also joins the three 0007 branches.

Revision ID: 0008_lean_booking_writes
Revises: 0007_devices, 0007_escrow, 0007_sync
Create Date: 2026-11-23 22:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0008_lean_booking_writes"
down_revision = ("0007_devices", "0007_escrow", "0007_sync")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("outbox_seq")
    op.drop_index("ix_vehicle_member_id", table_name="vehicle")
    op.create_index("ix_vehicle_member_id", "vehicle", ["member_id"], sqlite_where=sa.text("member_id IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("ix_vehicle_member_id", table_name="vehicle")
    op.create_index("ix_vehicle_member_id", "vehicle", ["member_id"])
    op.create_table(
        "outbox_seq",
        sa.Column("epoch", sa.String(), nullable=False),
        sa.Column("stream", sa.String(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("epoch", "stream"),
        sqlite_with_rowid=False,
    )
    op.execute(
        "INSERT INTO outbox_seq (epoch, stream, last_seq) SELECT epoch, stream, max(seq) FROM outbox"
        " GROUP BY epoch, stream"
    )
