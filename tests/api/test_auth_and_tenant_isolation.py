"""Every call is authenticated; one tenant never sees or changes another's accounts."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orchestrator.tenancy import Role, create_tenant, issue_key, revoke_key
from tests.factories import account_document, table_counts


@pytest.fixture
def rival(api, store, clock):
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "rival", name="Rival Credit", now=clock.now())
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    return TestClient(api.app, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize(
    "header",
    [None, "Bearer", "Bearer co_aaaaaaaa_" + "x" * 43, "Basic dXNlcjpwYXNz", "Bearer not-a-key"],
)
def test_a_missing_or_wrong_key_is_refused(api, store, header):
    counts = table_counts(store)
    client = TestClient(api.app, headers={"Authorization": header} if header else {})
    for response in (
        client.get("/v1/accounts/loan-1"),
        client.put("/v1/accounts/loan-1", json=account_document("loan-1")),
        client.post("/v1/accounts:batch", json={"accounts": [account_document("loan-1")]}),
    ):
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert (
            "Bearer" in response.json()["error"]["message"]
            or "not valid" in response.json()["error"]["message"]
        )
    assert table_counts(store) == counts


def test_a_revoked_key_stops_working_at_once(api, store, clock, tenant):
    assert api.get("/v1/accounts/x").status_code == 404
    with store.transaction() as conn:
        revoke_key(conn, tenant[1].split("_")[1], now=clock.now())
    assert api.get("/v1/accounts/x").status_code == 401


def test_another_tenants_account_does_not_exist_for_you(api, rival, store):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    counts = table_counts(store)

    assert rival.get("/v1/accounts/loan-1").status_code == 404
    assert rival.get("/v1/accounts/loan-1/timeline").status_code == 404
    assert rival.post("/v1/accounts/loan-1/events", json={"type": "payment"}).status_code == 404
    assert table_counts(store) == counts


def test_the_same_external_id_is_a_different_account_per_tenant(api, rival):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    mine = account_document("loan-1")
    mine["debt"]["amount_due"] = "5.00"
    assert rival.put("/v1/accounts/loan-1", json=mine).status_code == 201
    assert api.get("/v1/accounts/loan-1").json()["debt"]["amount_due"] == "1250.00"
    assert rival.get("/v1/accounts/loan-1").json()["debt"]["amount_due"] == "5.00"


def test_keys_are_stored_hashed(store, tenant):
    import sqlalchemy as sa

    from orchestrator.store.tables import ApiKey

    with store.snapshot() as conn:
        stored = conn.execute(sa.select(ApiKey.secret_hash)).scalars().all()
    assert tenant[1] not in stored
    assert all(len(h) == 64 for h in stored)
