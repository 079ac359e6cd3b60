"""Account events carry the lender's own ``event_id``, unique per account: a retried event is
recorded once and answers the event first recorded; the same id with other content is
refused with 409 and changes nothing. A payment must say which payment it is (``event_id``,
``at``, or on this endpoint an ``Idempotency-Key``): the same half payment posted twice a
minute apart must never add up to a paid-in-full hold."""

from __future__ import annotations

from datetime import timedelta

from tests.factories import account_document, table_counts

HALF = {"type": "payment", "amount": "625"}


def _account_with_a_planned_contact(api, clock):
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = clock.now().date().isoformat()
    assert api.put("/v1/accounts/loan-1", json=doc).status_code == 201
    return _statuses(api)


def _statuses(api):
    entries = api.get("/v1/accounts/loan-1/timeline").json()["entries"]
    return [e["kind"] for e in entries if e["kind"].startswith("task.")]


def _payments(api):
    events = api.get("/v1/accounts/loan-1").json()["events"]
    return [e for e in events if e["type"] == "payment"]


def test_a_retried_event_id_is_recorded_once_and_answers_the_original(api, clock):
    planned = _account_with_a_planned_contact(api, clock)
    first = api.post("/v1/accounts/loan-1/events", json={"event_id": "pay-7", **HALF})
    clock.advance(timedelta(minutes=1))
    retry = api.post("/v1/accounts/loan-1/events", json={"event_id": "pay-7", **HALF})

    assert first.status_code == 201, first.text
    assert retry.status_code == 200, retry.text
    assert retry.json()["duplicate"] is True
    # The original event, recorded a minute earlier, not a second one made now.
    assert retry.json()["event"] == first.json()["event"]
    assert first.json()["event"]["event_id"] == "pay-7"
    assert len(_payments(api)) == 1
    # 625 of 1,250 is not paid in full: the planned contact still stands.
    assert _statuses(api) == planned


def test_the_same_event_id_with_other_content_is_a_conflict_and_changes_nothing(api, clock, store):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    assert (
        api.post("/v1/accounts/loan-1/events", json={"event_id": "pay-7", **HALF}).status_code
        == 201
    )
    counts = table_counts(store)

    other = api.post(
        "/v1/accounts/loan-1/events",
        json={"event_id": "pay-7", "type": "payment", "amount": "1250"},
    )

    assert other.status_code == 409, other.text
    error = other.json()["error"]
    assert error["code"] == "event_conflict"
    assert "pay-7" in error["message"]
    assert error["problems"][0]["field"] == "event_id"
    assert table_counts(store) == counts


def test_event_ids_are_per_account(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    api.put("/v1/accounts/loan-2", json=account_document("loan-2"))
    for account in ("loan-1", "loan-2"):
        response = api.post(f"/v1/accounts/{account}/events", json={"event_id": "pay-1", **HALF})
        assert response.status_code == 201, (account, response.text)


def test_a_payment_without_event_id_at_or_idempotency_key_is_refused(api, clock, store):
    planned = _account_with_a_planned_contact(api, clock)
    counts = table_counts(store)

    for _ in range(2):  # the case: the same half payment, a minute apart
        response = api.post("/v1/accounts/loan-1/events", json=HALF)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert "event_id" in error["message"]
        assert "Idempotency-Key" in error["message"]
        assert error["problems"][0]["field"] == "event_id"
        clock.advance(timedelta(minutes=1))

    assert table_counts(store) == counts
    assert _statuses(api) == planned


def test_a_payment_with_an_idempotency_key_is_recorded_once(api, clock):
    planned = _account_with_a_planned_contact(api, clock)
    headers = {"Idempotency-Key": "payment-625-a"}
    first = api.post("/v1/accounts/loan-1/events", json=HALF, headers=headers)
    clock.advance(timedelta(minutes=1))
    retry = api.post("/v1/accounts/loan-1/events", json=HALF, headers=headers)

    assert first.status_code == 201, first.text
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert len(_payments(api)) == 1
    assert _statuses(api) == planned


def test_a_payment_with_its_own_instant_is_keyed_by_it(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    paid = {**HALF, "at": "2026-11-02T14:00:00Z"}
    assert api.post("/v1/accounts/loan-1/events", json=paid).status_code == 201
    assert api.post("/v1/accounts/loan-1/events", json=paid).status_code == 200
    assert len(_payments(api)) == 1


def test_event_ids_in_account_documents(api, store):
    doc = account_document("loan-1", events=[{"event_id": "pay-1", **HALF}])
    assert api.put("/v1/accounts/loan-1", json=doc).status_code == 201
    # The same document again, later: the payment is the same one.
    assert api.put("/v1/accounts/loan-1", json=doc).status_code == 200
    assert len(_payments(api)) == 1
    counts = table_counts(store)

    conflicting = account_document(
        "loan-1", events=[{"event_id": "pay-1", "type": "payment", "amount": "1250"}]
    )
    response = api.put("/v1/accounts/loan-1", json=conflicting)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "event_conflict"
    assert table_counts(store) == counts

    batch = api.post(
        "/v1/accounts:batch",
        json={"accounts": [account_document("loan-2", events=[HALF]), account_document("loan-3")]},
    )
    assert batch.status_code == 200, batch.text
    [rejected] = batch.json()["rejected"]
    assert rejected["external_id"] == "loan-2"
    assert "a payment needs `event_id`" in str(rejected)


def test_one_event_id_for_two_different_events_in_one_document_is_refused(api, store):
    doc = account_document(
        "loan-1",
        events=[
            {"event_id": "pay-1", **HALF},
            {"event_id": "pay-1", "type": "payment", "amount": "1"},
        ],
    )
    counts = table_counts(store)
    response = api.put("/v1/accounts/loan-1", json=doc)
    assert response.status_code == 422
    assert "pay-1" in response.text
    assert table_counts(store) == counts
