"""One tenant never sees, replays or deletes another's endpoints and deliveries; an
endpoint that is not https, points inside the platform's network or names unknown event
types is refused with what is wrong, and nothing is written."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.factories import table_counts
from tests.lender_events.conftest import an_account, register


def test_another_tenants_endpoints_and_deliveries_do_not_exist_for_you(
    lender, rival, receiver, deliverer, store
):
    endpoint = register(lender, receiver.url)
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    deliverer.run()
    [delivery] = lender.get("/v1/webhook-deliveries").json()["deliveries"]
    counts = table_counts(store)

    assert rival.get("/v1/webhook-endpoints").json() == {"endpoints": []}
    assert rival.get("/v1/webhook-deliveries").json() == {"deliveries": [], "next": None}
    assert rival.get(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    assert rival.delete(f"/v1/webhook-endpoints/{endpoint['id']}").status_code == 404
    assert rival.post(f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret").status_code == 404
    assert rival.get(f"/v1/webhook-deliveries/{delivery['id']}").status_code == 404
    assert rival.post(f"/v1/webhook-deliveries/{delivery['id']}/replay").status_code == 404
    bulk = rival.post("/v1/webhook-deliveries:replay", json={"ids": [delivery["id"]]})
    assert bulk.status_code == 404
    assert delivery["id"] in bulk.json()["error"]["message"]
    dead = rival.post("/v1/webhook-deliveries:replay", json={"status": "delivered"})
    assert dead.json() == {"replayed": [], "skipped": []}
    assert table_counts(store) == counts
    assert deliverer.run().refs == []  # nothing was made due again
    assert len(receiver.requests) == 1


def test_a_rivals_events_go_only_to_the_rivals_endpoint(lender, rival, receiver, deliverer):
    register(rival, receiver.url)
    an_account(lender)
    lender.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    deliverer.run()
    assert receiver.requests == []


@pytest.mark.parametrize(
    ("body", "field", "says"),
    [
        ({"url": "http://lender.example/hooks"}, "url", "https://"),
        ({"url": "https://10.0.0.8/hooks"}, "url", "not a public address"),
        ({"url": "https://169.254.169.254/latest"}, "url", "not a public address"),
        ({"url": "https://[::ffff:192.168.0.1]/x"}, "url", "not a public address"),
        ({"url": "ftp://lender.example/x"}, "url", "http(s) URL"),
        ({"url": "https://user:pw@lender.example/x"}, "url", "credentials"),
        (
            {"url": "https://lender.example/x", "event_types": ["promise.kept"]},
            "event_types[0]",
            "not an event type",
        ),
        ({"url": "https://lender.example/x", "colour": "red"}, "colour", "Extra inputs"),
        ({}, "url", "required"),
    ],
)
def test_a_bad_endpoint_is_refused_with_what_is_wrong(lender, store, body, field, says):
    counts = table_counts(store)
    response = lender.post("/v1/webhook-endpoints", json=body)
    assert response.status_code == 422, response.text
    problems = {p["field"]: p["message"] for p in response.json()["error"]["problems"]}
    assert field in problems
    assert says in problems[field]
    assert table_counts(store) == counts


def test_loopback_is_refused_outside_development(api, store, receiver):
    counts = table_counts(store)
    response = api.post("/v1/webhook-endpoints", json={"url": receiver.url})
    assert response.status_code == 422
    assert "https://" in response.json()["error"]["problems"][0]["message"]
    response = api.post("/v1/webhook-endpoints", json={"url": "https://127.0.0.1:9/hooks"})
    assert "not a public address" in response.json()["error"]["problems"][0]["message"]
    assert table_counts(store) == counts


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("get", "/v1/webhook-endpoints/not-an-id", None),
        ("get", "/v1/webhook-deliveries/dlv_x", None),
        ("get", "/v1/webhook-deliveries?status=lost", None),
        ("get", "/v1/webhook-deliveries?before=dlv_" + "0" * 24, None),
        ("post", "/v1/webhook-deliveries:replay", {}),
        ("post", "/v1/webhook-deliveries:replay", {"ids": ["x"], "status": "dead"}),
        ("post", "/v1/webhook-deliveries:replay", {"status": "pending"}),
        ("post", "/v1/webhook-deliveries:replay", {"status": "dead", "since": "2026-11-01T00:00"}),
    ],
)
def test_bad_reads_and_replays_are_refused(lender, store, method, path, body):
    counts = table_counts(store)
    response = getattr(lender, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert table_counts(store) == counts


def test_a_rotation_overlap_beyond_a_week_is_refused(lender, receiver, store):
    endpoint = register(lender, receiver.url)
    counts = table_counts(store)
    response = lender.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret", json={"overlap_hours": 500}
    )
    assert response.status_code == 422
    assert response.json()["error"]["problems"][0]["field"] == "overlap_hours"
    assert table_counts(store) == counts


def test_no_key_no_endpoints(lender):
    client = TestClient(lender.app)
    assert client.get("/v1/webhook-endpoints").status_code == 401
    assert (
        client.post("/v1/webhook-endpoints", json={"url": "https://x.example"}).status_code == 401
    )
