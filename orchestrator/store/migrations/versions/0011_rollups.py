"""counts kept as rows are written (the overview's rollups)

``rollup_totals`` and ``rollup_changes`` (``orchestrator/store/rollup.py``), triggers on
attempts, ledger entries, tasks and accounts that append a change with every write that
moves a count, and a backfill of the totals from the rows already there.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 12:20:00
"""

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
_PG_HOUR = "date_trunc('hour', {r}.at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
_PG_TIMELESS = "TIMESTAMPTZ '1970-01-01 00:00:00+00'"
_SQLITE_HOUR = "strftime('%Y-%m-%d %H:00:00.000000', {r}.at)"
_SQLITE_TIMELESS = "'1970-01-01 00:00:00.000000'"
_INSERT = "INSERT INTO rollup_changes (tenant_id, kind, hour, k1, k2, n) "


def _values(table: str, r: str, sign: int, hour: str, timeless: str, dialect: str) -> str:
    """The statement appending the change of one row (``r``: OLD or NEW) of ``table``."""
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
    if dialect == "postgresql":
        rules = (
            f"jsonb_array_elements_text(CASE WHEN jsonb_typeof({r}.rules) = 'array' "
            f"THEN {r}.rules ELSE '[]'::jsonb END) AS x(rule)"
        )
        rule = "x.rule"
    else:
        rules, rule = f"json_each({r}.rules) AS x", "x.value"
    return (
        f"{_INSERT}SELECT {r}.tenant_id, {kind}, {hour.format(r=r)}, {rule}, '', {sign} "  # noqa: S608 - constants and ints only
        f"FROM {rules};"
    )


# table -> the columns whose change moves a count
_COUNTED = {
    "attempts": ("tenant_id", "at", "channel", "status"),
    "ledger_entries": ("tenant_id", "at", "kind", "rules"),
    "tasks": ("tenant_id", "status"),
    "accounts": ("tenant_id",),
}


def _postgresql() -> list[str]:
    out = []
    for table, columns in _COUNTED.items():
        old = _values(table, "OLD", -1, _PG_HOUR, _PG_TIMELESS, "postgresql")
        new = _values(table, "NEW", 1, _PG_HOUR, _PG_TIMELESS, "postgresql")
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
        out += [
            f"""CREATE FUNCTION rollup_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF TG_OP <> 'INSERT' THEN {old} END IF;
                IF TG_OP <> 'DELETE' THEN {new} END IF;
                RETURN NULL;
            END $$""",
            f"CREATE TRIGGER rollup_{table}_write AFTER INSERT OR DELETE ON {table} "
            f"FOR EACH ROW EXECUTE FUNCTION rollup_{table}()",
            f"CREATE TRIGGER rollup_{table}_update AFTER UPDATE ON {table} "
            f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION rollup_{table}()",
        ]
    return out


def _sqlite() -> list[str]:
    out = []
    for table, columns in _COUNTED.items():
        old = _values(table, "OLD", -1, _SQLITE_HOUR, _SQLITE_TIMELESS, "sqlite")
        new = _values(table, "NEW", 1, _SQLITE_HOUR, _SQLITE_TIMELESS, "sqlite")
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
        if bind.dialect.name == "postgresql":
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS rollup_{table}_write ON {table}")
            bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS rollup_{table}_update ON {table}")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS rollup_{table}()")
        else:
            for event in ("insert", "delete", "update"):
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS rollup_{table}_{event}")
    op.drop_index("ix_rollup_changes_tenant_id_kind_hour", table_name="rollup_changes")
    op.drop_table("rollup_changes")
    op.drop_table("rollup_totals")
