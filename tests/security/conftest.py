"""A hostile tenant with only its own ops key, a tenant it must not hurt, and the platform's
credentials (the sandbox's), all on the test store and real Redis.

``acme`` plays the careless or hostile tenant; ``globex`` is the tenant it must not hurt.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from channels.sandbox.credentials import sandbox_credentials
from tests.config.conftest import (  # noqa: F401
    YAML,
    as_yaml,
    client_for,
    config_services,
    config_source,
    shipped,
)
from tests.factories import account_document

HOSTILE = "acme"
VICTIM = "globex"


@pytest.fixture(autouse=True)
def platform_credentials(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The platform's provider credentials, as every worker's environment holds them."""
    values = sandbox_credentials()
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


@pytest.fixture
def hostile(client_for) -> TestClient:  # noqa: F811
    """The hostile tenant's ops key: all it has."""
    return client_for(HOSTILE, "ops")


@pytest.fixture
def victim_lender(client_for) -> TestClient:  # noqa: F811
    """The other tenant's lender key (pushes accounts)."""
    return client_for(VICTIM, "lender")


@pytest.fixture
def hostile_lender(client_for) -> TestClient:  # noqa: F811
    return client_for(HOSTILE, "lender")


def due_account(external_id: str, **overrides: Any) -> dict[str, Any]:
    """An account whose due-day SMS step is due at the test clock's time (2026-11-02)."""
    document = account_document(external_id, **overrides)
    document["debt"]["due_date"] = "2026-11-02"
    return document


def import_due_account(store: Any, clock: Any, tenant_slug: str, external_id: str) -> int:
    """An account of ``tenant_slug`` (given a lender profile) written straight to the store,
    as an import does: the scheduled planning run is what plans it."""
    import sqlalchemy as sa

    from orchestrator.intake.document import AccountDocument
    from orchestrator.intake.upsert import prepare, write_accounts
    from orchestrator.store.tables import Account, Tenant
    from orchestrator.tenancy import tenant_id_for
    from tests.e2e.conftest import PROFILE

    with store.transaction() as conn:
        tenant = tenant_id_for(conn, tenant_slug)
        assert tenant is not None
        conn.execute(sa.update(Tenant).where(Tenant.id == tenant).values(profile=PROFILE))
        document = AccountDocument.model_validate(due_account(external_id))
        write_accounts(
            conn, tenant, [prepare(document, now=clock.now())], now=clock.now(), source="import"
        )
        return int(
            conn.execute(
                sa.select(Account.id).where(
                    Account.tenant_id == tenant, Account.external_id == external_id
                )
            ).scalar_one()
        )
