"""``/metrics`` shows the state every process shares, read at the scrape: the send queue's
depth and its oldest message's age, the open tasks, and each provider's circuit; and the
planning run's duration is timed."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from orchestrator.api.app import create_app
from orchestrator.configuration.channel_config import Breaker
from orchestrator.dispatch.broker import enqueue_tasks, make_broker, send_queue
from orchestrator.dispatch.limits import CircuitBreaker
from orchestrator.services import Services
from orchestrator.settings import load_settings
from tests.factories import account_document

TODAY = "2026-11-02"  # the test clock's date


@pytest.fixture
def setup(store, clock, redis_url, redis_namespace, file_config, tenant):
    settings = load_settings(redis_url=redis_url, queue_namespace=redis_namespace)
    services = Services.build(settings, clock=clock, store=store, config=file_config)
    with TestClient(
        create_app(services), headers={"Authorization": f"Bearer {tenant[1]}"}
    ) as client:
        yield services, client


def _samples(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_an_idle_deployment_shows_empty_queues_and_no_open_tasks(setup):
    services, client = setup
    samples = _samples(client)
    queue = send_queue(services.settings)
    for state in ("ready", "delayed", "dead"):
        assert samples[("orchestrator_queue_messages", (("queue", queue), ("state", state)))] == 0
    assert samples[("orchestrator_queue_oldest_message_age_seconds", (("queue", queue),))] == 0
    for status in ("planned", "queued", "sending"):
        assert samples[("orchestrator_tasks_open", (("status", status),))] == 0
    assert samples[("orchestrator_tasks_oldest_queued_age_seconds", ())] == 0
    assert not any(name == "orchestrator_circuit_state" for name, _ in samples)


def test_queued_messages_tasks_and_an_open_circuit_are_seen_at_the_scrape(setup):
    services, client = setup
    settings = services.settings
    broker = make_broker(settings)
    try:
        enqueue_tasks(broker, [101, 102, 103], send_queue(settings), batch_size=1)
    finally:
        broker.close()
    doc = account_document("loan-1")
    doc["debt"]["due_date"] = TODAY
    assert client.put("/v1/accounts/loan-1", json=doc).status_code == 201
    breakers = CircuitBreaker(services.redis, settings.queue_namespace)
    for _ in range(2):
        breakers.failure("twilio_sms", Breaker(failure_threshold=2, reset_seconds=30))
    breakers.failure("sendgrid", Breaker(failure_threshold=5, reset_seconds=30))

    samples = _samples(client)

    queue = send_queue(settings)
    assert samples[("orchestrator_queue_messages", (("queue", queue), ("state", "ready")))] == 3
    age = samples[("orchestrator_queue_oldest_message_age_seconds", (("queue", queue),))]
    assert 0 <= age < 60
    open_tasks = sum(
        samples[("orchestrator_tasks_open", (("status", s),))]
        for s in ("planned", "queued", "sending")
    )
    assert open_tasks == 1  # the SMS due today
    assert samples[("orchestrator_circuit_state", (("provider", "twilio_sms"),))] == 2
    assert samples[("orchestrator_circuit_failures", (("provider", "twilio_sms"),))] == 2
    assert samples[("orchestrator_circuit_state", (("provider", "sendgrid"),))] == 0
    assert samples[("orchestrator_circuit_failures", (("provider", "sendgrid"),))] == 1


def test_a_planning_run_is_timed(setup):
    services, _ = setup
    before = REGISTRY.get_sample_value("orchestrator_planning_run_seconds_count", {"result": "ok"})
    services.planner.plan(services.clock.now())
    after = REGISTRY.get_sample_value("orchestrator_planning_run_seconds_count", {"result": "ok"})
    assert after == (before or 0) + 1
