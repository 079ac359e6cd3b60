"""Connecting to the store: SQLite (embedded default, WAL) or PostgreSQL.

:class:`Store` is what the rest of the code is handed: an engine plus the two kinds of
transaction it needs — an ordinary one, and a *locking* one for check-and-reserve, which on
PostgreSQL is an ordinary transaction using ``SELECT … FOR UPDATE`` and on SQLite takes the
database write lock up front (``BEGIN IMMEDIATE``), because SQLite has no row locks.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from orchestrator.errors import ServiceUnavailable

_IMMEDIATE = "orchestrator_begin_immediate"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> Engine:
    """An engine for ``url`` with the settings each database needs.

    Parameters:
      url: a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
      pool_size: connections kept per process (PostgreSQL).
    """
    if url.startswith("sqlite"):
        return _sqlite_engine(url, echo=echo)
    return sa.create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        echo=echo,
    )


def _sqlite_engine(url: str, *, echo: bool) -> Engine:
    database = sa.engine.make_url(url).database
    if database and database != ":memory:":
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url,
        connect_args={"check_same_thread": False, "timeout": 30},
        echo=echo,
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event emit BEGIN itself (the pysqlite recipe), so a
        # locking transaction can ask for BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def describe(url: str) -> str:
    """The database a URL names, for messages (no password)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}"
    return f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


class Store:
    """The store, as handed to the API, the planner, dispatch and the CLI.

    Parameters:
      engine: from :func:`create_engine`.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def connect(cls, url: str, *, pool_size: int = 10) -> Store:
        store = cls(create_engine(url, pool_size=pool_size))
        store.check()
        return store

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    def check(self) -> None:
        """Raise :class:`ServiceUnavailable` with one sentence when the database is down."""
        try:
            with self.engine.connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            where = describe(str(self.engine.url))
            hint = (
                "start PostgreSQL (or unset DATABASE_URL to use the embedded SQLite file)"
                if not self.is_sqlite
                else "check that the data folder is writable"
            )
            raise ServiceUnavailable(f"Cannot reach {where} ({reason}): {hint}.") from None

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A read-write transaction; commits on success, rolls back on error.

        On SQLite it takes the write lock up front (``BEGIN IMMEDIATE``): a deferred
        transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT instead of
        waiting its turn.
        """
        with self.engine.connect() as conn:
            if self.is_sqlite:
                conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def locking_transaction(self) -> Iterator[Connection]:
        """A transaction for check-and-reserve.

        Use ``SELECT ... FOR UPDATE`` on the rows to lock inside it (PostgreSQL); on SQLite
        the whole transaction holds the write lock from its first statement.
        """
        with self.transaction() as conn:
            yield conn

    @contextmanager
    def snapshot(self) -> Iterator[Connection]:
        """A read-only transaction: several reads that see one consistent state."""
        with self.engine.connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        self.engine.dispose()


def dialect_insert(conn: Connection, table: Any) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT`` (PostgreSQL and SQLite alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
