"""The ops dashboard: a page with no data in it, and the numbers of the key's own tenant."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient

from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.factories import account_document


def test_the_page_is_served_without_data_or_secrets(api):
    page = TestClient(api.app).get("/dashboard")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert "/v1/dashboard" in page.text
    assert not re.search(r"co_[a-z2-7]{8}_[A-Za-z0-9_\-]{43}", page.text)  # no key in it


def test_the_data_counts_the_tenants_own_tasks_and_decisions(api, store, clock):
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = clock.now().date().isoformat()
    api.put("/v1/accounts/loan-1", json=doc)
    api.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    with store.transaction() as conn:
        other = create_tenant(conn, "other", name="Other", now=datetime(2026, 1, 1, tzinfo=UTC))
        key = issue_key(conn, other, role=Role.LENDER, now=datetime(2026, 1, 1, tzinfo=UTC))

    mine = api.get("/v1/dashboard").json()
    theirs = (
        TestClient(api.app, headers={"Authorization": f"Bearer {key}"}).get("/v1/dashboard").json()
    )

    assert mine["accounts"] == 1
    assert mine["tasks"] == {"cancelled": 1}
    assert any("dispute" in r["rule"] for r in mine["blocked_or_moved_7d"])
    assert [e["kind"] for e in mine["recent"]][:2] == ["task.cancelled", "event.dispute"]
    assert {p["channel"] for p in mine["providers"]} == {
        "sms",
        "email",
        "push",
        "call",
        "letter",
        "wechat",
        "visit",
    }
    assert theirs["accounts"] == 0
    assert theirs["recent"] == []


def test_the_data_needs_a_key(api):
    assert TestClient(api.app).get("/v1/dashboard").status_code == 401
