"""Fixtures for the webhook tests: the real API served over HTTP on loopback, the test's own
store, clock and Redis namespace behind it, an account to report on, and messages in the
state dispatch leaves them after a provider accepted them.

One uvicorn server serves the whole session (starting one per test would cost more than
the tests themselves); each test mounts its own application on it, built on its own
services, so nothing leaks from one test to the next.
"""

from __future__ import annotations

import secrets
import shutil
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn

from orchestrator.api.app import create_app
from orchestrator.compliance import RulePack
from orchestrator.configuration.source import ConfigSource, Kind
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, TaskStatus
from orchestrator.planning.facts import ACCOUNT_COLUMNS, Loaded, load
from orchestrator.services import Services
from orchestrator.settings import load_settings
from orchestrator.store.db import Store
from orchestrator.store.tables import Account, Attempt, Base, ContactPoint, Task
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.e2e.conftest import (  # noqa: F401
    broker_kind,
    free_port,
    provider_env,
    stack,
    stack_factory,
)
from tests.webhooks.borrowers import cn_borrower, us_borrower
from tests.webhooks.lender_config import store_tenant_config
from tests.webhooks.provider_payloads import Webhook

TENANT = "acme"
PROFILE = {
    "lender_name": "Acme Lending",
    "support_phone": "+1 212 555 0100",
    "payment_url": "https://pay.acme.example/{reference}",
    "contact_person": "Sam Rivera",
}


class MountedApp:
    """An ASGI application that forwards to whichever app the current test mounted."""

    def __init__(self) -> None:
        self.app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                else:
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if self.app is None:
            raise RuntimeError("no application mounted")
        await self.app(scope, receive, send)


@dataclass
class Server:
    url: str
    mounted: MountedApp
    tls: ssl.SSLContext = field(default_factory=ssl.create_default_context)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Store]:
    """A migrated, empty store, once on SQLite and once on PostgreSQL (as in the root
    conftest, but emptied with DELETE: these tests write a handful of rows, and TRUNCATE's
    per-table file work costs more than all of them)."""
    if request.param == "sqlite":
        path = tmp_path / "orchestrator.db"
        shutil.copy(request.getfixturevalue("migrated_sqlite"), path)
        empty = Store.connect(f"sqlite:///{path}", pool_size=4)
    else:
        empty = Store.connect(request.getfixturevalue("migrated_pg"), pool_size=4)
        with empty.transaction() as conn:
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
            # The deletes above appended their counts' changes (store/rollup.py): drop them.
            for name in ("rollup_changes", "rollup_totals"):
                conn.execute(Base.metadata.tables[name].delete())
    yield empty
    empty.dispose()


