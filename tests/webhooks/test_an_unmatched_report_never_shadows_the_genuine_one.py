"""A report that matches nothing we know (early, misrouted, or signed by another tenant with
its own provider account) is stored and otherwise ignored, and never makes the genuine report
that comes later a duplicate: two tenants with Twilio accounts of their own each get their
reports on their own route, and a provider's message id reported first on one route does not
hide it on the other."""

from __future__ import annotations

import secrets

import pytest

from orchestrator.configuration.source import Kind
from orchestrator.domain import Channel
from orchestrator.tenancy import create_tenant
from tests.webhooks.borrowers import NUMBER, OUR_NUMBER
from tests.webhooks.lender_config import store_tenant_config
from tests.webhooks.provider_payloads import new_sid, twilio_message_status, twilio_webhook

OWN_TWILIO = """
version: 1
channels:
  sms:
    providers:
      - adapter: twilio_sms
        settings:
          base_url: https://api.twilio.com
          account_sid_env: {prefix}__TWILIO_ACCOUNT_SID
          auth_token_env: {prefix}__TWILIO_AUTH_TOKEN
          from_number: "+15005550006"
"""


@pytest.fixture
def tokens(configurable_world, monkeypatch):
    """acme and beta each with a Twilio account of their own: tenant slug → auth token."""
    world = configurable_world
    with world.store.transaction() as conn:
        create_tenant(conn, "beta", name="Beta Credit", now=world.clock.now())
    tokens = {}
    for tenant in ("acme", "beta"):
        prefix = tenant.upper()
        tokens[tenant] = secrets.token_hex(16)
        monkeypatch.setenv(f"{prefix}__TWILIO_ACCOUNT_SID", "AC" + secrets.token_hex(16))
        monkeypatch.setenv(f"{prefix}__TWILIO_AUTH_TOKEN", tokens[tenant])
        store_tenant_config(
            world.services, tenant, Kind.CHANNELS, OWN_TWILIO.replace("{prefix}", prefix)
        )
    return tokens


def _delivered(world, sid, token, *, tenant, query=""):
    form = twilio_message_status(
        world.env["TWILIO_ACCOUNT_SID"], sid, "delivered", to=NUMBER, sender=OUR_NUMBER
    )
    return twilio_webhook("twilio_sms", world.url, token, form, query=query, tenant=tenant)


def test_a_report_first_seen_on_another_tenants_route_does_not_hide_the_real_one(
    configurable_world, tokens
):
    world = configurable_world
    sid = new_sid("SM")
    sms = world.dispatched(world.account_due("loan-1", Channel.SMS), Channel.SMS, "twilio_sms", sid)

    # beta signs, with its own token, a report naming acme's message: it concerns nothing
    # of beta's, so it is stored and changes nothing.
    shadow = _delivered(world, sid, tokens["beta"], tenant="beta")
    assert world.post(shadow).status_code == 200
    assert world.attempt(sms.ref).status == "queued"

    genuine = _delivered(world, sid, tokens["acme"], tenant="acme", query=f"attempt_ref={sms.ref}")
    assert world.post(genuine).status_code == 200
    assert world.attempt(sms.ref).status == "delivered"

    # The genuine report's replay is the duplicate, and changes nothing more.
    before = world.timeline("loan-1")
    assert world.post(genuine).status_code == 200
    assert world.timeline("loan-1") == before


def test_an_early_report_that_matched_nothing_does_not_hide_the_same_report_later(world):
    sid = new_sid("SM")
    account = world.account_due("loan-1", Channel.SMS)
    token = world.env["TWILIO_AUTH_TOKEN"]
    # The report arrives before dispatch recorded the message (no attempt knows its id yet,
    # and this callback carries no attempt_ref): nothing to apply it to.
    assert world.post(_delivered(world, sid, token, tenant=None)).status_code == 200

    sms = world.dispatched(account, Channel.SMS, "twilio_sms", sid)
    assert world.attempt(sms.ref).status == "queued"
    # Twilio delivers it again (or the same fact comes on the callback naming our ref).
    assert world.post(_delivered(world, sid, token, tenant=None)).status_code == 200
    assert world.attempt(sms.ref).status == "delivered"
