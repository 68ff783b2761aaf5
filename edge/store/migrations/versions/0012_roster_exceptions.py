"""Roster exceptions: a technician's leave, sick day, extra shift or holiday hours on one date.

Set at the desk (`station-edge roster set`, the terminal's technicians screen), applied to
availability at once, and sent to HQ as `roster.exception_set` / `roster.exception_removed`.

Revision ID: 0012_roster_exceptions
Revises: 0011_booking_overlap_allowed
Create Date: 2026-12-03 20:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0012_roster_exceptions"
down_revision = "0011_booking_overlap_allowed"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "roster_exception",
        sa.Column("technician_id", sa.String(), nullable=False),
        sa.Column("day", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("start_minute", sa.Integer(), nullable=True),
        sa.Column("end_minute", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("technician_id", "day"),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_roster_exception_day", "roster_exception", ["day"])


def downgrade() -> None:
    op.drop_index("ix_roster_exception_day", table_name="roster_exception")
    op.drop_table("roster_exception")
