"""A lender's receiving side, for real: an HTTP server on loopback that verifies every
request the way docs/lender-events.md tells lenders to, and the API and the delivery pass
on the test store and clock (loopback endpoints allowed, as in development)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient

from channels.egress import Egress
from orchestrator.api.app import create_app
from orchestrator.outbound.delivery import Deliverer
from orchestrator.tenancy import Role, create_tenant, issue_key
from tests.factories import account_document


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The verification snippet of docs/lender-events.md, as a lender would write it
    (without our code): HMAC-SHA256 over ``id.timestamp.body``, any ``v1,`` signature."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, sig.split(",", 1)[1])
        for sig in headers["webhook-signature"].split()
        if sig.startswith("v1,")
    )


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A lender's endpoint: records each request; answers ``status`` (settable)."""

    port: int
    status: int = 200
    requests: list[Received] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.requests.append(
                    Received({k.lower(): v for k, v in self.headers.items()}, body)
                )
                self.send_response(receiver.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def events(self) -> list[dict]:
        return [r.event for r in self.requests]

    def unique_events(self) -> list[dict]:
        """What a receiver that deduplicates by ``webhook-id`` processes, in order."""
        seen: set[str] = set()
        found = []
        for request in self.requests:
            if request.headers["webhook-id"] not in seen:
                seen.add(request.headers["webhook-id"])
                found.append(request.event)
        return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver that is up."""
    found = Receiver(free_port())
    found.start()
    yield found
    found.stop()


@pytest.fixture
def down_receiver() -> Iterator[Receiver]:
    """A receiver whose server is not started yet (its port refuses connections)."""
    found = Receiver(free_port())
    yield found
    found.stop()


@pytest.fixture
def dev_services(store, clock, redis_url, file_config):
    """The services with loopback endpoints allowed (development), on the test clock."""
    from orchestrator.services import Services
    from orchestrator.settings import load_settings

    settings = load_settings(redis_url=redis_url, allow_loopback_providers=True)
    return Services.build(settings, clock=clock, store=store, config=file_config)


@pytest.fixture
def lender(dev_services, tenant) -> Iterator[TestClient]:
    """The API as tenant ``acme``'s lender key."""
    with TestClient(
        create_app(dev_services), headers={"Authorization": f"Bearer {tenant[1]}"}
    ) as client:
        yield client


@pytest.fixture
def rival(lender, store, clock) -> TestClient:
    """The API as another tenant's lender key."""
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, "rival", name="Rival Credit", now=clock.now())
        key = issue_key(conn, tenant_id, role=Role.LENDER, now=clock.now())
    return TestClient(lender.app, headers={"Authorization": f"Bearer {key}"})


@pytest.fixture
def deliverer(store, clock) -> Iterator[Deliverer]:
    """The delivery pass on the test clock, loopback allowed, jitter seeded, short timeout."""
    found = Deliverer(
        store, clock, egress=Egress(allow_loopback=True), timeout=2.0, rng=random.Random(7)
    )
    yield found
    found.close()


def register(client: TestClient, url: str, **extra) -> dict:
    response = client.post("/v1/webhook-endpoints", json={"url": url, **extra})
    assert response.status_code == 201, response.text
    return response.json()


def an_account(client: TestClient, external_id: str = "loan-1") -> None:
    response = client.put(f"/v1/accounts/{external_id}", json=account_document(external_id))
    assert response.status_code in (200, 201), response.text
