"""HQ's database: SQLite file by default, PostgreSQL by URL; sessions and dialect-neutral upserts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.schema import Table
from sqlmodel import Session

from sync.errors import SyncError
from sync.hq import escrow_tables, tables  # noqa: F401  (importing registers HQ's tables on HqModel.metadata)
from sync.hq.models import HqModel


def open_engine(url: str) -> Engine:
    """An engine for `url` (a plain path means a SQLite file); SQLite writes take the lock up front."""
    if "://" not in url:
        url = f"sqlite:///{url}"
    try:
        if url.startswith("sqlite"):
            engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
            event.listen(engine, "connect", _sqlite_pragmas)
            event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
        else:
            engine = create_engine(url, pool_pre_ping=True)
    except (SQLAlchemyError, ImportError, ValueError) as err:
        raise SyncError(f"cannot open the HQ database {url}: {err}") from err
    return engine


def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's begin event issues BEGIN IMMEDIATE itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    try:
        HqModel.metadata.create_all(engine)
    except SQLAlchemyError as err:
        raise SyncError(f"cannot create HQ's tables: {err}") from err


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One HQ transaction: commits on success, rolls back on error."""
    with Session(engine) as session:
        with session.begin():
            yield session


def _insert(session: Session) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]], *, returning: tuple[str, ...] = ()
                  ) -> list[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT DO NOTHING of many rows (one cached statement, executemany); the
    `returning` columns of the rows actually inserted."""
    if not rows:
        return []
    statement = _insert(session)(table).on_conflict_do_nothing()
    if not returning:
        session.execute(statement, rows)
        return []
    result = session.execute(statement.returning(*(table.c[name] for name in returning)), rows)
    return [tuple(row) for row in result]


def upsert(session: Session, table: Table, rows: list[dict[str, Any]], *, keys: tuple[str, ...],
           set_: Any) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE SET set_(excluded) for many rows."""
    if not rows:
        return
    statement = _insert(session)(table)
    session.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=set_(statement.excluded)), rows)
