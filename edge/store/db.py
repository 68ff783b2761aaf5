"""Opening the station database: pragmas, migrate-on-start, and read / write transactions.

Every write is `BEGIN IMMEDIATE`: the writer takes SQLite's single write lock before it
reads anything, so a check and the write that depends on it can never interleave with
another process's write. Business data is `synchronous=FULL`: a booking that was
confirmed to a customer survives a power cut.

Services talk to the file through the standard library's sqlite3 (rows as sqlite3.Row):
SQLModel declares the tables and Alembic migrates them, but a booking's dozen statements
must not pay an ORM's cost inside the write lock.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from edge.errors import StoreError

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 30_000
PRAGMAS = (
    f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode = WAL",
    "PRAGMA synchronous = FULL",
    "PRAGMA foreign_keys = ON",
)


@dataclass(frozen=True, slots=True)
class NodeIdentity:
    station_id: str
    epoch: str


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the station's pragmas; transactions are begun explicitly."""
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    for pragma in PRAGMAS:
        conn.execute(pragma)
    return conn


class Store:
    """One station database file, migrated to the current schema when opened.

    Each thread gets its own connection (sqlite3 connections must not be shared by
    threads that may run at the same time).
    """

    def __init__(self, path: str | Path, *, migrate: bool = True) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise StoreError(f"data directory {self.path.parent} does not exist")
        self._local = threading.local()
        # each connection with the thread that opened it (and alone uses it)
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._lock = threading.Lock()
        self._identity: NodeIdentity | None = None
        self._watch: sqlite3.Connection | None = None
        if migrate:
            from edge.store.migrate import upgrade_to_head

            upgrade_to_head(self.path)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = connect(self.path)
            except sqlite3.Error as err:
                raise StoreError(f"cannot open {self.path}: {err}") from err
            self._local.conn = conn
            with self._lock:
                self._connections.append((threading.current_thread(), conn))
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (BEGIN IMMEDIATE); commits on success, rolls back on error."""
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise StoreError(f"cannot start a write on {self.path}: {err}") from err
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise StoreError(f"write to {self.path} failed: {err}") from err

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction: a consistent snapshot of the file (WAL readers never block).

        Inside this thread's open transaction it reads in that transaction.
        """
        conn = self._connection()
        if conn.in_transaction:
            yield conn
            return
        conn.execute("BEGIN")
        try:
            yield conn
        finally:
            conn.execute("COMMIT")

    @property
    def identity(self) -> NodeIdentity:
        """Station id and epoch of this database (StoreError before `init`)."""
        if self._identity is None:
            with self.read() as conn:
                row = conn.execute("SELECT station_id, epoch FROM node WHERE id = 1").fetchone()
            if row is None:
                raise StoreError(f"{self.path} has no station identity; run `station-edge init` first")
            self._identity = NodeIdentity(row["station_id"], row["epoch"])
        return self._identity

    def data_version(self) -> int:
        """SQLite's counter of commits by other connections: a cheap 'did anything change?'.

        The counter is per connection, so it is read on one connection kept for this alone.
        """
        if self._watch is None:
            self._watch = sqlite3.connect(self.path, check_same_thread=False)
        return self._watch.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        """Close this thread's connection and those of threads that have ended.

        A connection of a thread still running may be inside a statement at this moment, and
        closing it under that thread crashes the process: the store only lets go of it, and it
        closes when its thread is done with it (when the thread ends, or drops it).
        """
        with self._lock:
            connections, self._connections = self._connections, []
        current = threading.current_thread()
        for owner, conn in connections:
            if owner is current or not owner.is_alive():
                conn.close()
        self._local = threading.local()
        if self._watch is not None:
            self._watch.close()
            self._watch = None
