"""``BROKER_URL`` chooses the broker; the queue namespace isolates deployments on both."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from orchestrator.dispatch.broker import is_rabbitmq, send_queue
from orchestrator.settings import load_settings


def test_without_broker_url_the_queues_stay_on_redis_as_before():
    settings = load_settings(queue_namespace="acme")
    assert not is_rabbitmq(settings)
    assert send_queue(settings) == "send"  # the namespace is in Redis's keys
    assert settings.prefetch_per_thread == 2  # Dramatiq's own, as before


def test_an_amqp_url_chooses_rabbitmq_with_the_namespace_as_queue_prefix():
    settings = load_settings(queue_namespace="acme", broker_url="amqp://guest:guest@mq:5672/%2F")
    assert is_rabbitmq(settings)
    assert send_queue(settings) == "acme.send"
    assert settings.prefetch_per_thread == 1
    assert load_settings(broker_url="amqp://mq", worker_prefetch=3).prefetch_per_thread == 3


def test_a_broker_url_of_another_kind_is_refused_naming_the_variable():
    with pytest.raises(ValidationError, match="BROKER_URL kafka://"):
        load_settings(broker_url="kafka://mq:9092")
    assert load_settings(broker_url="").broker_url is None  # empty means unset
