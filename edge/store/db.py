"""Opening the station database: pragmas, migrate-on-start, and read / write transactions.

Every write is `BEGIN IMMEDIATE`: the writer takes SQLite's single write lock before it
reads anything, so a check and the write that depends on it can never interleave with
another process's write. Business data is `synchronous=FULL`: a booking that was
confirmed to a customer survives a power cut.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import QueuePool

from edge.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    station_id: str
    epoch: str


def _configure_connection(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    # SQLAlchemy must not issue its own BEGIN: we emit BEGIN / BEGIN IMMEDIATE ourselves
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def _begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


def make_engine(path: Path) -> Engine:
    """A SQLAlchemy engine on the station file with our pragmas and explicit BEGINs."""
    engine = create_engine(
        f"sqlite:///{path}",
        poolclass=QueuePool,
        pool_size=4,
        max_overflow=8,
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    event.listen(engine, "connect", _configure_connection)
    event.listen(engine, "begin", _begin)
    return engine


class Store:
    """One station database file, migrated to the current schema when opened."""

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreError(f"data directory {self.path.parent} does not exist")
        self.engine = make_engine(self.path)
        if migrate:
            from edge.store.migrate import upgrade_to_head

            upgrade_to_head(self)
        self._identity: NodeIdentity | None = None
        self._watch: sqlite3.Connection | None = None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        try:
            with self.engine.connect() as raw:
                conn = raw.execution_options(sqlite_begin="IMMEDIATE")
                with conn.begin():
                    # a booking claims its cells before its own row exists: check FKs at commit
                    conn.exec_driver_sql("PRAGMA defer_foreign_keys = ON")
                    yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"write to {self.path} failed: {err}") from err

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction: a consistent snapshot of the file (WAL readers never block)."""
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except SQLAlchemyError as err:
            raise StoreError(f"read from {self.path} failed: {err}") from err

    @property
    def identity(self) -> NodeIdentity:
        """Station id and epoch of this database (StoreError before `init`)."""
        if self._identity is None:
            with self.read() as conn:
                row = conn.exec_driver_sql("SELECT station_id, epoch FROM node WHERE id = 1").first()
            if row is None:
                raise StoreError(f"{self.path} has no station identity; run `station-edge init` first")
            self._identity = NodeIdentity(row.station_id, row.epoch)
        return self._identity

    def data_version(self) -> int:
        """SQLite's counter of commits by other connections: a cheap 'did anything change?'.

        The counter is per connection, so it is read on one connection kept for this alone.
        """
        if self._watch is None:
            self._watch = sqlite3.connect(self.path, check_same_thread=False)
        return self._watch.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        if self._watch is not None:
            self._watch.close()
            self._watch = None
        self.engine.dispose()
