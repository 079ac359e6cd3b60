"""counts kept as rows are written (the overview's rollups)

``rollup_totals`` and ``rollup_changes`` (``orchestrator/store/rollup.py``), triggers on
attempts, ledger entries, tasks and accounts that append a change with every write that
moves a count, and a backfill of the totals from the rows already there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 12:20:00
"""

# ruff: noqa: S608 - the SQL here is built from constants only

import sqlalchemy as sa
from alembic import op

import orchestrator.store.types
from orchestrator.store.rollup import BLOCKING_KINDS, recounts

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_TIME = orchestrator.store.types.UTCDateTime(timezone=True)
_BLOCKING = ", ".join(f"'{k}'" for k in BLOCKING_KINDS)
_PG_TIMELESS = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
_SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {r}.at)"
_SQLITE_TIMELESS = "'1970-01-01 00:00:00.000000'"
_INSERT = "INSERT INTO rollup_changes (tenant_id, kind, hour, k1, k2, n) "


def _values(table: str, r: str, sign: int) -> str:
    """SQLite: the statement appending the change of one row (``r``: OLD or NEW)."""
    hour, timeless = _SQLITE_HOUR, _SQLITE_TIMELESS
    if table == "attempts":
        return (
            f"{_INSERT}VALUES ({r}.tenant_id, 'contact', {hour.format(r=r)}, {r}.channel, "
            f"{r}.status, {sign});"
        )
    if table == "tasks":
        return f"{_INSERT}VALUES ({r}.tenant_id, 'task', {timeless}, {r}.status, '', {sign});"
    if table == "accounts":
        return f"{_INSERT}VALUES ({r}.tenant_id, 'account', {timeless}, '', '', {sign});"
    kind = f"CASE WHEN {r}.kind IN ({_BLOCKING}) THEN 'blocked' ELSE 'deferred' END"
    rules, rule = f"json_each({r}.rules) AS x", "x.value"
    return (
        f"{_INSERT}SELECT {r}.tenant_id, {kind}, {hour.format(r=r)}, {rule}, '', {sign} "
        f"FROM {rules};"
    )


# table -> the columns whose change moves a count
_COUNTED = {
    "attempts": ("tenant_id", "at", "channel", "status"),
    "ledger_entries": ("tenant_id", "at", "kind", "rules"),
    "tasks": ("tenant_id", "status"),
    "accounts": ("tenant_id",),
}


def _pg_rows(table: str, rows: str, sign: int) -> str:
    """The changes a statement's transition table ``rows`` makes, one per row (and rule)."""
    hour = "date_trunc('hour', r.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
    if table == "attempts":
        return (
            f"SELECT r.tenant_id, 'contact' AS kind, {hour} AS hour, r.channel AS k1, "
            f"r.status AS k2, {sign} AS n FROM {rows} r"
        )
    if table == "tasks":
        return (
            f"SELECT r.tenant_id, 'task' AS kind, {_PG_TIMELESS} AS hour, r.status AS k1, "
            f"'' AS k2, {sign} AS n FROM {rows} r"
        )
    if table == "accounts":
        return (
            f"SELECT r.tenant_id, 'account' AS kind, {_PG_TIMELESS} AS hour, '' AS k1, "
            f"'' AS k2, {sign} AS n FROM {rows} r"
        )
    return (
        f"SELECT r.tenant_id, CASE WHEN r.kind IN ({_BLOCKING}) THEN 'blocked' "
        f"ELSE 'deferred' END AS kind, {hour} AS hour, x.rule AS k1, '' AS k2, {sign} AS n "
        f"FROM {rows} r CROSS JOIN LATERAL jsonb_array_elements_text("
        f"CASE WHEN jsonb_typeof(r.rules) = 'array' THEN r.rules ELSE '[]'::jsonb END) AS x(rule)"
    )


def _postgresql() -> list[str]:
    """Statement triggers over transition tables: one insert of summed changes per
    statement, however many rows it wrote; an update appends only the counts it moved."""
    out = []
    for table in _COUNTED:
        for event, changes, referencing in (
            ("insert", _pg_rows(table, "new_rows", 1), "NEW TABLE AS new_rows"),
            ("delete", _pg_rows(table, "old_rows", -1), "OLD TABLE AS old_rows"),
            (
                "update",
                f"{_pg_rows(table, 'old_rows', -1)} UNION ALL {_pg_rows(table, 'new_rows', 1)}",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            ),
        ):
            out += [
                f"""CREATE FUNCTION rollup_{table}_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    {_INSERT}SELECT tenant_id, kind, hour, k1, k2, sum(n) FROM ({changes}) c
                    GROUP BY tenant_id, kind, hour, k1, k2 HAVING sum(n) <> 0;
                    RETURN NULL;
                END $$""",
                f"CREATE TRIGGER rollup_{table}_{event} AFTER {event.upper()} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION rollup_{table}_{event}()",
            ]
    return out


def _sqlite() -> list[str]:
    out = []
    for table, columns in _COUNTED.items():
        old = _values(table, "OLD", -1)
        new = _values(table, "NEW", 1)
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        out += [
            f"CREATE TRIGGER rollup_{table}_insert AFTER INSERT ON {table} BEGIN {new} END",
            f"CREATE TRIGGER rollup_{table}_delete AFTER DELETE ON {table} BEGIN {old} END",
            f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} WHEN {changed} BEGIN {old} {new} END",
        ]
    return out


def upgrade() -> None:
    op.create_table(
        "rollup_totals",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hour", _TIME, nullable=False),
        sa.Column("k1", sa.Text(), nullable=False),
        sa.Column("k2", sa.String(length=32), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "kind", "hour", "k1", "k2", name="pk_rollup_totals"),
    )
    op.create_table(
        "rollup_changes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("hour", _TIME, nullable=False),
        sa.Column("k1", sa.Text(), nullable=False),
        sa.Column("k2", sa.String(length=32), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rollup_changes"),
    )
    op.create_index(
        "ix_rollup_changes_tenant_id_kind_hour", "rollup_changes", ["tenant_id", "kind", "hour"]
    )
    bind = op.get_bind()
    dialect = bind.dialect.name
    for statement in _postgresql() if dialect == "postgresql" else _sqlite():
        bind.exec_driver_sql(statement)
    # The backfill: the counts of the rows already there (in this transaction, so no write
    # slips between it and the triggers).
    for _what, statement in recounts(dialect, None):
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for table in _COUNTED:
        for event in ("insert", "delete", "update"):
            if bind.dialect.name == "postgresql":
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS rollup_{table}_{event} ON {table}")
                bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS rollup_{table}_{event}()")
            else:
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS rollup_{table}_{event}")
    op.drop_index("ix_rollup_changes_tenant_id_kind_hour", table_name="rollup_changes")
    op.drop_table("rollup_changes")
    op.drop_table("rollup_totals")
