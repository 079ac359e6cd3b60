"""results kept per account and month, folded incrementally (the results' fast path, live)

Replaces 0015's whole-month figures (``results_kept``, ``results_generation``) with rows a
fold keeps up to date from what was written since: ``results_accounts`` (each account's
part of a kept month), ``results_totals`` (their sums per segment and arm) and
``results_months`` (which months are kept). The triggers now name the account in each mark
(``results_marks.account_id``), so a fold recomputes only the accounts written to
(``orchestrator/store/kept_results.py``). Marks written before this revision named no
account; there is nothing kept yet for them to move, so they are dropped.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-28 15:20:00
"""

# ruff: noqa: S608 - the SQL here is built from constants only

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

import orchestrator.store.types

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TIME = orchestrator.store.types.UTCDateTime(timezone=True)
_MONEY = sa.Numeric(28, 4).with_variant(sa.BigInteger(), "sqlite")
_INSERT = "INSERT INTO results_marks (tenant_id, month, account_id, onward) "
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
        return f"{_INSERT}VALUES ({r}.tenant_id, {month.format(r + '.local_date')}, {r}.account_id, 0);"
    if table == "attempts":
        return f"{_INSERT}VALUES ({r}.tenant_id, {month.format(r + '.at')}, {r}.account_id, 0);"
    if table == "accounts":
        return f"{_INSERT}VALUES ({r}.tenant_id, '{_EVER}', {r}.id, 1);"
    # A payment can keep a promise due in its month or any later one; a promise counts in
    # the month it was made and the month it falls due.
    return (
        f"{_INSERT}SELECT {r}.tenant_id, {month.format(r + '.at')}, {r}.account_id, "
        f"{r}.type = 'payment' WHERE {r}.type IN {_OUTCOMES}; "
        f"{_INSERT}SELECT {r}.tenant_id, {month.format(r + '.until')}, {r}.account_id, 0 "
        f"WHERE {r}.type = 'promise_to_pay' AND {r}.until IS NOT NULL;"
    )


def _pg_marks(table: str, rows: str) -> str:
    """PostgreSQL: the marks of a statement's transition table ``rows``."""
    month = "date_trunc('month', {} AT TIME ZONE 'UTC')::date"
    if table == "tasks":
        return (
            "SELECT r.tenant_id, date_trunc('month', r.local_date)::date, r.account_id, false "
            f"FROM {rows} r"
        )
    if table == "attempts":
        return f"SELECT r.tenant_id, {month.format('r.at')}, r.account_id, false FROM {rows} r"
    return (
        f"SELECT r.tenant_id, {month.format('r.at')}, r.account_id, r.type = 'payment' "
        f"FROM {rows} r WHERE r.type IN {_OUTCOMES} UNION ALL "
        f"SELECT r.tenant_id, {month.format('r.until')}, r.account_id, false FROM {rows} r "
        f"WHERE r.type = 'promise_to_pay' AND r.until IS NOT NULL"
    )


def _pg_accounts_update() -> str:
    """An account's update moves results only when its currency (or tenant) changes."""
    moved = (
        "FROM new_rows n JOIN old_rows o ON o.id = n.id "
        "WHERE o.currency IS DISTINCT FROM n.currency OR o.tenant_id IS DISTINCT FROM n.tenant_id"
    )
    return (
        f"SELECT n.tenant_id, DATE '{_EVER}', n.id, true {moved} "
        f"UNION ALL SELECT o.tenant_id, DATE '{_EVER}', o.id, true {moved}"
    )


def _postgresql() -> list[str]:
    """Statement triggers over transition tables: one insert of the distinct (month,
    account) marks a statement wrote, however many rows of one account it wrote."""
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
                    {_INSERT}SELECT DISTINCT * FROM ({marks}) c(tenant_id, month, account_id, onward);
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


def _drop_triggers() -> None:
    bind = op.get_bind()
    for table in _COUNTED:
        for event in ("insert", "delete", "update"):
            if bind.dialect.name == "postgresql":
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS results_{table}_{event} ON {table}")
                bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS results_{table}_{event}()")
            else:
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS results_{table}_{event}")


def _marks_table(*, with_account: bool) -> None:
    columns: list[sa.schema.SchemaItem] = [
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
    ]
    if with_account:
        columns.append(sa.Column("account_id", sa.BigInteger(), nullable=False))
    columns.append(sa.Column("onward", sa.Boolean(), nullable=False))
    op.create_table(
        "results_marks", *columns, sa.PrimaryKeyConstraint("id", name="pk_results_marks")
    )
    op.create_index("ix_results_marks_tenant_id_month", "results_marks", ["tenant_id", "month"])


def _drop_marks_table() -> None:
    op.drop_index("ix_results_marks_tenant_id_month", table_name="results_marks")
    op.drop_table("results_marks")


def _counts() -> list[sa.Column[int]]:
    return [sa.Column(f"n{i}", sa.BigInteger(), nullable=False) for i in range(1, 7)]


def upgrade() -> None:
    bind = op.get_bind()
    _drop_triggers()
    op.drop_table("results_generation")
    op.drop_table("results_kept")
    _drop_marks_table()
    _marks_table(with_account=True)
    op.create_table(
        "results_months",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("built_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "month", name="pk_results_months"),
    )
    op.create_table(
        "results_accounts",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("k1", sa.String(64), nullable=False),
        sa.Column("k2", sa.String(64), nullable=False),
        sa.Column("segment", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("first_date", sa.Date(), nullable=True),
        sa.Column("first_task", sa.BigInteger(), nullable=True),
        *_counts(),
        sa.Column("money", _MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "month", "account_id", "kind", "k1", "k2", name="pk_results_accounts"
        ),
    )
    op.create_table(
        "results_totals",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("segment", sa.String(128), nullable=False),
        sa.Column("arm", sa.String(64), nullable=False),
        sa.Column("k1", sa.String(64), nullable=False),
        sa.Column("k2", sa.String(64), nullable=False),
        *_counts(),
        sa.Column("money", _MONEY, nullable=False),
        sa.PrimaryKeyConstraint(
            "tenant_id", "month", "kind", "segment", "arm", "k1", "k2", name="pk_results_totals"
        ),
    )
    for statement in _postgresql() if bind.dialect.name == "postgresql" else _sqlite():
        bind.exec_driver_sql(statement)


def _revision_0015() -> ModuleType:
    path = Path(__file__).with_name("0015_kept_results.py")
    spec = importlib.util.spec_from_file_location("_revision_0015", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def downgrade() -> None:
    bind = op.get_bind()
    _drop_triggers()
    op.drop_table("results_totals")
    op.drop_table("results_accounts")
    op.drop_table("results_months")
    _drop_marks_table()
    _marks_table(with_account=False)
    op.create_table(
        "results_kept",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False),
        sa.Column("counted_at", _TIME, nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "month", name="pk_results_kept"),
    )
    op.create_table(
        "results_generation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_results_generation"),
    )
    bind.exec_driver_sql("INSERT INTO results_generation (id, generation) VALUES (1, 0)")
    previous = _revision_0015()
    for statement in (
        previous._postgresql() if bind.dialect.name == "postgresql" else previous._sqlite()
    ):
        bind.exec_driver_sql(statement)
