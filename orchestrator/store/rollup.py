"""Counts kept as rows are written, so the overview reads hundreds of rows, not millions.

Database triggers (migration 0011) append a change (+1 / -1) to ``rollup_changes`` in the
same transaction as every insert, delete, or update of a counted column of:

- ``attempts``: kind ``contact``, per UTC hour of ``at``, channel and status;
- ``ledger_entries`` naming rules: kind ``blocked`` (``task.blocked``, ``task.cancelled``,
  ``task.expired``) or ``deferred`` (any other kind), per UTC hour and rule, once per rule
  the entry names;
- ``tasks``: kind ``task`` per status (no hour: :data:`TIMELESS`);
- ``accounts``: kind ``account``.

Being triggers, they count every writer: the services, retention, erasure (which deletes
an account and, by cascade, its rows), raw SQL. Writers only ever *insert* changes, so no
two of them wait on a shared counter row. :func:`fold` moves changes into ``rollup_totals``
(summed per key) and deletes them, atomically; a figure is always totals plus the changes
not yet folded, read in one statement, so it is exact whenever the fold last ran.
:func:`rebuild` recounts one tenant from its rows (the backfill; a repair).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.db import Store
from orchestrator.store.tables import RollupChange, RollupTotal

# The hour of counts that have none (tasks per status, accounts).
TIMELESS = datetime(1970, 1, 1, tzinfo=UTC)
# Ledger kinds that end a contact for good; every other kind naming a rule moved it later.
BLOCKING_KINDS = ("task.blocked", "task.cancelled", "task.expired")
KINDS = ("contact", "blocked", "deferred", "task", "account")
FOLD_BATCH = 50_000
# What :func:`rebuild` recounts, in order (its progress names each).
REBUILD_STEPS = ("accounts", "tasks", "attempts", "ledger entries")
# pg_advisory_xact_lock key: folds and rebuilds take turns (their upserts would otherwise
# lock the same total rows in different orders).
_LOCK = 0x726F6C6C7570  # "rollup"


@dataclass(frozen=True, slots=True)
class Count:
    hour: datetime
    k1: str
    k2: str
    n: int


def ceil_hour(at: datetime) -> datetime:
    floor = floor_hour(at)
    return floor if floor == at else floor + timedelta(hours=1)


def floor_hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def kept(tenant_id: int, kind: str | tuple[str, ...], lo: datetime, hi: datetime) -> Any:
    """A selectable of (kind, hour, k1, k2, n) rows: totals plus unfolded changes of
    ``kind`` (one or several) for hours in [``lo``, ``hi``); sum ``n`` over them (a key may
    appear several times)."""
    kinds = (kind,) if isinstance(kind, str) else kind
    totals = sa.select(
        RollupTotal.kind, RollupTotal.hour, RollupTotal.k1, RollupTotal.k2, RollupTotal.n
    ).where(
        RollupTotal.tenant_id == tenant_id,
        RollupTotal.kind.in_(kinds),
        RollupTotal.hour >= lo,
        RollupTotal.hour < hi,
    )
    changes = sa.select(
        RollupChange.kind, RollupChange.hour, RollupChange.k1, RollupChange.k2, RollupChange.n
    ).where(
        RollupChange.tenant_id == tenant_id,
        RollupChange.kind.in_(kinds),
        RollupChange.hour >= lo,
        RollupChange.hour < hi,
    )
    return sa.union_all(totals, changes)


def timeless(conn: Connection, tenant_id: int, kind: str) -> dict[str, int]:
    """k1 → count of a timeless kind (``task``: per status; ``account``: under ``''``);
    zero counts left out."""
    rows = kept(tenant_id, kind, TIMELESS, TIMELESS + timedelta(hours=1)).subquery()
    total = sa.func.sum(rows.c.n)
    return {
        k1: int(n)
        for k1, n in conn.execute(
            sa.select(rows.c.k1, total).group_by(rows.c.k1).having(total != 0)
        )
    }


# --- keeping the totals ----------------------------------------------------------------------


def fold(conn: Connection, *, batch: int = FOLD_BATCH) -> int:
    """Move up to ``batch`` changes into the totals, in the caller's transaction; how many
    were moved. Safe to run from several processes at once."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        moved = conn.execute(
            sa.text(
                """
                WITH moved AS (
                    DELETE FROM rollup_changes WHERE id IN (
                        SELECT id FROM rollup_changes ORDER BY id LIMIT :batch
                        FOR UPDATE SKIP LOCKED)
                    RETURNING tenant_id, kind, hour, k1, k2, n),
                added AS (
                    INSERT INTO rollup_totals (tenant_id, kind, hour, k1, k2, n)
                    SELECT tenant_id, kind, hour, k1, k2, sum(n) FROM moved
                    GROUP BY tenant_id, kind, hour, k1, k2
                    ON CONFLICT (tenant_id, kind, hour, k1, k2)
                    DO UPDATE SET n = rollup_totals.n + EXCLUDED.n
                    RETURNING 1)
                SELECT count(*) FROM moved"""
            ),
            {"batch": batch},
        ).scalar_one()
        return int(moved)
    # SQLite: the transaction holds the database's write lock, so no change can commit
    # between adding and deleting.
    last = conn.execute(
        sa.text("SELECT max(id) FROM (SELECT id FROM rollup_changes ORDER BY id LIMIT :batch)"),
        {"batch": batch},
    ).scalar()
    if last is None:
        return 0
    conn.execute(
        sa.text(
            """
            INSERT INTO rollup_totals (tenant_id, kind, hour, k1, k2, n)
            SELECT tenant_id, kind, hour, k1, k2, sum(n) FROM rollup_changes WHERE id <= :last
            GROUP BY tenant_id, kind, hour, k1, k2
            ON CONFLICT (tenant_id, kind, hour, k1, k2) DO UPDATE SET n = n + excluded.n"""
        ),
        {"last": last},
    )
    return int(
        conn.execute(
            sa.text("DELETE FROM rollup_changes WHERE id <= :last"), {"last": last}
        ).rowcount
    )


