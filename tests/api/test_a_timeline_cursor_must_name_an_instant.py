"""The timeline's ``before`` cursor names an instant with its offset and an entry id; a
cursor without a time zone, or one whose instant no database can hold, is a 422 naming
``before`` on both stores. A cursor the API handed out still pages on."""

from __future__ import annotations

import pytest

from tests.factories import account_document


@pytest.mark.parametrize(
    ("before", "words"),
    [
        ("2026-11-28T12:52:30|1", "time zone"),
        ("2026-11-28T12:52:30.187262|7", "time zone"),
        ("0001-01-01T00:00:00+05:00|1", "out of range"),
        ("9999-12-31T23:59:59-05:00|1", "out of range"),
        ("2026-11-28T12:52:30Z|0", "id"),
        ("2026-11-28T12:52:30Z|-1", "id"),
        ("2026-11-28T12:52:30Z|one", "not a timeline cursor"),
        ("yesterday|1", "not a timeline cursor"),
    ],
)
def test_a_cursor_that_names_no_instant_is_refused(api, before, words):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))

    response = api.get("/v1/accounts/loan-1/timeline", params={"before": before})

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert words in error["message"]
    assert [p["field"] for p in error["problems"]] == ["before"]


def test_the_cursor_the_api_hands_out_pages_on(api):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))
    for channel in ("sms", "email", "call"):
        api.post("/v1/accounts/loan-1/events", json={"type": "opt_out", "channel": channel})

    first = api.get("/v1/accounts/loan-1/timeline", params={"limit": 1}).json()
    second = api.get("/v1/accounts/loan-1/timeline", params={"limit": 1, "before": first["next"]})

    assert second.status_code == 200, second.text
    assert second.json()["entries"] != first["entries"]
