"""Service delivery: service reports, feedback and its requests, complaints, disruptions, bay outages.

Revision ID: 0005_delivery
Revises: 0004_loyalty
Create Date: 2026-11-23 15:30:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0005_delivery"
down_revision = "0004_loyalty"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('service_report',
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('plate', sa.String(), nullable=False),
    sa.Column('technician_id', sa.String(), nullable=True),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('work_done', sa.String(), nullable=False),
    sa.Column('parts', sa.Text(), nullable=False),
    sa.Column('findings', sa.Text(), nullable=False),
    sa.Column('advice', sa.Text(), nullable=False),
    sa.Column('mileage_km', sa.Integer(), nullable=True),
    sa.Column('next_due_date', sa.String(), nullable=True),
    sa.Column('next_due_km', sa.Integer(), nullable=True),
    sa.Column('next_due_basis', sa.String(), nullable=False),
    sa.Column('completed_at', sa.String(length=20), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('booking_id')
    )
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.create_index('ix_service_report_plate', ['plate', 'completed_at'], unique=False)

    op.create_table('feedback_request',
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('due_at', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('booking_id')
    )
    with op.batch_alter_table('feedback_request', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_request_due', ['due_at'], unique=False)

    op.create_table('feedback',
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(), nullable=False),
    sa.Column('recorded_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('booking_id')
    )
    op.create_table('complaint',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaint_booking_id'), ['booking_id'], unique=False)
        batch_op.create_index('ix_complaint_state', ['state', 'created_at'], unique=False)

    op.create_table('disruption',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('cause', sa.String(), nullable=False),
    sa.Column('cause_ref', sa.String(), nullable=False),
    sa.Column('offers', sa.Text(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('choice', sa.String(), nullable=True),
    sa.Column('coupon_code', sa.String(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('disruption', schema=None) as batch_op:
        batch_op.create_index('ix_disruption_booking', ['booking_id', 'created_at'], unique=False)

    op.create_table('bay_outage',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('bay_id', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('started_at', sa.String(length=20), nullable=False),
    sa.Column('ended_at', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['bay_id'], ['bay.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('bay_outage', schema=None) as batch_op:
        batch_op.create_index('ix_bay_outage_bay', ['bay_id', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('bay_outage', schema=None) as batch_op:
        batch_op.drop_index('ix_bay_outage_bay')

    op.drop_table('bay_outage')
    with op.batch_alter_table('disruption', schema=None) as batch_op:
        batch_op.drop_index('ix_disruption_booking')

    op.drop_table('disruption')
    with op.batch_alter_table('complaint', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_state')
        batch_op.drop_index(batch_op.f('ix_complaint_booking_id'))

    op.drop_table('complaint')
    op.drop_table('feedback')
    with op.batch_alter_table('feedback_request', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_request_due')

    op.drop_table('feedback_request')
    with op.batch_alter_table('service_report', schema=None) as batch_op:
        batch_op.drop_index('ix_service_report_plate')

    op.drop_table('service_report')
