"""Work found during service: a service added to a booking in progress, awaiting or given approval.

Revision ID: 0013_found_work
Revises: 0012_booking_legs
Create Date: 2026-12-03 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0013_found_work"
down_revision = "0012_booking_legs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "found_work",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("booking_id", sa.String(), nullable=False),
        sa.Column("service_code", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("placement", sa.String(), nullable=False),
        sa.Column("bay_id", sa.String(), nullable=True),
        sa.Column("technician_id", sa.String(), nullable=True),
        sa.Column("cells", sa.Text(), nullable=False),
        sa.Column("follow_up_booking_id", sa.String(), nullable=True),
        sa.Column("price_minor", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.String(), nullable=False),
        sa.Column("added_at", sa.String(length=20), nullable=False),
        sa.Column("hold_until", sa.String(length=20), nullable=True),
        sa.Column("decided_by", sa.String(), nullable=True),
        sa.Column("decided_at", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["follow_up_booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"]),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_found_work_booking", "found_work", ["booking_id"])
    op.create_index("ix_found_work_state", "found_work", ["state", "hold_until"])


def downgrade() -> None:
    op.drop_index("ix_found_work_state", table_name="found_work")
    op.drop_index("ix_found_work_booking", table_name="found_work")
    op.drop_table("found_work")
