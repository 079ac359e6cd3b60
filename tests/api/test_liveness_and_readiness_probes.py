"""The API's probes: ``/livez`` answers whatever the dependencies do (a liveness probe must
not restart healthy processes during an outage); ``/readyz`` takes a process out of the load
balancer while the database is down or its schema behind this code's migrations."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.services import Services
from orchestrator.settings import load_settings


def test_a_ready_process_says_each_check_is_ok(api):
    assert api.get("/livez").json() == {"status": "ok"}
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok", "schema": "ok"}


def test_a_dead_redis_makes_the_process_unready_but_still_alive(store, file_config):
    settings = load_settings(redis_url="redis://127.0.0.1:1/0")
    client = TestClient(
        create_app(Services.build(settings, store=store, config=file_config, require_redis=False))
    )

    assert client.get("/livez").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["redis"] == "unavailable"
    assert response.json()["schema"] == "ok"


def test_a_schema_behind_the_code_keeps_the_process_out_of_traffic(store, redis_url, file_config):
    with store.transaction() as conn:
        (revision,) = conn.execute(sa.text("SELECT version_num FROM alembic_version")).one()
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0001'"))
    try:
        client = TestClient(
            create_app(
                Services.build(load_settings(redis_url=redis_url), store=store, config=file_config)
            )
        )
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["schema"] == "behind"
        assert client.get("/livez").status_code == 200
    finally:
        with store.transaction() as conn:
            conn.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})
