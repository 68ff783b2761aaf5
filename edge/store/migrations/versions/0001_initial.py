"""Initial station schema: identity, catalogue, members, bookings, slot claims, outbox.

Revision ID: 0001_initial
Revises: 
Create Date: 2026-11-23 14:32:13
"""

from alembic import op
import sqlalchemy as sa


revision = '0001_initial'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bay',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('kind', sa.String(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('in_service', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('member',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('phone', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('tier', sa.String(), nullable=False),
    sa.Column('credit_score', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('phone')
    )
    op.create_table('node',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('station_id', sa.String(), nullable=False),
    sa.Column('epoch', sa.String(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('catalog_version', sa.String(), nullable=False),
    sa.Column('hlc_wall_ms', sa.Integer(), nullable=False),
    sa.Column('hlc_logical', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('outbox',
    sa.Column('idem_key', sa.String(), nullable=False),
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('epoch', sa.String(), nullable=False),
    sa.Column('stream', sa.String(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('type', sa.String(), nullable=False),
    sa.Column('entity_id', sa.String(), nullable=False),
    sa.Column('hlc', sa.String(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('acked_at', sa.String(length=20), nullable=True),
    sa.PrimaryKeyConstraint('idem_key'),
    sa.UniqueConstraint('epoch', 'stream', 'seq', name='uq_outbox_stream_seq'),
    sqlite_with_rowid=False
    )
    op.create_table('outbox_seq',
    sa.Column('epoch', sa.String(), nullable=False),
    sa.Column('stream', sa.String(), nullable=False),
    sa.Column('last_seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('epoch', 'stream'),
    sqlite_with_rowid=False
    )
    op.create_table('package',
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('name_zh', sa.String(), nullable=False),
    sa.Column('name_en', sa.String(), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('service_item',
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('name_zh', sa.String(), nullable=False),
    sa.Column('name_en', sa.String(), nullable=False),
    sa.Column('category', sa.String(), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=False),
    sa.Column('buffer_minutes', sa.Integer(), nullable=False),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('skill', sa.String(), nullable=True),
    sa.Column('bay_kinds', sa.Text(), nullable=False),
    sa.Column('materials', sa.Text(), nullable=False),
    sa.Column('interval_days', sa.Integer(), nullable=True),
    sa.Column('interval_km', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('code')
    )
    op.create_table('technician',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('name', sa.String(), nullable=False),
    sa.Column('skills', sa.Text(), nullable=False),
    sa.Column('card_id', sa.String(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('card_id')
    )
    op.create_table('booking',
    sa.Column('id', sa.String(), nullable=False),
    sa.Column('code', sa.String(), nullable=False),
    sa.Column('plate', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('channel', sa.String(), nullable=False),
    sa.Column('state', sa.String(), nullable=False),
    sa.Column('progress', sa.String(), nullable=True),
    sa.Column('bay_id', sa.String(), nullable=False),
    sa.Column('technician_id', sa.String(), nullable=True),
    sa.Column('start_at', sa.String(length=20), nullable=False),
    sa.Column('end_at', sa.String(length=20), nullable=False),
    sa.Column('services', sa.Text(), nullable=False),
    sa.Column('package_code', sa.String(), nullable=True),
    sa.Column('price_minor', sa.Integer(), nullable=False),
    sa.Column('currency', sa.String(), nullable=False),
    sa.Column('price_version', sa.String(), nullable=False),
    sa.Column('hold_until', sa.String(length=20), nullable=True),
    sa.Column('notes', sa.String(), nullable=False),
    sa.Column('reason', sa.String(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.Column('updated_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['bay_id'], ['bay.id'], ),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_hold', ['hold_until'], unique=False, sqlite_where=sa.text("state = 'held'"))
        batch_op.create_index('ix_booking_plate_start', ['plate', 'start_at'], unique=False)
        batch_op.create_index('ix_booking_start', ['start_at'], unique=False)

    op.create_table('roster_shift',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('technician_id', sa.String(), nullable=False),
    sa.Column('weekday', sa.Integer(), nullable=False),
    sa.Column('start_minute', sa.Integer(), nullable=False),
    sa.Column('end_minute', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('roster_shift', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_roster_shift_technician_id'), ['technician_id'], unique=False)

    op.create_table('vehicle',
    sa.Column('plate', sa.String(), nullable=False),
    sa.Column('member_id', sa.String(), nullable=True),
    sa.Column('model', sa.String(), nullable=False),
    sa.Column('mileage_km', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.String(length=20), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ),
    sa.PrimaryKeyConstraint('plate'),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_vehicle_member_id'), ['member_id'], unique=False)

    op.create_table('slot_claim',
    sa.Column('bay_id', sa.String(), nullable=False),
    sa.Column('slot_start', sa.String(length=20), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.Column('hold_until', sa.String(length=20), nullable=True),
    sa.ForeignKeyConstraint(['bay_id'], ['bay.id'], ),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], initially='DEFERRED', deferrable=True),
    sa.PrimaryKeyConstraint('bay_id', 'slot_start'),
    sqlite_with_rowid=False
    )
    op.create_table('technician_claim',
    sa.Column('technician_id', sa.String(), nullable=False),
    sa.Column('slot_start', sa.String(length=20), nullable=False),
    sa.Column('booking_id', sa.String(), nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['booking.id'], initially='DEFERRED', deferrable=True),
    sa.ForeignKeyConstraint(['technician_id'], ['technician.id'], ),
    sa.PrimaryKeyConstraint('technician_id', 'slot_start'),
    sqlite_with_rowid=False
    )



def downgrade() -> None:
    op.drop_table('technician_claim')
    op.drop_table('slot_claim')
    with op.batch_alter_table('vehicle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_vehicle_member_id'))

    op.drop_table('vehicle')
    with op.batch_alter_table('roster_shift', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_roster_shift_technician_id'))

    op.drop_table('roster_shift')
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.drop_index('ix_booking_start')
        batch_op.drop_index('ix_booking_plate_start')
        batch_op.drop_index('ix_booking_hold', sqlite_where=sa.text("state = 'held'"))

    op.drop_table('booking')
    op.drop_table('technician')
    op.drop_table('service_item')
    op.drop_table('package')
    op.drop_table('outbox_seq')
    op.drop_table('outbox')
    op.drop_table('node')
    op.drop_table('member')
    op.drop_table('bay')
