"""The production topology as separate processes (``topology_scenario.py``), on RabbitMQ as
the broker: 2 APIs, 3 workers, 2 schedulers and the sandbox deliver every task once."""

from __future__ import annotations

import pytest

from tests.e2e.topology_scenario import (
    two_apis_three_workers_two_schedulers_deliver_every_task_once,
)

pytestmark = [pytest.mark.slow, pytest.mark.rabbitmq]


def test_two_apis_three_workers_two_schedulers_deliver_every_task_once_on_rabbitmq(
    rabbitmq_url, rabbitmq_namespaces, pg_url, redis_url, redis_namespace, tmp_path
):
    rabbitmq_namespaces.append(redis_namespace)  # its queues are deleted afterwards
    two_apis_three_workers_two_schedulers_deliver_every_task_once(
        {"BROKER_URL": rabbitmq_url}, pg_url, redis_url, redis_namespace, tmp_path
    )
