"""``/healthz`` needs no key, so it tells a stranger only whether each dependency is up:
with the database down it says ``"database": "unavailable"`` — not its host, port, name or
the driver's error, which go to the log for the operator (it used to answer all of them)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from orchestrator.api.app import create_app
from orchestrator.services import Services
from orchestrator.settings import load_settings
from orchestrator.store.db import Store, create_engine
from tests.e2e.conftest import free_port


@pytest.fixture
def unreachable_store():
    """A PostgreSQL store whose server is not there (a closed port)."""
    port = free_port()
    url = f"postgresql+psycopg://ledger_admin:hunter2@127.0.0.1:{port}/collections_prod"
    store = Store(create_engine(url, pool_size=1))
    yield store, port
    store.dispose()


def test_a_database_that_is_down_is_only_unavailable(
    unreachable_store, redis_url, file_config, capsys
):
    store, port = unreachable_store
    settings = load_settings(redis_url=redis_url)
    app = create_app(Services.build(settings, store=store, config=file_config))

    response = TestClient(app).get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "unavailable", "redis": "ok"}
    for secret in (
        str(port),
        "127.0.0.1",
        "collections_prod",
        "ledger_admin",
        "hunter2",
        "PostgreSQL",
        "refused",
        "psycopg",
    ):
        assert secret not in response.text
    logged = capsys.readouterr()
    assert "collections_prod" in logged.out + logged.err
    assert "hunter2" not in logged.out + logged.err


def test_a_redis_that_is_down_is_only_unavailable(store, file_config):
    port = free_port()
    settings = load_settings(redis_url=f"redis://127.0.0.1:{port}/0")
    app = create_app(Services.build(settings, store=store, config=file_config, require_redis=False))

    response = TestClient(app).get("/healthz")

    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "database": "ok", "redis": "unavailable"}
    assert str(port) not in response.text
