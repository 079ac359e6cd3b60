"""``GET /v1/results``: the service's figures as JSON and as CSV, for ops keys of the
tenant only; a period that is not one is a 422 naming the bad end."""

from __future__ import annotations

import csv
import io

import pytest

from orchestrator.reporting.results import results
from orchestrator.tenancy import tenant_id_for
from tests.reporting.history import PERIOD, build

QUERY = {"from": PERIOD[0].isoformat(), "to": PERIOD[1].isoformat()}


@pytest.fixture
def acme(ops, store):
    with store.transaction() as conn:
        tenant_id = tenant_id_for(conn, "acme")
        build(conn, tenant_id)
    return tenant_id


def test_the_answer_is_the_service_s(ops, acme, store, config_source):
    answer = ops.get("/v1/results", params=QUERY)

    assert answer.status_code == 200
    with store.snapshot() as conn:
        expected = results(
            conn,
            tenant_id=acme,
            tenant="acme",
            start=PERIOD[0],
            end=PERIOD[1],
            channels=config_source.get().channels_for("acme"),
        )
    assert answer.json() == expected.as_json()
    assert [(a["segment"], a["arm"], a["accounts"]) for a in answer.json()["arms"]] == [
        ("small_balance", "champion", 1),
        ("standard", "champion", 2),
        ("standard", "early_call", 1),
    ]


@pytest.mark.parametrize("how", [{"headers": {"Accept": "text/csv"}}, {"format": "csv"}])
def test_csv_holds_what_json_holds(ops, acme, how):
    params = {**QUERY, **({"format": how["format"]} if "format" in how else {})}
    answer = ops.get("/v1/results", params=params, headers=how.get("headers", {}))
    data = ops.get("/v1/results", params=QUERY).json()

    assert answer.headers["content-type"].startswith("text/csv")
    assert "attachment" in answer.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    assert [(r["segment"], r["arm"]) for r in rows] == [
        (a["segment"], a["arm"]) for a in data["arms"]
    ]
    for row, arm in zip(rows, data["arms"], strict=True):
        assert int(row["accounts"]) == arm["accounts"]
        assert row["collected_USD"] == arm["collected"].get("USD", "0")
        assert row["payment_rate"] == str(arm["payment_rate"])


def test_only_ops_keys_of_the_tenant_see_it(client_for, acme):
    assert client_for("acme", "lender").get("/v1/results", params=QUERY).status_code == 403
    assert client_for("rival", "ops").get("/v1/results", params=QUERY).json()["arms"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-11-01", "to": "2026-10-01"}, "to"),
        ({"from": "2026-13-01", "to": "2026-11-01"}, "from"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "from"),
        ({**QUERY, "format": "xml"}, "format"),
    ],
)
def test_a_bad_period_or_format_is_named(ops, params, field):
    answer = ops.get("/v1/results", params=params)

    assert answer.status_code == 422
    assert [p["field"] for p in answer.json()["error"]["problems"]] == [field]


def test_without_a_period_it_reports_the_last_30_days(ops, clock):
    data = ops.get("/v1/results").json()
    assert data["to"] == "2026-11-03"  # the test clock's tomorrow
    assert data["from"] == "2026-10-04"
