"""The field-visit tests' tenant and its ops key."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.tenancy import Role, create_tenant, issue_key


@pytest.fixture
def tenant(store, clock):
    """A tenant whose profile lets the agent's brief render: (tenant_id, lender key)."""
    with store.transaction() as conn:
        tenant_id = create_tenant(
            conn,
            "acme",
            name="Acme Lending",
            now=clock.now(),
            profile={
                "lender_name": "Acme Lending",
                "support_phone": "+1 212 555 0100",
                "payment_url": "https://pay.acme.example/{reference}",
            },
        )
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    return tenant_id, key


@pytest.fixture
def ops(services, tenant, clock):
    """The API as the tenant's ops key."""
    with services.store.transaction() as conn:
        key = issue_key(conn, tenant[0], role=Role.OPS, now=clock.now())
    with TestClient(create_app(services), headers={"Authorization": f"Bearer {key}"}) as client:
        yield client
