"""Schema migrations create every table on both databases and are safe to run again."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orchestrator.errors import ServiceUnavailable
from orchestrator.store.db import Store
from orchestrator.store.migrate import current, heads, require_current, upgrade
from orchestrator.store.tables import Base


def test_upgrade_creates_every_table_and_is_idempotent(store):
    upgrade(store.engine)
    assert set(current(store.engine)) == set(heads(store.engine))
    tables = set(sa.inspect(store.engine).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_a_schema_that_is_behind_is_refused_with_what_to_do(sqlite_url):
    store = Store.connect(sqlite_url)
    with pytest.raises(ServiceUnavailable, match="orchestrator db upgrade"):
        require_current(store.engine)


def test_an_unreachable_database_is_one_sentence():
    with pytest.raises(ServiceUnavailable) as info:
        Store.connect("postgresql+psycopg://nobody@127.0.0.1:1/none")
    message = str(info.value)
    assert message.startswith("Cannot reach PostgreSQL at 127.0.0.1:1/none")
    assert "start PostgreSQL" in message
    assert "\n" not in message


def test_money_and_instants_round_trip_exactly(store):
    from datetime import UTC, datetime
    from decimal import Decimal

    from orchestrator.tenancy import create_tenant

    with store.transaction() as conn:
        create_tenant(conn, "acme", name="A", now=datetime(2026, 1, 1, 12, tzinfo=UTC))
    from orchestrator.store.tables import Tenant

    with store.snapshot() as conn:
        created = conn.execute(sa.select(Tenant.created_at)).scalar_one()
    assert created == datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert created.tzinfo is not None
    assert Decimal("1250.10") == Decimal("1250.10")


def test_the_migrations_create_every_index_the_tables_declare(store):
    inspector = sa.inspect(store.engine)
    for name, table in Base.metadata.tables.items():
        declared = {index.name for index in table.indexes}
        made = {index["name"] for index in inspector.get_indexes(name)}
        assert declared <= made, f"{name}: {declared - made} not created by a migration"
