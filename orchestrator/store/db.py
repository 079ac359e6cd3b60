"""Connecting to the store: SQLite (embedded default, WAL) or PostgreSQL.

:class:`Store` is what the rest of the code is handed: an engine plus the two kinds of
transaction it needs — an ordinary one, and a *locking* one for check-and-reserve, which on
PostgreSQL is an ordinary transaction using ``SELECT … FOR UPDATE`` and on SQLite takes the
database write lock up front (``BEGIN IMMEDIATE``), because SQLite has no row locks.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from orchestrator.errors import ServiceUnavailable
from orchestrator.store.keys import Keyring
from orchestrator.store.types import keyring_for

_IMMEDIATE = "orchestrator_begin_immediate"


def create_engine(
    url: str, *, pool_size: int = 10, echo: bool = False, keyring: Keyring | None = None
) -> Engine:
    """An engine for ``url`` with the settings each database needs.

    Parameters:
      url: a SQLAlchemy URL (``sqlite:///path`` or ``postgresql+psycopg://...``).
      pool_size: connections kept per process (PostgreSQL).
      keyring: seals and opens personal data in this engine's columns; default: the
        process's, from the environment (``Keyring.from_environment``), when first needed.
    """
    if url.startswith("sqlite"):
        engine = _sqlite_engine(url, echo=echo)
    else:
        engine = sa.create_engine(
            url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            echo=echo,
        )
    if keyring is not None:
        # Where the sealed column types look (store/types.keyring_for): they see only the
        # dialect.
        engine.dialect.orchestrator_keyring = keyring  # type: ignore[attr-defined]
    return engine


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
    def connect(cls, url: str, *, pool_size: int = 10, keyring: Keyring | None = None) -> Store:
        """Connect, and refuse at once (saying what to set) when the keys for personal data
        are missing, rather than at the first borrower written.

        Parameters:
          keyring: seals and opens personal data; default: the environment's, read now.
        """
        keyring = keyring or Keyring.from_environment()
        store = cls(create_engine(url, pool_size=pool_size, keyring=keyring))
        store.check()
        return store

    @property
    def keyring(self) -> Keyring:
        """What seals and opens this store's personal data (and hashes addresses)."""
        return keyring_for(self.engine.dialect)

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


def id_in(conn: Connection, column: Any, ids: Sequence[int]) -> Any:
    """``column IN ids``. On PostgreSQL one array parameter (``= ANY``): a chunk of thousands
    of ids is then one bind and one statement text, which the driver parses once, instead of
    a new statement with thousands of placeholders each time."""
    if conn.dialect.name == "postgresql":
        return column == sa.any_(sa.bindparam(None, list(ids), type_=_ID_ARRAY))
    return column.in_(list(ids))


def insert_rows(
    conn: Connection,
    table: Any,
    rows: Sequence[dict[str, Any]],
    *,
    skip_conflicts_on: Sequence[str] = (),
    returning: Sequence[Any] = (),
) -> list[Any]:
    """Insert ``rows`` (dicts with the same keys) in one statement; optionally skip the
    rows that conflict on a unique key and return columns of those inserted.

    On PostgreSQL, from a few dozen rows on, the rows go in with ``COPY`` (straight into the
    table, or through a staging table when conflicts or RETURNING are asked for): a multi-row
    ``VALUES`` would cost the driver a parse of thousands of placeholders. Otherwise it is
    SQLAlchemy's executemany.
    """
    if not rows:
        return []
    keys = rows[0].keys()
    bulk = conn.dialect.name == "postgresql" and len(rows) >= _BULK
    if not bulk or any(row.keys() != keys for row in rows):
        statement = dialect_insert(conn, table)
        if skip_conflicts_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(skip_conflicts_on))
        if returning:
            return list(conn.execute(statement.returning(*returning), list(rows)).all())
        conn.execute(statement, list(rows))
        return []
    rows = _with_defaults(table, rows)
    names = list(rows[0])
    columns = [table.__table__.c[name] for name in names]
    if not skip_conflicts_on and not returning:
        _copy_rows(conn, table.__tablename__, columns, rows)
        return []
    # Through a session-local staging table: COPY in, then one INSERT … SELECT that knows
    # ON CONFLICT and RETURNING.
    staging = _staging_table(conn, table.__tablename__, names)
    _copy_rows(conn, staging, columns, rows)
    listed = ", ".join(names)
    sql = f"INSERT INTO {table.__tablename__} ({listed}) SELECT {listed} FROM {staging}"  # noqa: S608
    if skip_conflicts_on:
        sql += f" ON CONFLICT ({', '.join(skip_conflicts_on)}) DO NOTHING"
    if returning:
        sql += " RETURNING " + ", ".join(c.key for c in returning)
        return list(conn.execute(sa.text(sql).columns(*returning)).all())
    conn.exec_driver_sql(sql)
    return []


def _staging_table(conn: Connection, table: str, names: Sequence[str]) -> str:
    """An empty temporary table shaped like ``names`` of ``table`` (one per session and
    shape; created again if the transaction that made it was rolled back)."""
    key = hashlib.blake2b(" ".join(names).encode(), digest_size=4).hexdigest()
    staging = f"staging_{table}_{key}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "  # noqa: S608
        f"SELECT {', '.join(names)} FROM {table} WITH NO DATA; TRUNCATE {staging}"
    )
    return staging


_ID_ARRAY = postgresql.ARRAY(sa.BigInteger)
# Fewer rows go the ordinary way: one round trip, where COPY takes three.
_BULK = 32


def _copy_rows(
    conn: Connection, table: str, columns: Sequence[Any], rows: Sequence[dict[str, Any]]
) -> None:
    """Plain inserts on PostgreSQL: ``COPY``, the fastest way in, within the transaction."""
    convert = []
    for column in columns:
        if column.type.compile(dialect=conn.dialect) == "JSONB":
            convert.append(_json)
        else:
            convert.append(column.type.bind_processor(conn.dialect))
    keys = [c.key for c in columns]
    raw: Any = conn.connection.driver_connection
    names = ", ".join(keys)
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(
                [row[k] if f is None else f(row[k]) for k, f in zip(keys, convert, strict=True)]
            )


def _with_defaults(table: Any, rows: Sequence[dict[str, Any]]) -> Sequence[dict[str, Any]]:
    """Fill in the columns' Python-side defaults, as SQLAlchemy's own INSERT would."""
    missing = [
        c
        for c in table.__table__.c
        if c.key not in rows[0] and c.default is not None and not c.primary_key
    ]
    if not missing:
        return rows
    filled = []
    for row in rows:
        row = dict(row)
        for column in missing:
            default = column.default
            row[column.key] = default.arg(None) if default.is_callable else default.arg
        filled.append(row)
    return filled


def _json(value: Any) -> str:
    """A JSON column's value as text; ``None`` becomes JSON ``null``, as SQLAlchemy's JSON
    type stores it."""
    return orjson.dumps(value, default=str).decode()
