"""Circuit breakers and rate limits belong to the provider account used (issue 18 §2).

Before: both were keyed by the adapter's name only, and tuned by the settings of whichever
tenant's config sent. A tenant on the platform's Twilio account with
``breaker {failure_threshold: 1, reset_seconds: 3600}`` opened the platform's Twilio circuit
for an hour after one failure, and every other tenant's SMS failed over to Aliyun.
"""

from __future__ import annotations

import copy

import pytest
import redis

from channels.egress import ALLOW_LOOPBACK_VARIABLE, Egress
from orchestrator.dispatch import CircuitBreaker, Outcome, ProviderPool
from orchestrator.domain import Channel

from .conftest import (
    HOSTILE,
    VICTIM,
    YAML,
    as_yaml,
    dispatcher_for,
    own_twilio,
    queued_task,
    shipped,
)


@pytest.fixture
def pool(config_source, redis_url, redis_namespace, clock):
    client = redis.Redis.from_url(redis_url)
    pool = ProviderPool(config_source.get, CircuitBreaker(client, redis_namespace), clock)
    yield pool
    pool.http.close()
    client.close()


def _fail_like_dispatch(pool: ProviderPool, tenant: str, times: int = 1) -> None:
    """What dispatch does after a transient failure of the tenant's chosen SMS provider."""
    provider = pool.first_available(tenant, Channel.SMS)
    assert provider is not None
    for _ in range(times):
        pool.breaker.failure(provider.limits_key, provider.config.breaker)


def test_a_tenant_on_the_platforms_account_gets_the_platforms_breaker(hostile, pool):
    document = copy.deepcopy(shipped("channels.yaml"))
    twilio = document["channels"]["sms"]["providers"][0]
    twilio["breaker"] = {"failure_threshold": 1, "reset_seconds": 3600}
    twilio["rate_limit"] = {"per_second": 100000}
    assert hostile.put("/v1/config/channels", content=as_yaml(document), headers=YAML).is_success

    _fail_like_dispatch(pool, HOSTILE)

    hostiles = pool.first_available(HOSTILE, Channel.SMS)
    victims = pool.first_available(VICTIM, Channel.SMS)
    assert victims is not None
    assert victims.name == "twilio_sms"
    assert hostiles is not None
    assert hostiles.config.breaker.failure_threshold == 5  # the platform's, from channels.yaml
    assert hostiles.config.rate_limit is not None
    assert hostiles.config.rate_limit.per_second == 10
    assert hostiles.limits_key == victims.limits_key == "twilio_sms"  # one account, one circuit


def test_a_tenants_own_account_has_its_own_circuit(hostile, pool, monkeypatch):
    monkeypatch.setenv("ACME__TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("ACME__TWILIO_AUTH_TOKEN", "t" * 32)
    document = copy.deepcopy(shipped("channels.yaml"))
    twilio = document["channels"]["sms"]["providers"][0]
    twilio["settings"].update(
        base_url="https://api.twilio.com",
        account_sid_env="ACME__TWILIO_ACCOUNT_SID",
        auth_token_env="ACME__TWILIO_AUTH_TOKEN",
    )
    twilio["breaker"] = {"failure_threshold": 1, "reset_seconds": 3600}
    response = hostile.put("/v1/config/channels", content=as_yaml(document), headers=YAML)
    assert response.is_success, response.text

    _fail_like_dispatch(pool, HOSTILE)

    hostiles = pool.first_available(HOSTILE, Channel.SMS)
    victims = pool.first_available(VICTIM, Channel.SMS)
    assert hostiles is not None
    assert hostiles.name == "aliyun_sms"  # its own circuit is open
    assert victims is not None
    assert victims.name == "twilio_sms"
    assert pool.breaker.is_open("twilio_sms@acme")
    assert not pool.breaker.is_open("twilio_sms")


def test_a_refusal_opens_no_circuit(
    hostile, config_services, store, clock, redis_url, redis_namespace, internal, monkeypatch
):
    # The hostile tenant's own account refuses its sender, with a hair-trigger breaker: a
    # refusal says this message is wrong, not that the provider is down.
    monkeypatch.setenv("ACME__TWILIO_ACCOUNT_SID", "AC" + "1" * 32)
    monkeypatch.setenv("ACME__TWILIO_AUTH_TOKEN", "t" * 32)
    monkeypatch.setenv(ALLOW_LOOPBACK_VARIABLE, "1")
    service = internal(400, {"code": 21606, "message": "The From number is not yours"})
    document = own_twilio(service.url)
    document["channels"]["sms"]["providers"][0]["breaker"] = {
        "failure_threshold": 1,
        "reset_seconds": 3600,
    }
    response = hostile.put("/v1/config/channels", content=as_yaml(document), headers=YAML)
    assert response.status_code == 200, response.text
    task = queued_task(store, clock, config_services)
    dispatcher = dispatcher_for(
        config_services, clock, redis_url, redis_namespace, Egress(allow_loopback=True)
    )

    outcome = dispatcher.send(task)

    assert outcome is Outcome.FAILED_OVER
    assert service.requests == 1
    assert not dispatcher.pool.breaker.is_open("twilio_sms@acme")
    assert not dispatcher.pool.breaker.is_open("twilio_sms")
    victims = dispatcher.pool.first_available(VICTIM, Channel.SMS)
    assert victims is not None
    assert victims.name == "twilio_sms"
    dispatcher.pool.http.close()
