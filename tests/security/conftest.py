"""A hostile tenant with only its own ops key, a tenant it must not hurt, and the platform's
credentials (the sandbox's), all on the test store and real Redis.

``acme`` plays the careless or hostile tenant; ``globex`` is the tenant it must not hurt.
The webhook tests' world (the real API over HTTP on loopback, with tenant ``acme``) is
where a second tenant plays its report tricks; the ops config API (``ops``, ``client_for``)
is where it edits its own configs.
"""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from fastapi.testclient import TestClient

from channels.egress import Egress
from orchestrator.dispatch import CircuitBreaker, Dispatcher, ProviderPool, RateLimiter
from orchestrator.planning.scheduler import sweep
from orchestrator.store.tables import Task, Tenant
from tests.config.conftest import (  # noqa: F401
    YAML,
    as_yaml,
    client_for,
    config_services,
    config_source,
    ops,
    shipped,
)
from tests.e2e.conftest import provider_env  # noqa: F401
from tests.factories import account_document
from tests.webhooks.conftest import (  # noqa: F401
    api_server,
    configurable_world,
    store,
    webhook_namespace,
    world,
)

HOSTILE = "acme"
VICTIM = "globex"


@pytest.fixture(autouse=True)
def platform_credentials(provider_env: dict[str, str]) -> dict[str, str]:  # noqa: F811
    """The platform's provider credentials, as every worker's environment holds them (the
    session's: the webhook world signs with the same values)."""
    return provider_env


@pytest.fixture
def hostile(client_for) -> TestClient:  # noqa: F811
    """The hostile tenant's ops key: all it has."""
    return client_for(HOSTILE, "ops")


@pytest.fixture
def victim_lender(client_for) -> TestClient:  # noqa: F811
    """The other tenant's lender key (pushes accounts)."""
    return client_for(VICTIM, "lender")


@pytest.fixture
def hostile_lender(client_for) -> TestClient:  # noqa: F811
    return client_for(HOSTILE, "lender")


def due_account(external_id: str, **overrides: Any) -> dict[str, Any]:
    """An account whose due-day SMS step is due at the test clock's time (2026-11-02)."""
    document = account_document(external_id, **overrides)
    document["debt"]["due_date"] = "2026-11-02"
    return document


def import_due_account(db: Any, clock: Any, tenant_slug: str, external_id: str) -> int:
    """An account of ``tenant_slug`` (given a lender profile) written straight to the store,
    as an import does: the scheduled planning run is what plans it."""
    import sqlalchemy as sa

    from orchestrator.intake.document import AccountDocument
    from orchestrator.intake.upsert import prepare, write_accounts
    from orchestrator.store.tables import Account, Tenant
    from orchestrator.tenancy import tenant_id_for
    from tests.e2e.conftest import PROFILE

    with db.transaction() as conn:
        tenant = tenant_id_for(conn, tenant_slug)
        assert tenant is not None
        conn.execute(sa.update(Tenant).where(Tenant.id == tenant).values(profile=PROFILE))
        document = AccountDocument.model_validate(due_account(external_id))
        write_accounts(
            conn, tenant, [prepare(document, now=clock.now())], now=clock.now(), source="import"
        )
        return int(
            conn.execute(
                sa.select(Account.id).where(
                    Account.tenant_id == tenant, Account.external_id == external_id
                )
            ).scalar_one()
        )


class InternalService:
    """An HTTP service inside the network that answers with something private."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.requests = 0
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.requests += 1
                self.rfile.read(int(self.headers.get("content-length", "0")))
                payload = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def internal() -> Iterator[Any]:
    made: list[InternalService] = []

    def make(status: int, body: dict[str, Any]) -> InternalService:
        made.append(InternalService(status, body))
        return made[-1]

    yield make
    for service in made:
        service.close()


def own_twilio(base_url: str) -> dict[str, Any]:
    """The shipped channels with the SMS primary on a Twilio account of the tenant's own,
    at ``base_url``."""
    document = copy.deepcopy(shipped("channels.yaml"))
    document["channels"]["sms"]["providers"] = [
        {
            "adapter": "twilio_sms",
            "settings": {
                "base_url": base_url,
                "account_sid_env": "ACME__TWILIO_ACCOUNT_SID",
                "auth_token_env": "ACME__TWILIO_AUTH_TOKEN",
                "from_number": "+15005550009",
                "timeout_seconds": 2,
            },
            "retry": {"attempts": 1, "base_seconds": 0.01, "max_seconds": 0.01},
        }
    ]
    return document


def queued_task(db: Any, clock: Any, services: Any) -> int:
    """The hostile tenant's due SMS, planned and queued: what dispatch takes next."""
    import_due_account(db, clock, HOSTILE, "loan-1")
    services.planner.plan(clock.now())
    clock.advance(timedelta(hours=4))
    queued = sweep(db, clock.now(), stale=timedelta(minutes=5)).queued
    with db.snapshot() as conn:
        tasks = conn.execute(
            sa.select(Task.id)
            .join(Tenant, Tenant.id == Task.tenant_id)
            .where(Tenant.slug == HOSTILE, Task.channel == "sms", Task.id.in_(queued))
        ).scalars()
        return int(next(iter(tasks)))


def dispatcher_for(
    services: Any, clock: Any, redis_url: str, namespace: str, egress: Egress
) -> Dispatcher:
    """A dispatcher on the test store and Redis whose tenant-named endpoints go through
    ``egress``; it re-queues nothing (failover is not what these tests look at)."""
    client = redis.Redis.from_url(redis_url)
    pool = ProviderPool(
        services.config.get, CircuitBreaker(client, namespace), clock, egress=egress
    )
    return Dispatcher(
        services, pool, RateLimiter(client, namespace), lambda task: None, sleep=lambda s: None
    )
