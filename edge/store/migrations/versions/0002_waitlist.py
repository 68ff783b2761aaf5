"""Waitlist: customers waiting for a full day get a hold offered when a slot frees.

Revision ID: 0002_waitlist
Revises: 0001_initial
Create Date: 2026-11-23 14:40:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0002_waitlist"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('waitlist_entry',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('plate', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('day', sa.String(), nullable=False),
    sa.Column('window_start', sa.String(length=20), nullable=False),
    sa.Column('window_end', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('offered_booking_id', sa.String(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['offered_booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index('ix_waitlist_day_state', ['day', 'state'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_day_state')

    op.drop_table('waitlist_entry')