def fold_all(store: Store, *, batch: int = FOLD_BATCH) -> int:
    """Fold until no change is left, one transaction per batch; how many changes were
    moved. Takes no write lock when there is nothing to fold."""
    total = 0
    with store.snapshot() as conn:
        if conn.execute(sa.select(RollupChange.id).limit(1)).first() is None:
            return 0
    while True:
        with store.transaction() as conn:
            moved = fold(conn, batch=batch)
        total += moved
        if moved < batch:
            return total


def _hour(column: str, dialect: str) -> str:
    if dialect == "postgresql":
        return f"date_trunc('hour', {column} AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    return f"strftime('%Y-%m-%d %H:00:00.000000', {column})"


def _timeless(dialect: str) -> str:
    if dialect == "postgresql":
        return "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
    return "'1970-01-01 00:00:00.000000'"


def recounts(dialect: str, tenant_ids: Sequence[int] | None) -> list[tuple[str, str]]:
    """(what, statement) pairs that add to ``rollup_totals`` every count of the rows of
    ``tenant_ids`` (``None``: every tenant), straight from the rows: what the triggers
    would have appended had they always been there."""
    where, where_e = _tenants("tenant_id", tenant_ids), _tenants("e.tenant_id", tenant_ids)
    blocking = ", ".join(f"'{k}'" for k in BLOCKING_KINDS)
    if dialect == "postgresql":
        rules = (
            "ledger_entries e CROSS JOIN LATERAL jsonb_array_elements_text("
            "CASE WHEN jsonb_typeof(e.rules) = 'array' THEN e.rules ELSE '[]'::jsonb END) "
            "AS r(rule)"
        )
        rule = "r.rule"
    else:
        rules = "ledger_entries e, json_each(e.rules) AS r"
        rule = "r.value"
    insert = "INSERT INTO rollup_totals (tenant_id, kind, hour, k1, k2, n) "
    return [
        (
            "accounts",
            f"{insert}SELECT tenant_id, 'account', {_timeless(dialect)}, '', '', count(*) "  # noqa: S608 - constants and ints only
            f"FROM accounts WHERE {where} GROUP BY tenant_id",
        ),
        (
            "tasks",
            f"{insert}SELECT tenant_id, 'task', {_timeless(dialect)}, status, '', count(*) "  # noqa: S608 - constants and ints only
            f"FROM tasks WHERE {where} GROUP BY tenant_id, status",
        ),
        (
            "attempts",
            f"{insert}SELECT tenant_id, 'contact', {_hour('at', dialect)}, channel, status, "  # noqa: S608 - constants and ints only
            f"count(*) FROM attempts WHERE {where} "
            f"GROUP BY tenant_id, {_hour('at', dialect)}, channel, status",
        ),
        (
            "ledger entries",
            f"{insert}SELECT e.tenant_id, CASE WHEN e.kind IN ({blocking}) THEN 'blocked' "  # noqa: S608 - constants and ints only
            f"ELSE 'deferred' END, {_hour('e.at', dialect)}, {rule}, '', count(*) "
            f"FROM {rules} WHERE {where_e} "
            f"GROUP BY 1, 2, 3, 4",
        ),
    ]


def _tenants(column: str, ids: Sequence[int] | None) -> str:
    """A condition on ``column`` for these tenant ids (ints, so safe to inline)."""
    if ids is None:
        return "1 = 1"
    return f"{column} IN ({', '.join(str(int(i)) for i in ids) or 'NULL'})"


def rebuild(
    conn: Connection,
    tenant_ids: Iterable[int] | None = None,
    *,
    progress: Callable[[str], None] | None = None,
) -> None:
    """Recount the totals of ``tenant_ids`` (all tenants: ``None``) from their rows, in the
    caller's transaction. On PostgreSQL writers to the counted tables wait until it commits
    (``SHARE`` locks), so no change is counted twice or missed. ``progress`` is told each
    table as it is done."""
    dialect = conn.dialect.name
    ids: Sequence[int] | None = None if tenant_ids is None else sorted(set(tenant_ids))
    if dialect == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK})
        conn.execute(sa.text("LOCK TABLE accounts, tasks, attempts, ledger_entries IN SHARE MODE"))
        conn.execute(sa.text("SET LOCAL work_mem = '128MB'"))
        conn.execute(sa.text("SET LOCAL jit = off"))
    if ids is not None and not ids:
        return
    for table in ("rollup_changes", "rollup_totals"):
        conn.execute(sa.text(f"DELETE FROM {table} WHERE {_tenants('tenant_id', ids)}"))  # noqa: S608 - constants and ints only
    for what, statement in recounts(dialect, ids):
        conn.exec_driver_sql(statement)
        if progress is not None:
            progress(what)
