"""Schema upgrades on start: back the file up, then run Alembic to the head revision."""

from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from pathlib import Path

from edge.errors import StoreError

log = logging.getLogger(__name__)

# the newest migration; a test keeps it equal to Alembic's head, and it spares every start
# the cost of importing Alembic when the file is already current
HEAD_REVISION = "0004_loyalty"
MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def current_revision(path: Path) -> str | None:
    """The revision stamped in the file, or None for a new (or pre-Alembic) file."""
    with closing(sqlite3.connect(path)) as conn:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not has_table:
            return None
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return row[0] if row else None


def upgrade_to_head(path: Path, *, revision: str = "head") -> None:
    """Bring the file to `revision`; a file that holds data is copied aside first."""
    current = current_revision(path)
    if current == HEAD_REVISION and revision == "head":
        return
    if current is not None:
        backup = path.with_name(f"{path.name}.before-{HEAD_REVISION}")
        _backup(path, backup)
        log.info("schema upgrade from=%s backup=%s", current, backup)
    _run_alembic(path, revision)


def _backup(source: Path, target: Path) -> None:
    with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def migration_engine(path: Path):
    """A SQLAlchemy engine for Alembic (and schema checks); the services use sqlite3 directly."""
    from sqlalchemy import create_engine, event

    engine = create_engine(f"sqlite:///{path}")

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record) -> None:
        dbapi_connection.execute("PRAGMA journal_mode = WAL")
        dbapi_connection.execute("PRAGMA synchronous = FULL")

    return engine


def _run_alembic(path: Path, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    engine = migration_engine(path)
    try:
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    except Exception as err:  # Alembic and SQLAlchemy raise many kinds; all mean the same here
        raise StoreError(f"migrating {path} to {revision} failed: {err}") from err
    finally:
        engine.dispose()
