"""Inventory: stocked materials and their stock movements.

Revision ID: 0003_inventory
Revises: 0002_waitlist
Create Date: 2026-11-24 10:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0003_inventory"
down_revision = "0002_waitlist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('material',
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('name_zh', sa.String(), nullable=False),
    sa.Column('name_en', sa.String(), nullable=False),
    sa.Column('unit', sa.String(), nullable=False),
    sa.Column('reorder_level', sa.Integer(), nullable=False),
    sa.Column('on_hand', sa.Integer(), nullable=False),
    sa.Column('low_since', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('sku')
    )
    op.create_table('stock_movement',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('sku', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('on_hand_after', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=True),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['sku'], ['material.sku'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.create_index('ix_stock_movement_sku', ['sku'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('stock_movement', schema=None) as batch_op:
        batch_op.drop_index('ix_stock_movement_sku')

    op.drop_table('stock_movement')
    op.drop_table('material')
