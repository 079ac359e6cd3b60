"""POST /v1/accounts/{id}/events: recorded once, visible in the account and its timeline."""

from __future__ import annotations

from tests.factories import account_document, table_counts


def test_an_event_is_recorded_and_a_resend_is_a_duplicate(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    event = {"type": "opt_out", "channel": "sms", "at": "2026-11-02T14:00:00Z"}

    first = api.post("/v1/accounts/loan-1/events", json=event)
    second = api.post("/v1/accounts/loan-1/events", json=event)

    assert first.status_code == 201, first.text
    assert second.status_code == 200
    assert second.json()["duplicate"] is True
    events = api.get("/v1/accounts/loan-1").json()["events"]
    assert [(e["type"], e["channel"]) for e in events] == [("opt_out", "sms")]


def test_at_defaults_to_now(api, clock):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    response = api.post("/v1/accounts/loan-1/events", json={"type": "dispute"})
    assert response.json()["event"]["at"] == clock.now().isoformat().replace("+00:00", "Z")


def test_an_event_appears_in_the_timeline(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    api.post(
        "/v1/accounts/loan-1/events",
        json={
            "type": "promise_to_pay",
            "at": "2026-11-01",
            "until": "2026-11-10",
            "amount": "300.00",
        },
    )
    entries = api.get("/v1/accounts/loan-1/timeline").json()["entries"]
    assert entries[0]["kind"] == "event.promise_to_pay"
    assert "of 300.00" in entries[0]["message"]


def test_an_invalid_event_or_unknown_account_changes_nothing(api, store):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    counts = table_counts(store)

    missing_channel = api.post("/v1/accounts/loan-1/events", json={"type": "opt_out"})
    unknown = api.post("/v1/accounts/nobody/events", json={"type": "dispute"})
    not_json = api.post(
        "/v1/accounts/loan-1/events",
        content=b"{type: dispute}",
        headers={"Content-Type": "application/json"},
    )

    assert missing_channel.status_code == 422
    assert "channel" in missing_channel.json()["error"]["problems"][0]["message"]
    assert unknown.status_code == 404
    assert not_json.status_code == 400
    assert table_counts(store) == counts


def test_the_timeline_pages_with_a_cursor(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    for day in range(1, 6):
        api.post(
            "/v1/accounts/loan-1/events",
            json={"type": "payment", "at": f"2026-10-0{day}", "amount": "1.00"},
        )

    first = api.get("/v1/accounts/loan-1/timeline", params={"limit": 2}).json()
    second = api.get(
        "/v1/accounts/loan-1/timeline", params={"limit": 2, "before": first["next"]}
    ).json()
    third = api.get(
        "/v1/accounts/loan-1/timeline", params={"limit": 2, "before": second["next"]}
    ).json()

    seen = [e["at"] for e in first["entries"] + second["entries"] + third["entries"]]
    assert len(seen) == 5
    assert seen == sorted(seen, reverse=True)
    assert third["next"] is None
