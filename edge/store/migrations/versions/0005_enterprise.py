"""Enterprise (fleet) accounts: accounts, sub-accounts, fleet vehicles, packages, approval rules,
fleet bookings, approval requests and decisions, charges on account.

Revision ID: 0005_enterprise
Revises: 0004_loyalty
Create Date: 2026-11-24 09:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_enterprise"
down_revision = "0004_loyalty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('enterprise_account',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('tax_id', sa.String(), nullable=False),
    sa.Column('verified', sa.Boolean(), nullable=False),
    sa.Column('credit_limit_minor', sa.Integer(), nullable=False),
    sa.Column('approval_hours', sa.Integer(), nullable=False),
    sa.Column('outstanding_snapshot_minor', sa.Integer(), nullable=False),
    sa.Column('snapshot_at', sa.String(length=20), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('approval_rule',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('category', sa.String(), nullable=False),
    sa.Column('above_minor', sa.Integer(), nullable=False),
    sa.Column('approver_role', sa.String(), nullable=False),
    sa.Column('expiry_hours', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_approval_rule_enterprise_id'), 'approval_rule', ['enterprise_id'], unique=False)
    op.create_table('enterprise_package',
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=True),
    sa.Column('period', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.PrimaryKeyConstraint('enterprise_id', 'code')
    )
    op.create_table('enterprise_sub_account',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('permissions', sa.Text(), nullable=False),
    sa.Column('monthly_limit_minor', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('enterprise_id', 'phone', name='uq_enterprise_sub_account_phone')
    )
    op.create_table('enterprise_vehicle',
    sa.Column('plate', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.PrimaryKeyConstraint('plate')
    )
    op.create_index(op.f('ix_enterprise_vehicle_enterprise_id'), 'enterprise_vehicle', ['enterprise_id'], unique=False)
    op.create_table('approval_request',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('sub_account_id', sa.String(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('categories', sa.Text(), nullable=False),
    sa.Column('required_roles', sa.Text(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('expires_at', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.ForeignKeyConstraint(['sub_account_id'], ['enterprise_sub_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('booking_id')
    )
    op.create_index(op.f('ix_approval_request_enterprise_id'), 'approval_request', ['enterprise_id'], unique=False)
    op.create_index('ix_approval_request_pending', 'approval_request', ['expires_at'], unique=False, sqlite_where=sa.text("state = 'pending'"))
    op.create_table('enterprise_booking',
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('sub_account_id', sa.String(), nullable=False),
    sa.Column('package_code', sa.String(), nullable=True),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.ForeignKeyConstraint(['sub_account_id'], ['enterprise_sub_account.id'], ),
    sa.PrimaryKeyConstraint('booking_id')
    )
    op.create_index('ix_enterprise_booking_sub_month', 'enterprise_booking', ['sub_account_id', 'month'], unique=False)
    op.create_table('approval_decision',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('request_id', sa.String(), nullable=False),
    sa.Column('sub_account_id', sa.String(), nullable=False),
    sa.Column('role', sa.String(), nullable=False),
    sa.Column('approved', sa.Boolean(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['approval_request.id'], ),
    sa.ForeignKeyConstraint(['sub_account_id'], ['enterprise_sub_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_approval_decision_request_id'), 'approval_decision', ['request_id'], unique=False)
    op.create_table('enterprise_charge',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('enterprise_id', sa.String(), nullable=False),
    sa.Column('sub_account_id', sa.String(), nullable=True),
    sa.Column('booking_id', sa.String(), nullable=True),
    sa.Column('receipt_id', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('amount_minor', sa.Integer(), nullable=False),
    sa.Column('month', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('counted_by_hq', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['enterprise_id'], ['enterprise_account.id'], ),
    sa.ForeignKeyConstraint(['receipt_id'], ['receipt.id'], ),
    sa.ForeignKeyConstraint(['sub_account_id'], ['enterprise_sub_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_enterprise_charge_booking', 'enterprise_charge', ['booking_id'], unique=False)
    op.create_index('ix_enterprise_charge_month', 'enterprise_charge', ['enterprise_id', 'month'], unique=False)
    op.create_index('ix_enterprise_charge_sub_month', 'enterprise_charge', ['sub_account_id', 'month'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_enterprise_charge_sub_month', table_name='enterprise_charge')
    op.drop_index('ix_enterprise_charge_month', table_name='enterprise_charge')
    op.drop_index('ix_enterprise_charge_booking', table_name='enterprise_charge')
    op.drop_table('enterprise_charge')
    op.drop_index(op.f('ix_approval_decision_request_id'), table_name='approval_decision')
    op.drop_table('approval_decision')
    op.drop_index('ix_enterprise_booking_sub_month', table_name='enterprise_booking')
    op.drop_table('enterprise_booking')
    op.drop_index('ix_approval_request_pending', table_name='approval_request', sqlite_where=sa.text("state = 'pending'"))
    op.drop_index(op.f('ix_approval_request_enterprise_id'), table_name='approval_request')
    op.drop_table('approval_request')
    op.drop_index(op.f('ix_enterprise_vehicle_enterprise_id'), table_name='enterprise_vehicle')
    op.drop_table('enterprise_vehicle')
    op.drop_table('enterprise_sub_account')
    op.drop_table('enterprise_package')
    op.drop_index(op.f('ix_approval_rule_enterprise_id'), table_name='approval_rule')
    op.drop_table('approval_rule')
    op.drop_table('enterprise_account')
