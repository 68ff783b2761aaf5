"""The price calendar: holiday and time-window prices of services and packages.

Revision ID: 0016_price_rules
Revises: 0014_ledger
Create Date: 2026-12-03 23:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016_price_rules"
down_revision = "0014_ledger"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "price_rule",
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("position"),
    )


def downgrade() -> None:
    op.drop_table("price_rule")
