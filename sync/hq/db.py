"""HQ's database: SQLite file by default, PostgreSQL by URL; sessions and dialect-neutral upserts."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from sqlalchemy import DateTime, create_engine, event, inspect
from sqlalchemy.engine import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.sql.schema import Table
from sqlmodel import Session

from sync.errors import SyncError
# importing registers HQ's tables on HqModel.metadata
from sync.hq import audit_tables, escrow_tables, member_tables, tables  # noqa: F401
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
        raise SyncError(f"cannot open the HQ database {masked_url(url)}: {err}") from err
    return engine


def masked_url(url: str) -> str:
    """`url` fit to print: its password, if any, as ***."""
    if "://" not in url:
        return url
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return url.split("://", 1)[0] + "://***"


def _sqlite_pragmas(dbapi_conn: Any, record: Any) -> None:
    dbapi_conn.isolation_level = None  # SQLAlchemy's begin event issues BEGIN IMMEDIATE itself
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = FULL")
    cursor.execute("PRAGMA busy_timeout = 30000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """HQ's tables, made if missing; an HQ database of an earlier release is brought up to date."""
    try:
        _scope_events_to_stations(engine)
        HqModel.metadata.create_all(engine)
    except SQLAlchemyError as err:
        raise SyncError(f"cannot create HQ's tables: {err}") from err


def _scope_events_to_stations(engine: Engine) -> None:
    """Earlier releases keyed `hq_event` by idem_key alone, which drops a second station's event
    with the same idem_key: re-key it by (station_id, idem_key), keeping every row."""
    with engine.begin() as conn:
        inspector = inspect(conn)
        if not inspector.has_table("hq_event"):
            return
        key = inspector.get_pk_constraint("hq_event")
        if key["constrained_columns"] != ["idem_key"]:
            return
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"ALTER TABLE hq_event DROP CONSTRAINT {key['name']}")
            conn.exec_driver_sql("ALTER TABLE hq_event ADD PRIMARY KEY (station_id, idem_key)")
            return
        columns = ", ".join(c.name for c in HqModel.metadata.tables["hq_event"].columns)
        for index in inspector.get_indexes("hq_event"):
            conn.exec_driver_sql(f"DROP INDEX {index['name']}")
        conn.exec_driver_sql("ALTER TABLE hq_event RENAME TO hq_event_unscoped")
        HqModel.metadata.tables["hq_event"].create(conn)
        conn.exec_driver_sql(f"INSERT INTO hq_event ({columns}) SELECT {columns} FROM hq_event_unscoped")
        conn.exec_driver_sql("DROP TABLE hq_event_unscoped")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One HQ transaction: commits on success, rolls back on error."""
    with Session(engine) as session:
        with session.begin():
            yield session


def dialect_insert(dialect: str) -> Any:
    """The `insert` construct of `dialect` (both HQ dialects know ON CONFLICT and RETURNING)."""
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


@cache
def _insert_ignore_statement(dialect: str, table: Table, returning: tuple[str, ...]) -> Any:
    """Built once per table: SQLAlchemy then finds its compiled form without rebuilding it."""
    statement = dialect_insert(dialect)(table).on_conflict_do_nothing()
    return statement.returning(*(table.c[name] for name in returning)) if returning else statement


def insert_ignore(session: Session, table: Table, rows: list[dict[str, Any]], *, returning: tuple[str, ...] = ()
                  ) -> list[tuple[Any, ...]]:
    """INSERT ... ON CONFLICT DO NOTHING of many rows (one cached statement, executemany); the
    `returning` columns of the rows actually inserted."""
    if not rows:
        return []
    statement = _insert_ignore_statement(session.get_bind().dialect.name, table, returning)
    if not returning:
        session.execute(statement, rows)
        return []
    return [tuple(row) for row in session.execute(statement, rows)]


class Driver:
    """Statements run straight on the database driver, for HQ's hottest path (SQLAlchemy's own
    work per statement costs several times the query): SQL written with `?` placeholders
    (rewritten for psycopg), times bound as SQLAlchemy stores them, savepoints by name."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect
        self.postgres = dialect.name == "postgresql"
        self._bind_time = DateTime(timezone=True).dialect_impl(dialect).bind_processor(dialect)
        self.failures = (OperationalError, dialect.dbapi.OperationalError)  # the database itself failed
        self._names = itertools.count(1)

    def sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.postgres else text

    def time(self, value: Any) -> Any:
        return self._bind_time(value) if self._bind_time else value

    @staticmethod
    def cursor(session: Session) -> Any:
        """A driver cursor on the session's connection: inside the session's transaction."""
        return session.connection().connection.dbapi_connection.cursor()

    @contextmanager
    def savepoint(self, cursor: Any) -> Iterator[None]:
        """What runs inside is undone if it raises (the exception goes on); kept if not."""
        name = f"hq_sp_{next(self._names)}"
        cursor.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            cursor.execute(f"ROLLBACK TO SAVEPOINT {name}")
            cursor.execute(f"RELEASE SAVEPOINT {name}")
            raise
        cursor.execute(f"RELEASE SAVEPOINT {name}")
