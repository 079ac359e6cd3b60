"""Choosing a provider asks the circuit breakers in order and stops at the first that lets a
send through: a half-open provider further down keeps its one trial send for the send that
will actually go to it."""

from __future__ import annotations

import pytest
import redis

from channels.sandbox.credentials import sandbox_credentials
from orchestrator.configuration.source import ConfigSource
from orchestrator.dispatch import CircuitBreaker, ProviderPool
from orchestrator.domain import Channel
from orchestrator.settings import load_settings


@pytest.fixture
def pool(redis_url, redis_namespace, clock, monkeypatch):
    for name, value in sandbox_credentials().items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    config = ConfigSource(settings.config_dir, settings.templates_dir, None, now=clock.now)
    client = redis.Redis.from_url(redis_url)
    pool = ProviderPool(config.get, CircuitBreaker(client, redis_namespace), clock)
    yield pool
    pool.http.close()
    client.close()


def half_open(pool: ProviderPool, name: str) -> None:
    """Open ``name``'s circuit, then let its rest end: the next ``allows`` is its trial."""
    provider = pool.named("acme", name)
    assert provider is not None
    for _ in range(provider.config.breaker.failure_threshold):
        pool.breaker.failure(name, provider.config.breaker)
    pool.breaker.client.delete(f"{pool.breaker.namespace}:breaker:{name}:open")


def test_a_healthy_first_provider_leaves_the_second_ones_trial_alone(pool):
    half_open(pool, "aliyun_sms")

    chosen = pool.first_available("acme", Channel.SMS)

    assert chosen is not None
    assert chosen.name == "twilio_sms"
    aliyun = pool.named("acme", "aliyun_sms")
    assert aliyun is not None
    assert pool.breaker.allows("aliyun_sms", aliyun.config.breaker)  # its trial is still there


def test_the_half_open_provider_gets_its_trial_when_it_is_the_one_chosen(pool):
    half_open(pool, "aliyun_sms")

    chosen = pool.first_available("acme", Channel.SMS, avoid=frozenset({"twilio_sms"}))

    assert chosen is not None
    assert chosen.name == "aliyun_sms"
    assert not pool.breaker.allows("aliyun_sms", chosen.config.breaker)  # one trial at a time


def test_no_provider_when_every_circuit_is_open(pool):
    for name in ("twilio_sms", "aliyun_sms"):
        provider = pool.named("acme", name)
        assert provider is not None
        for _ in range(provider.config.breaker.failure_threshold):
            pool.breaker.failure(name, provider.config.breaker)

    assert pool.first_available("acme", Channel.SMS) is None
