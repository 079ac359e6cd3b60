"""Names, addresses, contact addresses, message texts and providers' payloads are sealed in
the store (AES-256-GCM under data keys wrapped by the KEK), read back plain through the
tables, never compared in SQL; lookups by number go through keyed hashes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.store.keys import (
    DEVELOPMENT_LOOKUP_KEY,
    Keyring,
    KeyUnavailable,
    development_environment,
    generate_key,
)
from orchestrator.store.tables import Account, Attempt, ContactPoint, DeliveryReport, Task
from orchestrator.store.types import address_lookup
from orchestrator.tenancy import create_tenant
from tests.factories import account_document

NOW = datetime(2026, 11, 2, 15, 0, tzinfo=UTC)
SECRETS = ("Ann Lee", "+12125550123", "ann@example.org", "fcm-registration-token", "10001")


def _intake(store, *external_ids):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=NOW)
        prepared = [
            prepare(AccountDocument.model_validate(account_document(x)), now=NOW)
            for x in external_ids
        ]
        write_accounts(conn, tenant_id, prepared, now=NOW, source="api")
    return tenant_id


def _raw_rows(store, table):
    with store.snapshot() as conn:
        return [tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {table}"))]


def test_no_personal_value_is_stored_in_the_clear(store):
    # 40 accounts: PostgreSQL's COPY path as well as the plain INSERT one.
    _intake(store, *(f"loan-{i}" for i in range(40)), "loan-x")
    for table in ("accounts", "contact_points"):
        raw = repr(_raw_rows(store, table))
        for secret in SECRETS:
            assert secret not in raw, f"{secret} readable in {table}"
    with store.snapshot() as conn:
        account = conn.execute(sa.select(Account).where(Account.external_id == "loan-x")).one()
        points = conn.execute(
            sa.select(ContactPoint.address).where(ContactPoint.account_id == account.id)
        ).scalars()
        assert account.borrower_name == "Ann Lee"
        assert account.postal_code == "10001"
        assert account.document["borrower"]["name"] == "Ann Lee"
        assert set(points) == {"+12125550123", "ann@example.org", "fcm-registration-token"}


def test_message_texts_and_payloads_are_sealed_too(store):
    _intake(store, "loan-1")
    with store.transaction() as conn:
        account = conn.execute(sa.select(Account.id, Account.tenant_id)).one()
        task_id = conn.execute(
            sa.insert(Task)
            .values(
                tenant_id=account.tenant_id,
                account_id=account.id,
                strategy="s@1",
                step="a.b",
                channel="sms",
                template="t",
                local_date=NOW.date(),
                not_before=NOW,
                not_after=NOW,
                expires_at=NOW,
                status="sent",
                created_at=NOW,
                updated_at=NOW,
            )
            .returning(Task.id)
        ).scalar_one()
        attempt_id = conn.execute(
            sa.insert(Attempt)
            .values(
                ref="att_1",
                task_id=task_id,
                tenant_id=account.tenant_id,
                account_id=account.id,
                channel="sms",
                provider="twilio_sms",
                address="+12125550123",
                at=NOW,
                status="sent",
                contact_kind="text",
                subject="Your balance, Ann Lee",
                body="Ann Lee, your balance of $1,250.00 is overdue",
                updated_at=NOW,
            )
            .returning(Attempt.id)
        ).scalar_one()
        conn.execute(
            sa.insert(DeliveryReport).values(
                provider="twilio_sms",
                route="",
                dedupe_key="k",
                matched=True,
                kind="delivery",
                attempt_id=attempt_id,
                payload={"sender": "+12125550123", "text": "Ann Lee"},
                received_at=NOW,
            )
        )
    for table in ("attempts", "delivery_reports"):
        raw = repr(_raw_rows(store, table))
        assert "Ann Lee" not in raw
        assert "+12125550123" not in raw
    with store.snapshot() as conn:
        attempt = conn.execute(sa.select(Attempt)).one()
        payload = conn.execute(sa.select(DeliveryReport.payload)).scalar_one()
    assert attempt.body.startswith("Ann Lee, your balance")
    assert attempt.address == "+12125550123"
    assert payload == {"sender": "+12125550123", "text": "Ann Lee"}


def test_a_sealed_column_cannot_be_compared_in_sql():
    with pytest.raises(TypeError, match="address_hash"):
        ContactPoint.address == "+12125550123"  # noqa: B015
    with pytest.raises(TypeError, match="encrypted at rest"):
        Account.borrower_name.in_(["Ann Lee"])
    assert ContactPoint.address.is_(None) is not None  # NULL tests stay possible


def test_a_number_is_found_by_its_keyed_hash(store):
    _intake(store, "loan-1")
    with store.snapshot() as conn:
        found = conn.execute(
            sa.select(ContactPoint.channel).where(
                address_lookup(ContactPoint.address_hash, "+12125550123", conn.dialect)
            )
        ).scalars()
        stored = conn.execute(sa.select(ContactPoint.address_hash)).scalars().all()
    assert sorted(found) == ["call", "sms"]
    assert all(len(h) == 64 and "2125550123" not in h for h in stored)


def test_a_value_moved_to_another_column_does_not_open():
    keyring = Keyring.from_environment(development_environment())
    sealed = keyring.seal(b"Ann Lee", b"accounts.borrower_name")
    assert keyring.open(sealed, b"accounts.borrower_name") == b"Ann Lee"
    with pytest.raises(KeyUnavailable, match="moved from another column"):
        keyring.open(sealed, b"attempts.body")
    tampered = sealed[:-1] + bytes([sealed[-1] ^ 1])
    with pytest.raises(KeyUnavailable, match="altered"):
        keyring.open(tampered, b"accounts.borrower_name")


def test_without_a_kek_a_service_refuses_to_start_and_says_what_to_do():
    with pytest.raises(KeyUnavailable, match=r"ORCHESTRATOR_KEK not set.*keys generate"):
        Keyring.from_environment({"ORCHESTRATOR_LOOKUP_KEY": DEVELOPMENT_LOOKUP_KEY})
    with pytest.raises(KeyUnavailable, match="decodes to 3 bytes, not 32"):
        Keyring.from_environment(
            {"ORCHESTRATOR_KEK": "YWJj", "ORCHESTRATOR_LOOKUP_KEY": generate_key()}
        )
