"""Complaint follow-up: who it is assigned to, the latest note, when it last changed, its version.

Revision ID: 0016_complaint_follow_up
Revises: 0014_ledger, 0005_delivery
Create Date: 2026-12-03 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016_complaint_follow_up"
down_revision = ("0014_ledger", "0005_delivery")  # the complaint table is made in 0005_delivery
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_to", sa.String(), nullable=True))
        batch_op.add_column(sa.Column("note", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("updated_at", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("complaint", schema=None) as batch_op:
        batch_op.drop_column("version")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("note")
        batch_op.drop_column("assigned_to")
