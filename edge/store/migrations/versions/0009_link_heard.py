"""The link to HQ as heard: when HQ last answered, and since when sync has made no progress.

`sync_link.state` now says what the station last heard from HQ (online, hq_silent, stalled,
offline), not only whether the broker connection is up.

Revision ID: 0009_link_heard
Revises: 0008_lean_booking_writes
Create Date: 2026-12-03 15:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0009_link_heard"
down_revision = "0008_lean_booking_writes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_link") as batch:
        batch.add_column(sa.Column("heard_at", sa.String(length=20), nullable=True))
        batch.add_column(sa.Column("stalled_since", sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sync_link") as batch:
        batch.drop_column("stalled_since")
        batch.drop_column("heard_at")
