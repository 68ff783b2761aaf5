"""Loyalty and money: member balances, points and prepaid ledgers, coupons, receipts, payments, invoices, conflicts.

Revision ID: 0004_loyalty
Revises: 0003_inventory
Create Date: 2026-11-23 15:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0004_loyalty'
down_revision = '0003_inventory'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('conflict',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('entity_id', sa.String(), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('resolved_at', sa.String(length=20), nullable=True),
    sa.Column('resolution', sa.String(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('coupon',
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.Column('service_code', sa.String(), nullable=True),
    sa.Column('min_spend_minor', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(), nullable=True),
    sa.Column('min_tier', sa.String(), nullable=True),
    sa.Column('valid_from', sa.String(length=20), nullable=False),
    sa.Column('valid_until', sa.String(length=20), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('source', sa.String(), nullable=False),
    sa.Column('redeemed_receipt_id', sa.String(), nullable=True),
    sa.Column('redeemed_at', sa.String(length=20), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('code')
    )
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupon_member_id'), ['member_id'], unique=False)

    op.create_table('member_balance',
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('points_snapshot', sa.Integer(), nullable=False),
    sa.Column('prepaid_snapshot_minor', sa.Integer(), nullable=False),
    sa.Column('snapshot_at', sa.String(length=20), nullable=True),
    sa.Column('growth', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.String(), nullable=False),
    sa.Column('birthday', sa.String(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('member_id')
    )
    op.create_table('points_entry',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('points', sa.Integer(), nullable=False),
    sa.Column('remaining', sa.Integer(), nullable=False),
    sa.Column('expires_at', sa.String(length=20), nullable=True),
    sa.Column('receipt_id', sa.String(), nullable=True),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('counted_by_hq', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.create_index('ix_points_member', ['member_id', 'created_at'], unique=False)

    op.create_table('prepaid_entry',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('receipt_id', sa.String(), nullable=True),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('counted_by_hq', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('prepaid_entry', schema=None) as batch_op:
        batch_op.create_index('ix_prepaid_member', ['member_id', 'created_at'], unique=False)

    op.create_table('receipt',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('number', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=True),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('lines', sa.Text(), nullable=False),
    sa.Column('subtotal_minor', sa.Integer(), nullable=False),
    sa.Column('tier_discount_minor', sa.Integer(), nullable=False),
    sa.Column('coupon_code', sa.String(), nullable=True),
    sa.Column('coupon_discount_minor', sa.Integer(), nullable=False),
    sa.Column('points_redeemed', sa.Integer(), nullable=False),
    sa.Column('points_minor', sa.Integer(), nullable=False),
    sa.Column('prepaid_minor', sa.Integer(), nullable=False),
    sa.Column('remainder_minor', sa.Integer(), nullable=False),
    sa.Column('total_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(), nullable=False),
    sa.Column('price_version', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('number')
    )
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.create_index('ix_receipt_booking', ['booking_id'], unique=False)
        batch_op.create_index('ix_receipt_created', ['created_at'], unique=False)

    op.create_table('invoice_request',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('receipt_id', sa.String(), nullable=False),
    sa.Column('buyer_name', sa.String(), nullable=False),
    sa.Column('tax_id', sa.String(), nullable=False),
    sa.Column('email', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('invoice_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invoice_request_receipt_id'), ['receipt_id'], unique=False)

    op.create_table('payment',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('receipt_id', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=True),
    sa.Column('method', sa.String(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.create_index('ix_payment_created', ['created_at'], unique=False)
        batch_op.create_index('ix_payment_receipt', ['receipt_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('payment', schema=None) as batch_op:
        batch_op.drop_index('ix_payment_receipt')
        batch_op.drop_index('ix_payment_created')

    op.drop_table('payment')
    with op.batch_alter_table('invoice_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invoice_request_receipt_id'))

    op.drop_table('invoice_request')
    with op.batch_alter_table('receipt', schema=None) as batch_op:
        batch_op.drop_index('ix_receipt_created')
        batch_op.drop_index('ix_receipt_booking')

    op.drop_table('receipt')
    with op.batch_alter_table('prepaid_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_prepaid_member')

    op.drop_table('prepaid_entry')
    with op.batch_alter_table('points_entry', schema=None) as batch_op:
        batch_op.drop_index('ix_points_member')

    op.drop_table('points_entry')
    op.drop_table('member_balance')
    with op.batch_alter_table('coupon', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coupon_member_id'))

    op.drop_table('coupon')
    op.drop_table('conflict')

