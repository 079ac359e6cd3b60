"""A lender with Twilio credentials of its own (its channel config names other environment
variables) gets its reports on ``/v1/webhooks/twilio_sms/{tenant}``: dispatch gives Twilio
that callback URL, and only that route verifies with the lender's auth token. A report is
never applied to an attempt of another provider or, on a tenant's route, of another tenant.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from orchestrator.configuration.source import Kind
from orchestrator.dispatch import CircuitBreaker, ProviderPool, RateLimiter
from orchestrator.dispatch.reserve import Claim, Reserver
from orchestrator.domain import Channel
from orchestrator.planning.scheduler import sweep
from orchestrator.tenancy import create_tenant
from tests.factories import table_counts
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER
from tests.webhooks.provider_payloads import (
    new_sid,
    twilio_call_status,
    twilio_message_status,
    twilio_webhook,
)

OWN_TWILIO = """
version: 1
channels:
  sms:
    providers:
      - adapter: twilio_sms
        settings:
          base_url: https://api.twilio.com
          account_sid_env: ACME__TWILIO_ACCOUNT_SID
          auth_token_env: ACME__TWILIO_AUTH_TOKEN
          from_number: "+15005550006"
"""


@pytest.fixture
def own_token(configurable_world, monkeypatch):
    token = secrets.token_hex(16)
    monkeypatch.setenv("ACME__TWILIO_ACCOUNT_SID", "AC" + secrets.token_hex(16))
    monkeypatch.setenv("ACME__TWILIO_AUTH_TOKEN", token)
    configurable_world.store_tenant_config(Kind.CHANNELS, OWN_TWILIO)
    return token


def _reserve(world) -> Claim:
    """The sweep queues the account's due text and dispatch takes its first step: what it
    would hand to Twilio."""
    account = world.account_due("loan-1", Channel.SMS)
    [task] = world.tasks(account)
    assert sweep(world.store, world.clock.now(), stale=timedelta(minutes=5)).queued == [task.id]
    pool = ProviderPool(
        world.services.config.get,
        CircuitBreaker(world.services.redis, world.services.settings.queue_namespace),
        world.clock,
    )
    limiter = RateLimiter(world.services.redis, world.services.settings.queue_namespace)
    claim = Reserver(world.services, pool, limiter).reserve(task.id)
    assert isinstance(claim, Claim), claim
    return claim


def _delivered(world, claim, token, *, tenant):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"], new_sid("SM"), "delivered", to=NUMBER, sender=OUR_NUMBER
    )
    return twilio_webhook(
        "twilio_sms",
        world.url,
        token,
        form,
        query=f"attempt_ref={claim.message.attempt_ref}",
        tenant=tenant,
    )


def test_dispatch_names_the_tenants_route_and_only_that_route_accepts_its_reports(
    configurable_world, own_token
):
    world = configurable_world
    claim = _reserve(world)
    expected = f"{world.url}/v1/webhooks/twilio_sms/acme"
    assert claim.message.callback_url == expected

    before = table_counts(world.store)
    assert world.post(_delivered(world, claim, own_token, tenant=None)).status_code == 401
    assert table_counts(world.store) == before

    assert world.post(_delivered(world, claim, own_token, tenant="acme")).status_code == 200
    assert world.attempt(claim.message.attempt_ref).status == "delivered"


def test_a_report_never_moves_another_providers_or_another_tenants_attempt(world):
    with world.store.transaction() as conn:
        create_tenant(conn, "beta", name="Beta Credit", now=world.clock.now())
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", "")
    env = world.env
    form = twilio_message_status(
        env["TWILIO_ACCOUNT_SID"], new_sid("SM"), "delivered", to=NUMBER, sender=OUR_NUMBER
    )
    query = f"attempt_ref={sms.ref}"
    token = env["TWILIO_AUTH_TOKEN"]
    call = twilio_call_status(
        env["TWILIO_ACCOUNT_SID"],
        new_sid("CA"),
        "completed",
        to=NUMBER,
        sender=OUR_NUMBER,
        answered_by="human",
    )
    strangers = [
        # A voice callback naming a text's attempt.
        twilio_webhook("twilio_voice", world.url, token, call, query=query),
        # Another tenant's route naming acme's attempt.
        twilio_webhook("twilio_sms", world.url, token, form, query=query, tenant="beta"),
    ]
    for webhook in strangers:
        assert world.post(webhook).status_code == 200, webhook.path
        assert world.attempt(sms.ref) == sms, webhook.path
