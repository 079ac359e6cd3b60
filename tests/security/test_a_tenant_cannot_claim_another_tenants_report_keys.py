"""A tenant holding provider credentials of its own can sign any report on its own route.
It must not be able to use that to claim the dedupe keys of another tenant's future reports:
here beta, with a dialer account of its own, posts first a cease request under the key acme's
dialer will use (``task_id:outcome``); acme's real cease request must still be recorded."""

from __future__ import annotations

import secrets
from dataclasses import replace

from orchestrator.configuration.source import Kind
from orchestrator.domain import Channel
from orchestrator.tenancy import create_tenant
from tests.webhooks.lender_config import store_tenant_config
from tests.webhooks.provider_payloads import dialer_outcome, dialer_webhook

BETA_DIALER = """
version: 1
channels:
  call:
    providers:
      - adapter: dialer_call
        settings:
          base_url: ${ORCHESTRATOR_SANDBOX_URL:-http://127.0.0.1:8900}/dialer
          secret_env: BETA__DIALER_SECRET
          tolerance_seconds: 300
          timeout_seconds: 10
"""


def _cease(world, call, secret, *, tenant):
    now = world.clock.now()
    document = dialer_outcome(
        "cease_request", task_id=call.provider_message_id, attempt_ref=call.ref, at=now
    )
    del document["event_id"]  # the key is then the dialer's task id and the outcome
    webhook = dialer_webhook(secret, document, int(now.timestamp()))
    return world.post(replace(webhook, tenant=tenant))


def test_a_report_signed_on_one_tenants_route_never_shadows_anothers(
    configurable_world, monkeypatch
):
    world = configurable_world
    beta_secret = secrets.token_hex(16)
    monkeypatch.setenv("BETA__DIALER_SECRET", beta_secret)
    with world.store.transaction() as conn:
        create_tenant(conn, "beta", name="Beta Credit", now=world.clock.now())
    store_tenant_config(world.services, "beta", Kind.CHANNELS, BETA_DIALER)
    call = world.dispatched(
        world.account_due("loan-1", Channel.CALL), Channel.CALL, "dialer_call", "T-1"
    )

    assert _cease(world, call, beta_secret, tenant="beta").status_code == 200
    assert world.attempt(call.ref).call_outcome is None
    assert world.account_json("loan-1")["events"] == []

    assert _cease(world, call, world.env["DIALER_SECRET"], tenant=None).status_code == 200
    assert world.attempt(call.ref).call_outcome == "cease_request"
    assert [e["type"] for e in world.account_json("loan-1")["events"]] == ["cease_communication"]
