"""One console server per test module: the API process on a SQLite copy of the migrated
schema, a virtual clock, real Redis, and the shipped configuration with the store's
tenant versions on top; a ``page`` of real Chromium signs in to it."""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from tests.conftest import REDIS_URL
from tests.factories import account_document

SHOTS = os.environ.get("CONSOLE_SCREENSHOTS")  # a folder: the tests save their screenshots there


@dataclass
class Console:
    """The running console and what a test needs to arrange and check."""

    url: str
    services: object
    tenant_id: int
    lender: httpx.Client
    users: dict[str, str] = field(default_factory=dict)

    @property
    def store(self):
        return self.services.store

    def user(self, role: str, name: str | None = None) -> tuple[str, str]:
        """A new user of ``role`` in the ``acme`` tenant: (name, password)."""
        from orchestrator.ops_users import OpsRole, create_user, password_cost

        name = name or f"{role}-{secrets.token_hex(3)}"
        with self.store.transaction() as conn:
            found = create_user(
                conn,
                self.tenant_id,
                name,
                OpsRole(role),
                now=self.services.clock.now(),
                cost=password_cost(self.services.settings),
            )
        assert found.password is not None
        return name, found.password


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def console(migrated_sqlite, tmp_path_factory) -> Iterator[Console]:
    from orchestrator.api.app import create_app
    from orchestrator.clock import VirtualClock
    from orchestrator.configuration.source import ConfigSource
    from orchestrator.services import Services
    from orchestrator.settings import load_settings
    from orchestrator.store.db import Store
    from orchestrator.tenancy import Role, create_tenant, issue_key

    path = tmp_path_factory.mktemp("console") / "orchestrator.db"
    shutil.copy(migrated_sqlite, path)
    store = Store.connect(f"sqlite:///{path}", pool_size=4)
    clock = VirtualClock(datetime(2026, 11, 2, 15, 0, tzinfo=UTC))
    settings = load_settings(
        redis_url=REDIS_URL,
        console_secure_cookies=False,
        # A test deployment: passwords hashed at FAST_FOR_TESTS (tests/test_ops_users.py shows
        # production's cost), so each sign-in costs milliseconds.
        fast_password_hashing=True,
        queue_namespace=f"test-{secrets.token_hex(6)}",
    )
    config = ConfigSource(settings.config_dir, settings.templates_dir, store, now=clock.now)
    services = Services.build(settings, clock=clock, store=store, config=config)
    profile = {
        "lender_name": "Acme Lending",
        "support_phone": "+18005550100",
        "payment_url": "https://pay.example.com/{reference}",
        "contact_person": "Jordan Smith",
    }
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "acme", name="Acme", now=clock.now(), profile=profile)
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(1000):
        if server.started:
            break
        time.sleep(0.01)
    assert server.started, "the console's server did not start"
    url = f"http://127.0.0.1:{port}"
    # A generous timeout: the machine running the suite may be busy.
    lender = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = clock.now().date().isoformat()
    assert lender.put("/v1/accounts/loan-1", json=doc).status_code == 201
    try:
        yield Console(url, services, tenant_id, lender)
    finally:
        lender.close()
        server.should_exit = True
        thread.join(timeout=10)
        store.dispose()


def sign_in(page, console: Console, name: str, password: str, path: str = "/console/") -> None:
    page.goto(console.url + path)
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def shoot(page, name: str, element: str | None = None) -> None:
    """Save a full-page screenshot (or one of ``element``) when CONSOLE_SCREENSHOTS names a
    folder."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        path = str(Path(SHOTS) / f"{name}.png")
        if element is not None:
            page.locator(element).screenshot(path=path)
        else:
            page.screenshot(path=path, full_page=True)
