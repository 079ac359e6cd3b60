"""Anyone can post to ``/v1/webhooks/{provider}/{tenant}`` with any tenant segment. An
unknown tenant is answered 404 before an adapter is built or the body is read, so 300 posts
to random segments leave nothing behind (they used to leave 600 cached adapters, forever);
and the adapters that are built are kept in a bounded, least-recently-used cache."""

from __future__ import annotations

import secrets

from orchestrator.dispatch import CircuitBreaker, ProviderPool
from orchestrator.domain import Channel
from tests.factories import table_counts

FORM = {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": "forged"}


def test_300_posts_to_random_tenants_build_no_adapter(world, api_server):
    pool = api_server.mounted.app.state.webhook_pool
    counts = table_counts(world.store)

    answers = {
        world.http.post(
            f"/v1/webhooks/{provider}/t-{secrets.token_hex(8)}",
            content=b"MessageSid=SM1&MessageStatus=delivered",
            headers=FORM,
        ).status_code
        for provider in ("twilio_sms", "twilio_voice", "sendgrid_email")
        for _ in range(100)
    }

    assert answers == {404}
    assert pool.cached == 0
    assert table_counts(world.store) == counts


def test_a_known_tenants_route_still_checks_the_signature(world, api_server):
    pool = api_server.mounted.app.state.webhook_pool

    response = world.http.post(
        "/v1/webhooks/twilio_sms/acme",
        content=b"MessageSid=SM1&MessageStatus=delivered",
        headers=FORM,
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert 0 < pool.cached <= pool.max_adapters


def test_the_adapter_cache_keeps_only_the_most_recently_used(world):
    services = world.services
    pool = ProviderPool(
        services.config.get,
        CircuitBreaker(services.redis, services.settings.queue_namespace),
        services.clock,
        max_adapters=4,
    )

    for index in range(50):
        assert pool.providers(f"tenant-{index}", Channel.SMS)
    recent = pool.providers("tenant-49", Channel.SMS)

    assert pool.cached == 4
    assert [p.adapter for p in pool.providers("tenant-49", Channel.SMS)] == [
        p.adapter for p in recent
    ]
