"""Schema upgrades on start: back the file up, then run Alembic to the head revisions."""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import closing
from functools import lru_cache
from pathlib import Path

from edge.errors import StoreError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_REVISION = re.compile(r"^revision\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*=\s*(.+)$", re.MULTILINE)


@lru_cache(maxsize=1)
def script_heads() -> frozenset[str]:
    """The newest revision of every migration branch, read from the scripts' own headers.

    Reading the headers spares every start the cost of importing Alembic when the file is
    already current; a test keeps this equal to Alembic's own answer.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS_DIR / "versions").glob("*.py"):
        text = script.read_text(encoding="utf-8")
        revision = _REVISION.search(text)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN.search(text)
        if down is not None:
            parents.update(re.findall(r"['\"]([^'\"]+)['\"]", down.group(1)))
    return frozenset(revisions - parents)


def current_revisions(path: Path) -> frozenset[str]:
    """The revisions stamped in the file; empty for a new (or pre-Alembic) file."""
    with closing(sqlite3.connect(path)) as conn:
        has_table = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
        ).fetchone()
        if not has_table:
            return frozenset()
        return frozenset(row[0] for row in conn.execute("SELECT version_num FROM alembic_version"))


def upgrade_to_head(path: Path, *, revision: str = "heads") -> None:
    """Bring the file to `revision` (every branch's head by default); a file that holds data
    is copied aside first."""
    current = current_revisions(path)
    if revision == "heads" and current == script_heads():
        return
    if current:
        backup = path.with_name(f"{path.name}.before-{'+'.join(sorted(script_heads()))}")
        _backup(path, backup)
        log.info("schema upgrade from=%s backup=%s", "+".join(sorted(current)), backup)
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
