"""A number in a path or cursor that no row can hold is a 422 naming it, on both stores,
never a database error: PostgreSQL's int4 ends at 2**31 - 1, SQLite's integers at 2**63 - 1.
"""

from __future__ import annotations

import pytest

from tests.factories import account_document, table_counts


@pytest.mark.parametrize("version", [2**31, 2**63, 10**30])
def test_a_config_version_beyond_the_column_is_refused(ops, store, version):
    counts = table_counts(store)

    response = ops.get(f"/v1/config/strategy/versions/{version}")

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert [p["field"] for p in error["problems"]] == ["version"]
    assert table_counts(store) == counts


def test_the_largest_version_the_column_holds_is_simply_not_found(ops):
    response = ops.get(f"/v1/config/strategy/versions/{2**31 - 1}")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("entry_id", [2**63, 10**30])
def test_a_timeline_cursor_with_an_id_beyond_the_column_is_refused(api, entry_id):
    api.put("/v1/accounts/loan-1", json=account_document("loan-1"))

    response = api.get(
        "/v1/accounts/loan-1/timeline",
        params={"before": f"2026-11-28T12:52:30.187262Z|{entry_id}"},
    )

    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert [p["field"] for p in error["problems"]] == ["before"]
    assert "id" in error["message"]
