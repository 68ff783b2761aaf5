"""The print queue, and a device's condition (a printer's paper out) in its health.

Revision ID: 0016_print_jobs
Revises: 0014_ledger
Create Date: 2026-12-03 23:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016_print_jobs"
down_revision = "0014_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "print_job",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("device", sa.String(), nullable=True),
        sa.Column("requested_by", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(length=20), nullable=False),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.Column("printed_at", sa.String(length=20), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_print_job_state", "print_job", ["state", "created_at"])
    op.create_index("ix_print_job_reference", "print_job", ["kind", "reference"])
    with op.batch_alter_table("device_health") as batch:
        batch.add_column(sa.Column("condition", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("device_health") as batch:
        batch.drop_column("condition")
    op.drop_index("ix_print_job_reference", table_name="print_job")
    op.drop_index("ix_print_job_state", table_name="print_job")
    op.drop_table("print_job")
