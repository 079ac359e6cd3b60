"""Only ops keys read or change configs, and each tenant only its own: a lender key gets
403, another tenant's versions do not exist for you, and its problems are never shown."""

from __future__ import annotations

from datetime import time

from fastapi.testclient import TestClient

from orchestrator.configuration.versions import Kind, append
from tests.factories import table_counts

from .conftest import YAML, stored_rows, strategy_text

CALLS = [
    ("get", "/v1/config", {}),
    ("get", "/v1/config/strategy", {}),
    ("get", "/v1/config/strategy/versions", {}),
    ("get", "/v1/config/strategy/versions/1", {}),
    ("put", "/v1/config/strategy", {"content": strategy_text(), "headers": YAML}),
    ("delete", "/v1/config/strategy", {}),
]


def test_a_lender_key_is_refused_and_changes_nothing(client_for, store):
    lender = client_for("acme", "lender")
    counts = table_counts(store)

    for method, path, kwargs in CALLS:
        response = getattr(lender, method)(path, **kwargs)

        assert response.status_code == 403, (method, path)
        assert "ops key" in response.json()["error"]["message"]
    assert table_counts(store) == counts


def test_no_key_is_refused(ops):
    anonymous = TestClient(ops.app)
    for method, path, kwargs in CALLS:
        assert getattr(anonymous, method)(path, **kwargs).status_code == 401


def test_a_tenant_sees_and_changes_only_its_own_configs(ops, client_for, config_source):
    rival = client_for("rival", "ops")
    ops.put("/v1/config/strategy", content=strategy_text("13:30"), headers=YAML)

    assert rival.get("/v1/config").json()["kinds"]["strategy"]["source"] == "file"
    assert rival.get("/v1/config/strategy/versions").json()["versions"] == []
    assert rival.get("/v1/config/strategy/versions/1").status_code == 404
    assert rival.delete("/v1/config/strategy").json()["changed"] is False

    rival.put("/v1/config/strategy", content=strategy_text("15:00"), headers=YAML)
    config = config_source.get()
    at = {
        tenant: {s.at for _, s in config.strategy_for(tenant).steps() if s.id == "due_today"}
        for tenant in ("acme", "rival")
    }
    assert at == {"acme": {time(13, 30)}, "rival": {time(15, 0)}}
    assert ops.get("/v1/config/strategy/versions").json()["versions"][0]["version"] == 1


def test_another_tenants_broken_version_is_counted_never_shown(ops, client_for, store, clock):
    client_for("rival", "ops")
    with store.transaction() as conn:  # written behind the API's back, e.g. by hand in SQL
        append(
            conn,
            "rival",
            Kind.STRATEGY,
            "name: rival-secret-plan\ncatch_up_days: soon\n",
            created_by="sql",
            now=clock.now(),
            after=None,
        )
    rows = len(stored_rows(store))

    response = ops.put("/v1/config/strategy", content=strategy_text(), headers=YAML)

    assert response.status_code == 422
    problems = response.json()["error"]["problems"]
    assert problems == [
        {
            "field": "",
            "message": "1 other tenant config(s) are invalid too; the platform must fix them",
        }
    ]
    assert "rival" not in response.text
    assert len(stored_rows(store)) == rows
