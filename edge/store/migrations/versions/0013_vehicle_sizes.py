"""Vehicle size classes: an SUV's wash takes longer and costs more than a sedan's.

`service_item.by_size` holds a service's duration and price per size class that has its own
(JSON: class -> {duration_minutes, price_minor}); `vehicle.size_class` is the car's class
(NULL: not known, the station's default class).

Revision ID: 0013_vehicle_sizes
Revises: 0012_booking_legs
Create Date: 2026-12-03 21:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = "0013_vehicle_sizes"
down_revision = "0012_booking_legs"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_item") as batch:
        batch.add_column(sa.Column("by_size", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("vehicle") as batch:
        batch.add_column(sa.Column("size_class", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("vehicle") as batch:
        batch.drop_column("size_class")
    with op.batch_alter_table("service_item") as batch:
        batch.drop_column("by_size")
