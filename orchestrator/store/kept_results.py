"""Results kept per tenant and calendar month, so a month's results are one row to read.

A month's results are per-account distinct counts whose cohort is each account's *first*
task in the month, so they cannot be added up from smaller periods; they are counted once
by the exact query (:func:`orchestrator.reporting.results.figure_rows`) and kept in
``results_kept`` for as long as nothing that could move them has been written.

Database triggers (migration 0015) append a mark to ``results_marks`` in the same
transaction as every insert, delete, or update of a column the results read:

- ``tasks``: the month of ``local_date``;
- ``attempts``: the month of ``at`` (UTC);
- ``account_events`` (promises and payments): the month of ``at``, and of a promise's
  ``until``; a payment marks its month *onward* (it can keep a promise due in any later
  month);
- ``accounts``: a change of currency (or tenant) marks every month onward.

Being triggers, they mark every writer: the services, delivery reports, retention, erasure
(an account's rows deleted by cascade), raw SQL. Writers only ever insert marks, so no two
of them wait on a shared row. A kept month is used only while no mark names it
(:func:`lookup`); :func:`fold` deletes the kept months the marks name, then the marks.

A count begun before a fold is not kept (:func:`keep` compares the generation the fold
bumps): a mark it did not see may have been folded away in between.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.db import Store, dialect_insert
from orchestrator.store.tables import ResultsGeneration, ResultsKept, ResultsMark

_GENERATION = 1  # the id of the one row of results_generation


def month_of(day: date) -> date:
    return day.replace(day=1)


def is_month(start: date, end: date) -> bool:
    """Whether [``start``, ``end``) is exactly one calendar month."""
    return start.day == 1 and end == next_month(start)


def next_month(day: date) -> date:
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _marked(tenant_id: int, month: date) -> sa.ColumnElement[bool]:
    """Whether a mark not yet folded names the tenant's ``month``."""
    return sa.exists().where(
        ResultsMark.tenant_id == tenant_id,
        sa.or_(
            ResultsMark.month == month,
            sa.and_(ResultsMark.onward, ResultsMark.month <= month),
        ),
    )


def generation(conn: Connection) -> int:
    """The folds so far; read it before counting, hand it to :func:`keep`."""
    return int(
        conn.execute(
            sa.select(ResultsGeneration.generation).where(ResultsGeneration.id == _GENERATION)
        ).scalar_one()
    )


def lookup(conn: Connection, tenant_id: int, month: date) -> str | None:
    """The tenant's kept figures for ``month``, or ``None`` when none are kept or a write
    since may have moved them."""
    return conn.execute(
        sa.select(ResultsKept.figures).where(
            ResultsKept.tenant_id == tenant_id,
            ResultsKept.month == month,
            sa.not_(_marked(tenant_id, month)),
        )
    ).scalar()


def keep(store: Store, tenant_id: int, month: date, figures: str, seen: int, now: datetime) -> bool:
    """Keep ``figures``, counted after generation ``seen`` was read; whether they were kept
    (not when a fold ran since, or a write not yet folded names the month)."""
    with store.locking_transaction() as conn:
        current = sa.select(ResultsGeneration.generation).where(ResultsGeneration.id == _GENERATION)
        if conn.dialect.name == "postgresql":
            current = current.with_for_update(read=True)
        if conn.execute(current).scalar_one() != seen:
            return False
        if conn.execute(sa.select(_marked(tenant_id, month))).scalar():
            return False
        insert = dialect_insert(conn, ResultsKept).values(
            tenant_id=tenant_id, month=month, figures=figures, counted_at=now
        )
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=["tenant_id", "month"],
                set_={"figures": insert.excluded.figures, "counted_at": now},
            )
        )
        return True


def fold(conn: Connection) -> int:
    """In the caller's transaction: forget the kept months the marks name, then the marks;
    how many marks were folded."""
    conn.execute(
        sa.update(ResultsGeneration)
        .where(ResultsGeneration.id == _GENERATION)
        .values(generation=ResultsGeneration.generation + 1)
    )
    if conn.dialect.name == "postgresql":
        return int(
            conn.execute(
                sa.text(
                    """
                    WITH gone AS (DELETE FROM results_marks RETURNING tenant_id, month, onward),
                    marks AS (SELECT DISTINCT tenant_id, month, onward FROM gone),
                    forgotten AS (
                        DELETE FROM results_kept k USING marks m
                        WHERE k.tenant_id = m.tenant_id
                          AND (k.month = m.month OR (m.onward AND k.month >= m.month))
                        RETURNING 1)
                    SELECT count(*) FROM gone"""
                )
            ).scalar_one()
        )
    # SQLite: the transaction holds the database's write lock, so no mark can commit
    # between forgetting and deleting.
    last = conn.execute(sa.select(sa.func.max(ResultsMark.id))).scalar()
    if last is None:
        return 0
    conn.execute(
        sa.delete(ResultsKept).where(
            sa.exists().where(
                ResultsMark.id <= last,
                ResultsMark.tenant_id == ResultsKept.tenant_id,
                sa.or_(
                    ResultsMark.month == ResultsKept.month,
                    sa.and_(ResultsMark.onward, ResultsMark.month <= ResultsKept.month),
                ),
            )
        )
    )
    return int(conn.execute(sa.delete(ResultsMark).where(ResultsMark.id <= last)).rowcount)


def fold_all(store: Store) -> int:
    """Fold the marks written since the last pass; takes no write lock when there are
    none."""
    with store.snapshot() as conn:
        if conn.execute(sa.select(ResultsMark.id).limit(1)).first() is None:
            return 0
    with store.transaction() as conn:
        return fold(conn)
