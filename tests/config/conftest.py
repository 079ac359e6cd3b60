"""Fixtures for the config API and hot reload: a configuration source on the test store, an
ops client for tenant ``acme`` (and a rival tenant's), documents to send."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from fastapi.testclient import TestClient

from orchestrator.settings import load_settings
from orchestrator.store.tables import ConfigVersion

# The stack (API over HTTP, sandbox, Dramatiq worker) for the end-to-end reload tests.
from tests.e2e.conftest import broker_kind, provider_env, stack, stack_factory  # noqa: F401

SETTINGS = load_settings()


def shipped(relative: str) -> dict[str, Any]:
    """A shipped config file, parsed: the starting point of a tenant's own version."""
    data: dict[str, Any] = yaml.safe_load((SETTINGS.config_dir / relative).read_text())
    return data


def as_yaml(data: dict[str, Any]) -> str:
    return str(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def stored_rows(store) -> list[Any]:
    with store.snapshot() as conn:
        return list(conn.execute(sa.select(ConfigVersion).order_by(ConfigVersion.id)))


@pytest.fixture
def config_source(store, clock):
    """The configuration as a service process holds it: the shipped files plus the versions
    stored in the test store, checked for changes every 5 s of the test clock."""
    from orchestrator.configuration.source import ConfigSource

    return ConfigSource(SETTINGS.config_dir, SETTINGS.templates_dir, store, now=clock.now)


@pytest.fixture
def config_services(store, clock, redis_url, config_source):
    from orchestrator.services import Services

    settings = load_settings(redis_url=redis_url, batch_limit=50)
    return Services.build(settings, clock=clock, store=store, config=config_source)


@pytest.fixture
def client_for(config_services, store, clock) -> Iterator[Callable[..., TestClient]]:
    """``client_for(tenant, role)``: an API client with a new key of that tenant (created
    on first use)."""
    from orchestrator.api.app import create_app
    from orchestrator.tenancy import Role, create_tenant, issue_key, tenant_id_for

    app = create_app(config_services)
    clients: list[TestClient] = []

    def make(tenant: str = "acme", role: str = "ops") -> TestClient:
        with store.transaction() as conn:
            tenant_id = tenant_id_for(conn, tenant) or create_tenant(
                conn, tenant, name=tenant.title(), now=clock.now()
            )
            key = issue_key(conn, tenant_id, role=Role(role), now=clock.now())
        client = TestClient(app, headers={"Authorization": f"Bearer {key}"})
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def ops(client_for) -> TestClient:
    """Tenant ``acme``'s ops client."""
    return client_for("acme", "ops")


@pytest.fixture
def config_copy(tmp_path) -> tuple[Path, Path]:
    """A copy of the shipped config and templates folders, to edit files in."""
    config_dir = tmp_path / "config"
    templates_dir = tmp_path / "templates"
    shutil.copytree(SETTINGS.config_dir, config_dir)
    shutil.copytree(SETTINGS.templates_dir, templates_dir)
    return config_dir, templates_dir


YAML = {"Content-Type": "application/yaml"}
DUE_TODAY = '{id: due_today, day: 0, channel: sms, template: due_today, at: "10:00",'


def strategy_text(due_today_at: str = "13:30") -> str:
    """The shipped strategy as tenant ``acme``'s own, comments kept, with its due-day SMS
    moved to ``due_today_at`` local time."""
    text = (SETTINGS.config_dir / "strategies" / "default.yaml").read_text()
    assert text.count(DUE_TODAY) == 3
    moved = DUE_TODAY.replace('"10:00"', f'"{due_today_at}"')
    return text.replace("name: default", "name: acme", 1).replace(DUE_TODAY, moved)


def key_prefix(client: TestClient) -> str:
    """The prefix of the key a client sends (``co_<prefix>_<secret>``)."""
    return client.headers["Authorization"].split("_")[1]