@pytest.fixture(scope="session")
def api_server() -> Iterator[Server]:
    """The session's HTTP server on an ephemeral loopback port."""
    mounted = MountedApp()
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(mounted, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "the API server did not start"
    yield Server(f"http://127.0.0.1:{port}", mounted)
    server.should_exit = True
    thread.join(timeout=10)


@dataclass
class World:
    """The orchestrator as a provider sees it, and what a test needs to arrange and check.

    Parameters:
      url: where the API listens; also the public URL the providers were configured with
        (Twilio signs it).
      http: an unauthenticated client (providers carry no API key).
      lender: a client holding the tenant's key.
    """

    services: Services
    url: str
    http: httpx.Client
    lender: httpx.Client
    tenant_id: int
    env: dict[str, str]

    @property
    def store(self) -> Any:
        return self.services.store

    @property
    def clock(self) -> Any:
        return self.services.clock

    def post(self, webhook: Webhook) -> httpx.Response:
        return self.http.post(webhook.path, content=webhook.body, headers=webhook.headers)

    def put(self, document: dict[str, Any]) -> int:
        """Upsert an account through the lender API; its id."""
        external_id = document["external_id"]
        response = self.lender.put(f"/v1/accounts/{external_id}", json=document)
        assert response.status_code in (200, 201), response.text
        with self.store.snapshot() as conn:
            account_id = conn.execute(
                sa.select(Account.id).where(
                    Account.tenant_id == self.tenant_id, Account.external_id == external_id
                )
            ).scalar_one()
        return int(account_id)

    def account_due(self, external_id: str, channel: Channel, **overrides: Any) -> int:
        """Ann Lee in New York with a step on ``channel`` due today."""
        return self.put(us_borrower(external_id, channel, **overrides))

    def account_cn(self, external_id: str, channel: Channel = Channel.SMS) -> int:
        """A borrower in Guangdong with a step on ``channel`` due today."""
        return self.put(cn_borrower(external_id, channel))

    def dispatched(
        self,
        account_id: int,
        channel: Channel,
        provider: str,
        provider_message_id: str,
        *,
        address: str | None = None,
        at: datetime | None = None,
        in_flight: bool = False,
    ) -> Any:
        """A message a provider accepted, as dispatch records it: the account's pending task
        on ``channel`` (one of the strategy's) claimed and sent, its attempt holding the
        provider's id and counting as an attempt. Returns the attempt row.

        Parameters:
          in_flight: stop before dispatch recorded the provider's answer (task and attempt
            still ``sending``, the contact only reserved), as a fast provider's first report
            can find it.
        """
        now = at or self.clock.now()
        with self.store.transaction() as conn:
            task = conn.execute(
                sa.select(Task)
                .where(
                    Task.account_id == account_id,
                    Task.channel == channel.value,
                    Task.status.in_([TaskStatus.PLANNED.value, TaskStatus.QUEUED.value]),
                )
                .order_by(Task.not_before)
            ).first()
            assert task is not None, f"the account has no pending {channel} task to send"
            if address is None:
                # Through the table (addresses are sealed at rest, opened by the column type).
                address = conn.execute(
                    sa.select(ContactPoint.address)
                    .where(
                        ContactPoint.account_id == account_id,
                        ContactPoint.channel == channel.value,
                    )
                    .order_by(ContactPoint.position)
                    .limit(1)
                ).scalar_one()
            ref = f"att_{secrets.token_hex(12)}"
            conn.execute(
                sa.insert(Attempt).values(
                    ref=ref,
                    task_id=task.id,
                    tenant_id=task.tenant_id,
                    account_id=account_id,
                    channel=channel.value,
                    provider=provider,
                    address=address,
                    at=now,
                    status=(DeliveryStatus.SENDING if in_flight else DeliveryStatus.QUEUED).value,
                    contact_kind=(ContactKind.RESERVED if in_flight else ContactKind.ATTEMPT).value,
                    provider_message_id=None if in_flight else provider_message_id,
                    body="(rendered text)",
                    updated_at=now,
                )
            )
            conn.execute(
                sa.update(Task)
                .where(Task.id == task.id)
                .values(
                    status=(TaskStatus.SENDING if in_flight else TaskStatus.SENT).value,
                    attempt_count=Task.attempt_count + 1,
                    updated_at=now,
                )
            )
        return self.attempt(ref)

    def agent_call(self, account_id: int, step: str = "manual.agent_call") -> int:
        """A call the lender queued by hand for an agent (outside the strategy), planned
        now: the dialer's outcome will report on it."""
        now = self.clock.now()
        with self.store.transaction() as conn:
            return int(
                conn.execute(
                    sa.insert(Task)
                    .values(
                        tenant_id=self.tenant_id,
                        account_id=account_id,
                        strategy="manual",
                        step=step,
                        channel=Channel.CALL.value,
                        template="reminder_call",
                        local_date=now.date(),
                        not_before=now,
                        not_after=now + timedelta(hours=4),
                        expires_at=now + timedelta(hours=4),
                        status=TaskStatus.PLANNED.value,
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(Task.id)
                ).scalar_one()
            )

    def facts(self, account_id: int) -> Loaded:
        """What the compliance engine reads about the account now: its facts and its
        contact history (as dispatch reads them: made or in flight)."""
        config = self.services.config.get()
        with self.store.snapshot() as conn:
            row = conn.execute(sa.select(*ACCOUNT_COLUMNS).where(Account.id == account_id)).one()
            now = self.clock.now()
            return load(
                conn, [row], since=now - config.lookback_for(TENANT), include_pending=False
            )[account_id]

    def pack(self, jurisdiction: str = "US-NY") -> RulePack:
        return self.services.config.get().pack_for(jurisdiction, TENANT)

    def attempt(self, ref: str) -> Any:
        with self.store.snapshot() as conn:
            return conn.execute(sa.select(Attempt).where(Attempt.ref == ref)).one()

    def task(self, task_id: int) -> Any:
        with self.store.snapshot() as conn:
            return conn.execute(sa.select(Task).where(Task.id == task_id)).one()

    def tasks(self, account_id: int) -> list[Any]:
        with self.store.snapshot() as conn:
            return list(
                conn.execute(sa.select(Task).where(Task.account_id == account_id).order_by(Task.id))
            )

    def account_json(self, external_id: str) -> dict[str, Any]:
        response = self.lender.get(f"/v1/accounts/{external_id}")
        assert response.status_code == 200, response.text
        return dict(response.json())

    def timeline(self, external_id: str) -> list[dict[str, Any]]:
        response = self.lender.get(f"/v1/accounts/{external_id}/timeline")
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    def store_tenant_config(self, kind: Kind, content: str) -> None:
        store_tenant_config(self.services, TENANT, kind, content)


def _world(
    api_server: Server,
    store: Any,
    clock: Any,
    redis_url: str,
    namespace: str,
    env: dict[str, str],
    config: ConfigSource | None,
) -> Iterator[World]:
    settings = load_settings(
        redis_url=redis_url, queue_namespace=namespace, public_url=api_server.url
    )
    if config is None:
        config = ConfigSource(settings.config_dir, settings.templates_dir, store, now=clock.now)
    services = Services.build(settings, clock=clock, store=store, config=config)
    with store.transaction() as conn:
        tenant_id = create_tenant(
            conn, TENANT, name="Acme Lending", now=clock.now(), profile=PROFILE
        )
        key = issue_key(conn, tenant_id, role=Role.OPS, now=clock.now())
    api_server.mounted.app = create_app(services)
    # The server speaks plain HTTP on loopback; one TLS context for every client spares
    # loading the CA bundle twice per test.
    http = httpx.Client(base_url=api_server.url, timeout=30, verify=api_server.tls)
    lender = httpx.Client(
        base_url=api_server.url,
        headers={"Authorization": f"Bearer {key}"},
        timeout=30,
        verify=api_server.tls,
    )
    try:
        yield World(services, api_server.url, http, lender, tenant_id, env)
    finally:
        http.close()
        lender.close()
        api_server.mounted.app = None
        services.redis.close()


@pytest.fixture
def world(
    api_server: Server,
    store: Any,
    clock: Any,
    redis_url: str,
    webhook_namespace: str,
    provider_env: dict[str, str],  # noqa: F811
    file_config: ConfigSource,
) -> Iterator[World]:
    """The API on the shipped configuration (files only), with tenant ``acme``."""
    yield from _world(
        api_server, store, clock, redis_url, webhook_namespace, provider_env, file_config
    )


@pytest.fixture
def configurable_world(
    api_server: Server,
    store: Any,
    clock: Any,
    redis_url: str,
    webhook_namespace: str,
    provider_env: dict[str, str],  # noqa: F811
) -> Iterator[World]:
    """Like ``world``, with a configuration that also reads tenants' stored versions."""
    yield from _world(api_server, store, clock, redis_url, webhook_namespace, provider_env, None)


@pytest.fixture(scope="session")
def webhook_namespace() -> Iterator[str]:
    """A Redis key prefix for the session's worlds. Applying webhooks writes nothing to
    Redis (only dispatch does: rate limits, breakers), so one namespace is cleared once at
    the end instead of scanning Redis after every test."""
    import redis

    from tests.conftest import REDIS_URL

    namespace = f"test-webhooks-{secrets.token_hex(6)}"
    yield namespace
    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    finally:
        client.close()
