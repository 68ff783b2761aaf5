"""The hash-chained audit trail.

Revision ID: 0016_audit
Revises: 0015_staff
Create Date: 2026-12-03 23:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0016_audit"
down_revision = "0015_staff"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_entry",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.String(), nullable=False),
        sa.Column("actor_name", sa.String(), nullable=False),
        sa.Column("actor_kind", sa.String(), nullable=False),
        sa.Column("terminal", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("entity", sa.String(), nullable=False),
        sa.Column("entity_id", sa.String(), nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("authorised_by", sa.String(), nullable=True),
        sa.Column("prev_hash", sa.String(), nullable=False),
        sa.Column("hash", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index("ix_audit_entity", "audit_entry", ["entity", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_audit_entity", table_name="audit_entry")
    op.drop_table("audit_entry")
