"""PUT /v1/accounts/{external_id}: create, replace, and change nothing when nothing changed."""

from __future__ import annotations

from tests.factories import account_document, table_counts


def test_a_new_account_is_created_and_readable(api):
    response = api.put("/v1/accounts/loan-88231", json=account_document())
    assert response.status_code == 201, response.text
    assert response.json()["created"] is True

    account = api.get("/v1/accounts/loan-88231").json()
    assert account["jurisdiction"] == "US-NY"
    assert account["zones"][0] == "America/New_York"
    assert [p["channel"] for p in account["contact_points"]] == ["sms", "call", "email", "push"]
    assert account["debt"]["amount_due"] == "1250.00"


def test_sending_the_same_document_again_changes_nothing(api, store, clock):
    api.put("/v1/accounts/loan-88231", json=account_document())
    before = api.get("/v1/accounts/loan-88231").json()
    counts = table_counts(store)
    clock.advance(__import__("datetime").timedelta(hours=1))

    again = api.put("/v1/accounts/loan-88231", json=account_document())

    assert again.status_code == 200
    assert again.json()["changed"] is False
    assert api.get("/v1/accounts/loan-88231").json()["updated_at"] == before["updated_at"]
    assert table_counts(store) == counts


def test_a_changed_document_replaces_the_account(api):
    api.put("/v1/accounts/loan-88231", json=account_document())
    changed = account_document()
    changed["debt"]["amount_due"] = "900.00"
    changed["contact_points"] = changed["contact_points"][2:]

    response = api.put("/v1/accounts/loan-88231", json=changed)

    assert response.status_code == 200
    assert response.json()["changed"] is True
    account = api.get("/v1/accounts/loan-88231").json()
    assert account["debt"]["amount_due"] == "900.00"
    assert [p["channel"] for p in account["contact_points"]] == ["email", "push"]


def test_the_body_may_leave_out_the_id_but_not_contradict_it(api, store):
    body = account_document()
    del body["external_id"]
    assert api.put("/v1/accounts/loan-1", json=body).status_code == 201

    counts = table_counts(store)
    clash = api.put("/v1/accounts/loan-2", json=account_document("loan-3"))
    assert clash.status_code == 422
    assert clash.json()["error"]["problems"][0]["field"] == "external_id"
    assert table_counts(store) == counts


def test_events_in_the_document_are_recorded_once(api):
    doc = account_document(events=[{"type": "dispute", "at": "2026-10-09"}])
    api.put("/v1/accounts/loan-88231", json=doc)
    api.put("/v1/accounts/loan-88231", json=doc)
    events = api.get("/v1/accounts/loan-88231").json()["events"]
    assert [e["type"] for e in events] == ["dispute"]
    # A date is the start of that day in the borrower's zone (New York: UTC-4 in October).
    assert events[0]["at"] == "2026-10-09T04:00:00Z"


def test_an_account_that_looks_wrong_is_accepted_with_warnings(api):
    doc = account_document("loan-odd")
    doc["debt"].update(currency="CNY")
    doc["borrower"]["address"]["postal_code"] = "94105"

    response = api.put("/v1/accounts/loan-odd", json=doc)

    assert response.status_code == 201, response.text
    warnings = response.json()["warnings"]
    assert [w.split(":")[0] for w in warnings] == ["debt.currency", "borrower.address.postal_code"]
    assert (
        api.put("/v1/accounts/loan-ok", json=account_document("loan-ok")).json()["warnings"] == []
    )
