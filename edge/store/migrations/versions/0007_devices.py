"""Live device state: bay occupancy, technician presence, device health, plate prompts.

Revision ID: 0007_devices
Revises: 0006_points_expiry_reminder
Create Date: 2026-11-23 18:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0007_devices"
down_revision = "0006_points_expiry_reminder"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bay_live",
        sa.Column("bay_id", sa.String(), nullable=False),
        sa.Column("occupancy", sa.String(), nullable=False),
        sa.Column("since", sa.String(length=20), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("stuck", sa.Boolean(), nullable=False),
        sa.Column("stuck_since", sa.String(length=20), nullable=True),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["bay_id"], ["bay.id"]),
        sa.PrimaryKeyConstraint("bay_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "technician_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.String(), nullable=False),
        sa.Column("card_id", sa.String(), nullable=False),
        sa.Column("device", sa.String(), nullable=False),
        sa.Column("clocked_in_at", sa.String(length=20), nullable=False),
        sa.Column("clocked_out_at", sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(["technician_id"], ["technician.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_technician_presence_in", "technician_presence", ["clocked_in_at"])
    op.create_index("ix_technician_presence_tech_in", "technician_presence", ["technician_id", "clocked_in_at"])
    op.create_table(
        "device_health",
        sa.Column("device_id", sa.String(), nullable=False),
        sa.Column("driver", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.Column("last_event_at", sa.String(length=20), nullable=True),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("accepted", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("device_id"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "plate_prompt",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("plate_read", sa.String(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("device", sa.String(), nullable=False),
        sa.Column("candidates", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(length=20), nullable=False),
        sa.Column("resolved_at", sa.String(length=20), nullable=True),
        sa.Column("resolution", sa.String(), nullable=True),
        sa.Column("booking_id", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_plate_prompt_open", "plate_prompt", ["created_at"],
                    sqlite_where=sa.text("resolved_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_plate_prompt_open", table_name="plate_prompt")
    op.drop_table("plate_prompt")
    op.drop_table("device_health")
    op.drop_index("ix_technician_presence_tech_in", table_name="technician_presence")
    op.drop_index("ix_technician_presence_in", table_name="technician_presence")
    op.drop_table("technician_presence")
    op.drop_table("bay_live")
