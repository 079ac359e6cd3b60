"""Rotating the KEK or the lookup key never stops the service: a new key seals new writes at
once, the previous one still opens the old, and ``keys rotate`` brings every stored value
and lookup hash under the new keys in batches, after which the old keys can go. Values
stored before 0007 are read as they were and sealed by the same pass."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from orchestrator.cli import _register, app
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.store.db import Store, create_engine
from orchestrator.store.keys import EnvironmentKeys, Keyring, KeyUnavailable
from orchestrator.store.migrate import upgrade
from orchestrator.store.rotation import rotate
from orchestrator.store.tables import Account, ContactPoint
from orchestrator.store.types import address_lookup
from orchestrator.tenancy import create_tenant
from tests.factories import account_document

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
KEK_A, KEK_B = b"A" * 32, b"B" * 32
LOOKUP_1, LOOKUP_2 = b"1" * 32, b"2" * 32


def _store(url: str, kek: bytes, previous=(), lookups=(LOOKUP_1,)) -> Store:
    keyring = Keyring(EnvironmentKeys(kek, previous), list(lookups))
    return Store(create_engine(url, pool_size=2, keyring=keyring))


def _url(store: Store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _finds_the_number(store: Store) -> bool:
    with store.snapshot() as conn:
        return (
            conn.execute(
                sa.select(ContactPoint.id).where(
                    address_lookup(ContactPoint.address_hash, "+12125550123", conn.dialect)
                )
            ).first()
            is not None
        )


def _names(store: Store) -> set[str]:
    with store.snapshot() as conn:
        return set(conn.execute(sa.select(Account.borrower_name)).scalars())


def test_a_new_kek_and_lookup_key_take_over_without_downtime(store):
    old = _store(_url(store), KEK_A)
    with old.transaction() as conn:
        tenant = create_tenant(conn, "acme", name="Acme", now=NOW)
        docs = [account_document(f"loan-{i}") for i in range(5)]
        prepared = [prepare(AccountDocument.model_validate(d), now=NOW) for d in docs]
        write_accounts(conn, tenant, prepared, now=NOW, source="api")

    # Deployed: the new keys are current, the old ones still accepted.
    both = _store(_url(store), KEK_B, (KEK_A,), (LOOKUP_2, LOOKUP_1))
    assert _names(both) == {"Ann Lee"}
    assert _finds_the_number(both)

    done = rotate(both, batch_size=2)
    assert done.rewritten["accounts"] == 5 * 3  # name, postal code, document
    assert done.rewritten["contact_points"] == 5 * 4
    assert done.rehashed == 5 * 4
    assert rotate(both).rewritten == dict.fromkeys(done.rewritten, 0)  # nothing left

    # The old keys removed: everything still opens and is still found.
    new_only = _store(_url(store), KEK_B, (), (LOOKUP_2,))
    assert _names(new_only) == {"Ann Lee"}
    assert _finds_the_number(new_only)
    # And the old KEK alone opens nothing any more.
    with pytest.raises(KeyUnavailable, match="ORCHESTRATOR_KEK_PREVIOUS"):
        _names(old)


def test_a_new_data_key_reseals_every_value(store):
    writer = _store(_url(store), KEK_A)
    with writer.transaction() as conn:
        create_tenant(conn, "acme", name="Acme", now=NOW)
        tenant = conn.execute(sa.text("SELECT id FROM tenants")).scalar_one()
        doc = prepare(AccountDocument.model_validate(account_document("loan-1")), now=NOW)
        write_accounts(conn, tenant, [doc], now=NOW, source="api")
    with writer.snapshot() as conn:
        before = conn.execute(sa.text("SELECT borrower_name FROM accounts")).scalar_one()
    rotator = _store(_url(store), KEK_A)
    assert rotate(rotator, new_data_key=True).rewritten["accounts"] == 3
    with writer.snapshot() as conn:
        after = conn.execute(sa.text("SELECT borrower_name FROM accounts")).scalar_one()
    assert bytes(after) != bytes(before)
    assert _names(writer) == {"Ann Lee"}  # the writer's process unwraps the new data key


@pytest.mark.parametrize("database", ["sqlite", "postgres"])
def test_rows_stored_before_sealing_are_read_then_sealed_by_rotate(database, request):
    url = request.getfixturevalue("sqlite_url" if database == "sqlite" else "pg_url")
    store = _store(url, KEK_A)
    upgrade(store.engine, "0002b")
    with store.transaction() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO tenants (id, slug, name, profile, created_at) "
                "VALUES (1, 'acme', 'Acme', '{}', :now)"
            ),
            {"now": NOW},
        )
        conn.execute(
            sa.text(
                "INSERT INTO accounts (id, tenant_id, external_id, jurisdiction, borrower_name, "
                "locale, zones, amount_due, currency, due_date, product, document, "
                "document_hash, created_at, updated_at, postal_code) VALUES (1, 1, 'loan-1', "
                "'US-NY', 'Ann Lee', 'en-US', 'America/New_York', 10, 'USD', '2026-10-01', "
                "'bnpl', :doc, 'h', :now, :now, '10001')"
            ),
            {"now": NOW, "doc": '{"borrower": {"name": "Ann Lee"}}'},
        )
        conn.execute(
            sa.text(
                "INSERT INTO contact_points (account_id, channel, address, consent, workplace, "
                "position) VALUES (1, 'sms', '+12125550123', true, false, 0)"
            )
        )
    environment = {
        "ORCHESTRATOR_KEK": base64.b64encode(KEK_A).decode(),
        "ORCHESTRATOR_LOOKUP_KEY": base64.b64encode(LOOKUP_1).decode(),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        upgrade(store.engine)  # hashes the stored numbers with the lookup key
    assert _names(store) == {"Ann Lee"}
    assert _finds_the_number(store)
    with store.snapshot() as conn:
        assert conn.execute(sa.select(Account.document)).scalar_one() == {
            "borrower": {"name": "Ann Lee"}
        }

    _register()
    result = CliRunner().invoke(
        app, ["keys", "rotate", "--batch-size", "1"], env={"DATABASE_URL": url, **environment}
    )
    assert result.exit_code == 0, result.output
    assert "Every value is under KEK" in result.output
    with store.snapshot() as conn:
        raw = repr(conn.execute(sa.text("SELECT * FROM accounts")).all())
        raw += repr(conn.execute(sa.text("SELECT * FROM contact_points")).all())
    assert "Ann Lee" not in raw
    assert "+12125550123" not in raw
    assert "10001" not in raw
    assert _names(store) == {"Ann Lee"}
