"""Staff accounts: role, card, PIN hash.

Revision ID: 0015_staff
Revises: 0014_ledger
Create Date: 2026-12-03 23:10:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0015_staff"
down_revision = "0014_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "staff",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("card_id", sa.String(), nullable=True),
        sa.Column("pin_hash", sa.String(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("updated_at", sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("card_id"),
    )


def downgrade() -> None:
    op.drop_table("staff")
