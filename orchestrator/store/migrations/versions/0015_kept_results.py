"""results kept per tenant and calendar month (the results' fast path)

``results_kept`` (a month's figures as the exact query counted them), ``results_marks``
(what writes since then have touched) and ``results_generation`` (bumped by every fold),
and triggers on tasks, attempts, account events and accounts that append a mark with every
write that can move a month's results (``orchestrator/store/kept_results.py``).

Revision ID: 0015
Revises: 0011
Create Date: 2026-11-28 13:20:00
"""

# ruff: noqa: S608 - the SQL here is built from constants only

import sqlalchemy as sa
from alembic import op

import orchestrator.store.types

revision = "0015"
down_revision = "0011"
branch_labels = None
depends_on = None

_TIME = orchestrator.store.types.UTCDateTime(timezone=True)
_INSERT = "INSERT INTO results_marks (tenant_id, month, onward) "
# Every month (a change of an account's currency moves what any month collected).
_EVER = "1970-01-01"
_OUTCOMES = "('promise_to_pay', 'payment')"

# table -> the columns whose change can move a figure (SQLite's UPDATE OF list)
_COUNTED = {
    "tasks": ("tenant_id", "account_id", "step", "variant", "local_date"),
    "attempts": (
        "tenant_id",
        "account_id",
        "at",
        "status",
        "contact_kind",
        "channel",
        "provider",
    ),
    "account_events": ("tenant_id", "account_id", "type", "at", "until", "amount"),
    "accounts": ("tenant_id", "currency"),
}


def _sqlite_marks(table: str, r: str) -> str:
    """SQLite: the statements appending the marks of one row (``r``: OLD or NEW)."""
    month = "strftime('%Y-%m-01', {})"
    if table == "tasks":
        return f"{_INSERT}VALUES ({r}.tenant_id, {month.format(r + '.local_date')}, 0);"
    if table == "attempts":
        return f"{_INSERT}VALUES ({r}.tenant_id, {month.format(r + '.at')}, 0);"
    if table == "accounts":
        return f"{_INSERT}VALUES ({r}.tenant_id, '{_EVER}', 1);"
    # A payment can keep a promise due in its month or any later one; a promise counts in
    # the month it was made and the month it falls due.
    return (
        f"{_INSERT}SELECT {r}.tenant_id, {month.format(r + '.at')}, "
        f"{r}.type = 'payment' WHERE {r}.type IN {_OUTCOMES}; "
        f"{_INSERT}SELECT {r}.tenant_id, {month.format(r + '.until')}, 0 "
        f"WHERE {r}.type = 'promise_to_pay' AND {r}.until IS NOT NULL;"
    )


def _pg_marks(table: str, rows: str) -> str:
    """PostgreSQL: the marks of a statement's transition table ``rows``."""
    month = "date_trunc('month', {} AT TIME ZONE 'UTC')::date"
    if table == "tasks":
        return f"SELECT r.tenant_id, date_trunc('month', r.local_date)::date, false FROM {rows} r"
    if table == "attempts":
        return f"SELECT r.tenant_id, {month.format('r.at')}, false FROM {rows} r"
    if table == "accounts":
        return f"SELECT r.tenant_id, DATE '{_EVER}', true FROM {rows} r"
    return (
        f"SELECT r.tenant_id, {month.format('r.at')}, r.type = 'payment' FROM {rows} r "
        f"WHERE r.type IN {_OUTCOMES} UNION ALL "
        f"SELECT r.tenant_id, {month.format('r.until')}, false FROM {rows} r "
        f"WHERE r.type = 'promise_to_pay' AND r.until IS NOT NULL"
    )


def _pg_accounts_update() -> str:
    """An account's update moves results only when its currency (or tenant) changes."""
    moved = (
        "FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE o.currency IS DISTINCT FROM n.currency OR o.tenant_id IS DISTINCT FROM n.tenant_id"
    )
    return (
        f"SELECT n.tenant_id, DATE '{_EVER}', true {moved} "
        f"UNION ALL SELECT o.tenant_id, DATE '{_EVER}', true {moved}"
    )


def _postgresql() -> list[str]:
    """Statement triggers over transition tables: one insert of the distinct months a
    statement touched, however many rows it wrote."""
    out = []
    for table in _COUNTED:
        for event, marks, referencing in (
            ("insert", _pg_marks(table, "new_rows"), "NEW TABLE AS new_rows"),
            ("delete", _pg_marks(table, "old_rows"), "OLD TABLE AS old_rows"),
            (
                "update",
                _pg_accounts_update()
                if table == "accounts"
                else f"{_pg_marks(table, 'old_rows')} UNION {_pg_marks(table, 'new_rows')}",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            ),
        ):
            if table == "accounts" and event != "update":
                continue  # an account's rows mark their own months (inserted or cascaded)
            out += [
                f"""CREATE FUNCTION results_{table}_{event}() RETURNS trigger LANGUAGE plpgsql
                AS $$
                BEGIN
                    {_INSERT}SELECT DISTINCT * FROM ({marks}) c(tenant_id, month, onward);
                    RETURN NULL;
                END $$""",
                f"CREATE TRIGGER results_{table}_{event} AFTER {event.upper()} ON {table} "
                f"REFERENCING {referencing} FOR EACH STATEMENT "
                f"EXECUTE FUNCTION results_{table}_{event}()",
            ]
    return out


def _sqlite() -> list[str]:
    out = []
    for table, columns in _COUNTED.items():
        old, new = _sqlite_marks(table, "OLD"), _sqlite_marks(table, "NEW")
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        if table != "accounts":
            out += [
                f"CREATE TRIGGER results_{table}_insert AFTER INSERT ON {table} BEGIN {new} END",
                f"CREATE TRIGGER results_{table}_delete AFTER DELETE ON {table} BEGIN {old} END",
            ]
        out.append(
            f"CREATE TRIGGER results_{table}_update AFTER UPDATE OF {', '.join(columns)} "
            f"ON {table} WHEN {changed} BEGIN {old} {new} END"
        )
    return out


def upgrade() -> None:
    op.create_table(
        "results_kept",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("counted_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "month", name="pk_results_kept"),
    )
    op.create_table(
        "results_marks",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("onward", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_results_marks"),
    )
    op.create_index("ix_results_marks_tenant_id_month", "results_marks", ["tenant_id", "month"])
    op.create_table(
        "results_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_results_generation"),
    )
    bind = op.get_bind()
    bind.exec_driver_sql("INSERT INTO results_generation (id, generation) VALUES (1, 0)")
    for statement in _postgresql() if bind.dialect.name == "postgresql" else _sqlite():
        bind.exec_driver_sql(statement)


def downgrade() -> None:
    bind = op.get_bind()
    for table in _COUNTED:
        for event in ("insert", "delete", "update"):
            if bind.dialect.name == "postgresql":
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS results_{table}_{event} ON {table}")
                bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS results_{table}_{event}()")
            else:
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS results_{table}_{event}")
    op.drop_table("results_generation")
    op.drop_index("ix_results_marks_tenant_id_month", table_name="results_marks")
    op.drop_table("results_marks")
    op.drop_table("results_kept")
