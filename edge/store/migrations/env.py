"""Alembic environment for the station database: runs on the connection station-edge hands it."""

from __future__ import annotations

from alembic import context

from edge.store.models import TABLES

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("station-edge migrations run through edge.store.migrate, which passes a connection")

# SQLite cannot ALTER most things in place: batch mode copies the table, keeping its data
context.configure(connection=connection, target_metadata=TABLES, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
