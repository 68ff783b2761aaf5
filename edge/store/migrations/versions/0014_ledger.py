"""The money ledger (balanced postings) and shifts with their cash drawer.

Revision ID: 0014_ledger
Revises: 0013_vehicle_sizes
Create Date: 2026-12-03 23:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0014_ledger"
down_revision = "0013_vehicle_sizes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "shift",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("terminal", sa.String(), nullable=False),
        sa.Column("opened_by", sa.String(), nullable=False),
        sa.Column("opened_at", sa.String(length=20), nullable=False),
        sa.Column("float_minor", sa.Integer(), nullable=False),
        sa.Column("closed_by", sa.String(), nullable=True),
        sa.Column("closed_at", sa.String(length=20), nullable=True),
        sa.Column("counted_minor", sa.Integer(), nullable=True),
        sa.Column("denominations", sa.Text(), nullable=True),
        sa.Column("expected_minor", sa.Integer(), nullable=True),
        sa.Column("variance_minor", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ux_shift_open_terminal", "shift", ["terminal"], unique=True,
                    sqlite_where=sa.text("closed_at IS NULL"))
    op.create_index("ix_shift_opened", "shift", ["opened_at"])
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("txn_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("account", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("amount_minor", sa.Integer(), nullable=False),
        sa.Column("line_code", sa.String(), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.String(), nullable=True),
        sa.Column("booking_id", sa.String(), nullable=True),
        sa.Column("member_id", sa.String(), nullable=True),
        sa.Column("shift_id", sa.String(), nullable=True),
        sa.Column("terminal", sa.String(), nullable=False),
        sa.Column("operator_id", sa.String(), nullable=False),
        sa.Column("authorised_by", sa.String(), nullable=True),
        sa.Column("reference", sa.String(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("created_at", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.ForeignKeyConstraint(["shift_id"], ["shift.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_created", "ledger_entry", ["created_at"])
    op.create_index("ix_ledger_txn", "ledger_entry", ["txn_id"])
    op.create_index("ix_ledger_receipt", "ledger_entry", ["receipt_id"])
    op.create_index("ix_ledger_shift", "ledger_entry", ["shift_id"])


def downgrade() -> None:
    for index in ("ix_ledger_shift", "ix_ledger_receipt", "ix_ledger_txn", "ix_ledger_created"):
        op.drop_index(index, table_name="ledger_entry")
    op.drop_table("ledger_entry")
    op.drop_index("ix_shift_opened", table_name="shift")
    op.drop_index("ux_shift_open_terminal", table_name="shift")
    op.drop_table("shift")
