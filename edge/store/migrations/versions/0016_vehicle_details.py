"""Vehicle details the desk keeps: make and colour (with the model already there).

Revision ID: 0016_vehicle_details
Revises: 0014_ledger
Create Date: 2026-12-03 23:05:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016_vehicle_details"
down_revision = "0014_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.add_column(sa.Column("make", sa.String(), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("colour", sa.String(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("vehicle", schema=None) as batch_op:
        batch_op.drop_column("colour")
        batch_op.drop_column("make")
