"""POST /v1/accounts:batch: valid items commit, invalid ones come back with index and fields."""

from __future__ import annotations

from tests.factories import account_document, table_counts


def batch(*docs):
    return {"accounts": list(docs)}


def test_valid_items_commit_and_invalid_ones_are_reported_by_index(api):
    bad_phone = account_document("loan-2")
    bad_phone["contact_points"][0]["address"] = "+1999"
    bad_currency = account_document("loan-3")
    bad_currency["debt"]["currency"] = "XYZ"

    response = api.post(
        "/v1/accounts:batch", json=batch(account_document("loan-1"), bad_phone, bad_currency)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["accepted"], body["created"]) == (1, 1)
    rejected = {r["index"]: r for r in body["rejected"]}
    assert set(rejected) == {1, 2}
    assert rejected[1]["external_id"] == "loan-2"
    assert rejected[1]["errors"][0]["field"] == "contact_points[0].address"
    assert rejected[2]["errors"][0]["field"] == "debt.currency"
    assert api.get("/v1/accounts/loan-1").status_code == 200
    assert api.get("/v1/accounts/loan-2").status_code == 404


def test_the_same_batch_twice_changes_nothing(api, store):
    docs = [account_document(f"loan-{i}") for i in range(20)]
    first = api.post("/v1/accounts:batch", json=batch(*docs)).json()
    counts = table_counts(store)

    second = api.post("/v1/accounts:batch", json=batch(*docs)).json()

    assert first["created"] == 20
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 20)
    assert table_counts(store) == counts


def test_an_over_long_batch_is_refused_whole(api, store):
    counts = table_counts(store)
    response = api.post(
        "/v1/accounts:batch", json=batch(*[account_document(f"l-{i}") for i in range(51)])
    )
    assert response.status_code == 413
    assert "limit is 50" in response.json()["error"]["message"]
    assert table_counts(store) == counts


def test_malformed_json_and_wrong_shapes_are_refused_whole(api, store):
    counts = table_counts(store)
    headers = {"Content-Type": "application/json"}
    cases = {
        b'{"accounts": [': 400,
        b"": 400,
        b'[{"external_id": "x"}]': 422,
        b'{"accounts": {}}': 422,
        b'{"accounts": [], "extra": 1}': 422,
    }
    for raw, status in cases.items():
        response = api.post("/v1/accounts:batch", content=raw, headers=headers)
        assert response.status_code == status, (raw, response.text)
        assert response.json()["error"]["message"]
    assert table_counts(store) == counts


def test_a_batch_with_nothing_valid_is_refused_and_writes_nothing(api, store):
    counts = table_counts(store)
    bad = account_document("loan-1")
    bad["debt"]["amount_due"] = "-1"
    response = api.post("/v1/accounts:batch", json=batch(bad))
    assert response.status_code == 422
    assert table_counts(store) == counts


def test_a_repeated_external_id_in_one_batch_is_rejected(api):
    response = api.post(
        "/v1/accounts:batch", json=batch(account_document("loan-1"), account_document("loan-1"))
    ).json()
    assert response["created"] == 1
    assert response["rejected"][0]["index"] == 1
    assert "index 0" in response["rejected"][0]["errors"][0]["message"]


def test_an_idempotency_key_replays_the_first_answer(api, store):
    headers = {"Idempotency-Key": "import-2026-11-02"}
    body = batch(account_document("loan-1"))
    first = api.post("/v1/accounts:batch", json=body, headers=headers)
    counts = table_counts(store)

    replay = api.post("/v1/accounts:batch", json=body, headers=headers)

    assert replay.status_code == first.status_code
    assert replay.json() == first.json()
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert table_counts(store) == counts


def test_an_idempotency_key_reused_for_another_body_is_refused(api, store):
    headers = {"Idempotency-Key": "k-1"}
    api.post("/v1/accounts:batch", json=batch(account_document("loan-1")), headers=headers)
    counts = table_counts(store)
    response = api.post(
        "/v1/accounts:batch", json=batch(account_document("loan-2")), headers=headers
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert table_counts(store) == counts


def test_accepted_accounts_that_look_wrong_come_back_with_their_index(api):
    odd = account_document("loan-odd")
    odd["debt"].update(amount_due="50000000.00")
    body = {"accounts": [account_document("loan-1"), odd]}

    response = api.post("/v1/accounts:batch", json=body)

    assert response.status_code == 200, response.text
    [warned] = response.json()["warnings"]
    assert warned["index"] == 1
    assert warned["external_id"] == "loan-odd"
    assert warned["warnings"][0].startswith("debt.amount_due: 50000000.00 USD is unusually large")
