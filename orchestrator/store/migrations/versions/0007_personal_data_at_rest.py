"""personal data at rest: sealed columns, address lookup hashes, erasure, trace ids

Borrowers' names, postal codes and account documents, contact addresses, attempts' addresses
and bodies, delivery report payloads and stored idempotency answers become binary columns
holding sealed values (orchestrator/store/keys.py). Rows already stored are kept readable as
they are (``0x00`` + UTF-8: a value stored unsealed) and are sealed afterwards, in
batches and while the service runs, by ``orchestrator keys rotate``: this migration needs no
key and rewrites nothing it does not have to. Contact points get the keyed hash of their
address (ORCHESTRATOR_LOOKUP_KEY, needed here only when contact points exist), which replaces
the address in their unique key and in every lookup. Accounts get ``erased_at``; ledger
entries the trace they were written in; retention gets the indexes it scans by.

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-28 09:00:00
"""

from typing import Any

import sqlalchemy as sa
from alembic import op

from orchestrator.store.types import keyring_for

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None

# (table, column, was JSON, nullable)
SEALED = (
    ("accounts", "borrower_name", False, False),
    ("accounts", "postal_code", False, True),
    ("accounts", "document", True, False),
    ("contact_points", "address", False, False),
    ("attempts", "address", False, False),
    ("attempts", "subject", False, True),
    ("attempts", "body", False, True),
    ("delivery_reports", "payload", True, False),
    ("idempotency_keys", "response", True, False),
)


def _seal_columns(postgres: bool) -> None:
    for table, column, was_json, nullable in SEALED:
        if postgres:
            source = f"{column}::text" if was_json else column
            op.alter_column(
                table,
                column,
                type_=sa.LargeBinary(),
                existing_nullable=nullable,
                postgresql_using=f"'\\x00'::bytea || convert_to({source}, 'UTF8')",
            )
        else:
            # SQLite stores a blob as a blob whatever a column's declared type, and changing
            # the type would recreate the table: dropping ``accounts`` would cascade to every
            # table that references it. The declared type stays; the values change.
            _mark_plain(table, column)


def _mark_plain(table: str, column: str) -> None:
    """Each text value as bytes, prefixed as a value stored unsealed."""
    conn = op.get_bind()
    for where, stored in _values(conn, table, column):
        value = stored.encode() if isinstance(stored, str) else bytes(stored)
        _store(conn, table, column, where, b"\x00" + value)


def _values(
    conn: sa.engine.Connection, table: str, column: str
) -> list[tuple[dict[str, Any], Any]]:
    """(the row's key, the value) of every row where ``column`` is set."""
    keys = ("tenant_id", "key") if table == "idempotency_keys" else ("id",)
    rows = conn.execute(
        sa.text(
            f"SELECT {', '.join(keys)}, {column} FROM {table} "  # noqa: S608
            f"WHERE {column} IS NOT NULL"
        )
    ).all()
    return [(dict(zip(keys, row[:-1], strict=True)), row[-1]) for row in rows]


def _store(
    conn: sa.engine.Connection, table: str, column: str, where: dict[str, Any], value: object
) -> None:
    match = " AND ".join(f"{k} = :{k}" for k in where)
    conn.execute(
        sa.text(f"UPDATE {table} SET {column} = :value WHERE {match}"),  # noqa: S608
        {**where, "value": value},
    )


def _hash_addresses(conn: sa.engine.Connection) -> None:
    points = sa.table(
        "contact_points",
        sa.column("id", sa.BigInteger),
        sa.column("address", sa.LargeBinary),
        sa.column("address_hash", sa.String),
    )
    rows = conn.execute(sa.select(points.c.id, points.c.address)).all()
    if not rows:
        return
    # The engine's keyring: the one it was given, else the environment's.
    keyring = keyring_for(conn.dialect)
    updates = []
    for id_, stored in rows:
        text = stored if isinstance(stored, str) else bytes(stored)[1:].decode()
        updates.append({"pid": id_, "digest": keyring.lookup_hash(text)})
    conn.execute(
        points.update()
        .where(points.c.id == sa.bindparam("pid"))
        .values(address_hash=sa.bindparam("digest")),
        updates,
    )


