"""Operations endpoints: health reports each dependency; the OpenAPI document has examples."""

from __future__ import annotations

from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.services import Services
from orchestrator.settings import load_settings


def test_healthz_reports_database_and_redis(api):
    body = api.get("/healthz").json()
    assert body == {"status": "ok", "database": "ok", "redis": "ok"}


def test_healthz_names_a_dead_redis(store, capsys):
    settings = load_settings(redis_url="redis://127.0.0.1:1/0")
    app = create_app(Services.build(settings, store=store, require_redis=False))
    response = TestClient(app).get("/healthz")
    assert response.status_code == 503
    # Which dependency, to anyone; why, to the operator's log only (tests/security).
    assert response.json()["redis"] == "unavailable"
    # To stdout or stderr: where depends on whether this process configured logging already.
    captured = capsys.readouterr()
    assert "start it or set REDIS_URL" in captured.out + captured.err


def test_openapi_documents_the_v1_contract_with_examples(api):
    spec = api.get("/openapi.json").json()
    for path in (
        "/v1/accounts/{external_id}",
        "/v1/accounts:batch",
        "/v1/accounts/{external_id}/events",
        "/v1/accounts/{external_id}/timeline",
    ):
        assert path in spec["paths"], path
    put_schema = spec["paths"]["/v1/accounts/{external_id}"]["put"]["requestBody"]["content"]
    assert put_schema["application/json"]["schema"]["examples"][0]["external_id"] == "loan-88231"


def test_metrics_are_prometheus_text(api):
    api.get("/healthz")
    text = api.get("/metrics").text
    assert "orchestrator_http_request_seconds_bucket" in text
