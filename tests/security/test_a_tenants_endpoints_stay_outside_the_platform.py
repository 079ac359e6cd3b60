"""A tenant's provider endpoints never reach inside the platform's network, and what a
provider answers never reaches the tenant's timeline (issue 18 §3).

Before: ``base_url`` and SMTP hosts in a tenant's channel config were never checked, so
``smtp://169.254.169.254:80`` or ``http://127.0.0.1:6379/?`` were accepted, the workers
connected there, and up to 200 characters of the answer went to the ledger the tenant reads:
an internal port scanner with partial reads.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import pytest
import sqlalchemy as sa

from channels.egress import ALLOW_LOOPBACK_VARIABLE, Egress
from orchestrator.dispatch.reserve import RetryLater
from orchestrator.errors import PermanentError
from orchestrator.store.tables import LedgerEntry

from .conftest import HOSTILE, YAML, as_yaml, dispatcher_for, own_twilio, queued_task, shipped

SECRET = "requirepass-hunter2"


def own_smtp(base_url: str, *, starttls: bool = False) -> dict[str, Any]:
    document = copy.deepcopy(shipped("channels.yaml"))
    smtp = document["channels"]["email"]["providers"][1]
    smtp["settings"].update(base_url=base_url, starttls=starttls)
    return document


@pytest.fixture(autouse=True)
def own_credentials(monkeypatch):
    monkeypatch.setenv("ACME__TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("ACME__TWILIO_AUTH_TOKEN", "t" * 32)
    monkeypatch.delenv(ALLOW_LOOPBACK_VARIABLE, raising=False)


@pytest.mark.parametrize(
    ("document", "field", "message"),
    [
        (own_twilio("http://127.0.0.1:6379/?"), "sms.providers[0]", "must use https://"),
        (own_twilio("https://127.0.0.1:6379/"), "sms.providers[0]", "not a public address"),
        (own_twilio("https://169.254.169.254/"), "sms.providers[0]", "not a public address"),
        (own_twilio("https://10.1.2.3/"), "sms.providers[0]", "not a public address"),
        (own_twilio("https://[::1]:8080/"), "sms.providers[0]", "not a public address"),
        (own_twilio("https://localhost/"), "sms.providers[0]", "not a public address"),
        (own_smtp("smtp://169.254.169.254:80"), "email.providers[1]", "starttls: true"),
        (
            own_smtp("smtp://169.254.169.254:80", starttls=True),
            "email.providers[1]",
            "not a public address",
        ),
    ],
)
def test_an_endpoint_inside_the_platform_is_refused(
    hostile, config_source, document, field, message
):
    response = hostile.put("/v1/config/channels", content=as_yaml(document), headers=YAML)

    assert response.status_code == 422, response.text
    problems = {p["field"]: p["message"] for p in response.json()["error"]["problems"]}
    path = f"channels.{field}.settings.base_url"
    assert path in problems, problems
    assert message in problems[path]
    assert config_source.get().tenant_channels == {}


def test_a_public_https_endpoint_is_accepted(hostile):
    # The platform's own endpoints (the sandbox on loopback here) stay trusted; a tenant's
    # own account on the provider's public API is what the check lets through.
    response = hostile.put(
        "/v1/config/channels",
        content=as_yaml(own_twilio("https://api.twilio.com")),
        headers=YAML,
    )
    assert response.status_code == 200, response.text


def _ledger(store) -> str:
    with store.snapshot() as conn:
        return "\n".join(r.message for r in conn.execute(sa.select(LedgerEntry)))


def test_a_loopback_endpoint_accepted_in_development_is_refused_at_connect_time(
    hostile, config_services, store, clock, redis_url, redis_namespace, internal, monkeypatch
):
    service = internal(201, {"sid": "SM" + "0" * 32, "status": "queued"})
    monkeypatch.setenv(ALLOW_LOOPBACK_VARIABLE, "1")  # development: the config is accepted
    response = hostile.put(
        "/v1/config/channels", content=as_yaml(own_twilio(service.url)), headers=YAML
    )
    assert response.status_code == 200, response.text
    task = queued_task(store, clock, config_services)
    # A worker that is not in development mode never connects there.
    dispatcher = dispatcher_for(config_services, clock, redis_url, redis_namespace, Egress())

    dispatcher.send(task)

    assert service.requests == 0
    assert "its endpoint is not a public address (endpoint_refused)" in _ledger(store)
    pool = dispatcher.pool
    provider = pool.named(HOSTILE, "twilio_sms")
    assert provider is not None
    with pytest.raises(PermanentError, match="not a public address"):
        provider.adapter.send(_any_message())
    pool.http.close()


@pytest.mark.parametrize(
    ("status", "outcome"),
    [(400, "refused: the request was refused (21999)"), (503, "failed: a temporary")],
)
def test_what_a_provider_answers_never_reaches_the_tenants_ledger(
    hostile,
    config_services,
    store,
    clock,
    redis_url,
    redis_namespace,
    internal,
    monkeypatch,
    status,
    outcome,
):
    service = internal(status, {"code": 21999, "message": f"redis: {SECRET}", "status": status})
    monkeypatch.setenv(ALLOW_LOOPBACK_VARIABLE, "1")
    response = hostile.put(
        "/v1/config/channels", content=as_yaml(own_twilio(service.url)), headers=YAML
    )
    assert response.status_code == 200, response.text
    task = queued_task(store, clock, config_services)
    dispatcher = dispatcher_for(
        config_services, clock, redis_url, redis_namespace, Egress(allow_loopback=True)
    )

    with contextlib.suppress(RetryLater):  # the 503: retried later, by Dramatiq
        dispatcher.send(task)

    assert service.requests >= 1
    ledger = _ledger(store)
    assert outcome in ledger
    assert SECRET not in ledger
    assert "redis" not in ledger
    dispatcher.pool.http.close()


def _any_message(channel: str = "sms", to: str = "+12125550123") -> Any:
    from channels.base import OutboundMessage
    from orchestrator.domain import Channel

    return OutboundMessage(
        attempt_ref="att_test",
        idempotency_key="task-0",
        channel=Channel(channel),
        to=to,
        body="hello",
        subject="hello",
    )


def test_the_smtp_adapter_connects_only_through_the_guard(clock):
    import socket

    from channels.registry import adapter_class

    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    adapter = adapter_class("smtp_email").from_config(
        {
            "base_url": f"smtp://127.0.0.1:{port}",
            "starttls": True,
            "from_address": "notices@acme.example",
        },
        http=None,  # type: ignore[arg-type]  # SMTP needs no HTTP client
        clock=clock,
        egress=Egress(),
    )

    with pytest.raises(PermanentError, match="not a public address") as refused:
        adapter.send(_any_message("email", "ann@example.org"))

    assert refused.value.code == "endpoint_refused"
    with pytest.raises(TimeoutError):
        listener.accept()  # nothing ever connected
    listener.close()