def upgrade() -> None:
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    _seal_columns(postgres)

    with op.batch_alter_table("accounts") as batch_op:
        batch_op.add_column(sa.Column("erased_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("contact_points") as batch_op:
        batch_op.add_column(sa.Column("address_hash", sa.String(length=64), nullable=True))
    _hash_addresses(conn)
    with op.batch_alter_table("contact_points") as batch_op:
        batch_op.alter_column("address_hash", existing_type=sa.String(64), nullable=False)
        batch_op.drop_constraint("uq_contact_points_account_id_channel_address", type_="unique")
        batch_op.create_unique_constraint(
            "uq_contact_points_account_id_channel_address_hash",
            ["account_id", "channel", "address_hash"],
        )
        batch_op.create_index("ix_contact_points_address_hash", ["address_hash"])

    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.add_column(sa.Column("trace_id", sa.String(length=32), nullable=True))

    # Retention reads attempts by tenant and instant: migration 0009's ix_attempts_tenant_id_at.
    with op.batch_alter_table("delivery_reports") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=True)
        batch_op.create_index("ix_delivery_reports_received_at", ["received_at"])


def downgrade() -> None:
    """Back to plain columns: every sealed value is opened (the keys must be in the
    environment), then the columns get their old types."""
    conn = op.get_bind()
    postgres = conn.dialect.name == "postgresql"
    with op.batch_alter_table("delivery_reports") as batch_op:
        batch_op.drop_index("ix_delivery_reports_received_at")
    conn.execute(
        sa.text("UPDATE delivery_reports SET payload = :empty WHERE payload IS NULL"),
        {"empty": b"\x00{}"},
    )
    with op.batch_alter_table("delivery_reports") as batch_op:
        batch_op.alter_column("payload", existing_type=sa.LargeBinary(), nullable=False)
    with op.batch_alter_table("ledger_entries") as batch_op:
        batch_op.drop_column("trace_id")
    with op.batch_alter_table("contact_points") as batch_op:
        batch_op.drop_index("ix_contact_points_address_hash")
        batch_op.drop_constraint(
            "uq_contact_points_account_id_channel_address_hash", type_="unique"
        )
        batch_op.create_unique_constraint(
            "uq_contact_points_account_id_channel_address", ["account_id", "channel", "address"]
        )
        batch_op.drop_column("address_hash")
    with op.batch_alter_table("accounts") as batch_op:
        batch_op.drop_column("erased_at")
    _open_everything(conn)
    for table, column, was_json, nullable in SEALED:
        if postgres:  # SQLite's declared types never changed (see _seal_columns)
            back = "jsonb" if was_json else "text"
            op.alter_column(
                table,
                column,
                type_=sa.dialects.postgresql.JSONB() if was_json else sa.Text(),
                existing_nullable=nullable,
                postgresql_using=f"convert_from(substring({column} from 2), 'UTF8')::{back}",
            )


def _open_everything(conn: sa.engine.Connection) -> None:
    """Rewrite each value as ``0x00`` + UTF-8 (PostgreSQL, for the cast back) or as text
    (SQLite), opening the sealed ones."""
    from orchestrator.store.keys import PLAIN

    keyring = None
    for table, column, _, _ in SEALED:
        for where, stored in _values(conn, table, column):
            if isinstance(stored, str):
                continue
            raw = bytes(stored)
            if raw[0] == PLAIN:
                text = raw[1:]
            else:
                keyring = keyring or keyring_for(conn.dialect)
                text = keyring.open(raw, f"{table}.{column}".encode())
            value = text.decode() if conn.dialect.name == "sqlite" else b"\x00" + text
            _store(conn, table, column, where, value)
