"""The production topology as separate processes (``topology_scenario.py``), on Redis as the
broker: 2 APIs, 3 workers, 2 schedulers and the sandbox deliver every task once."""

from __future__ import annotations

import pytest

from tests.e2e.topology_scenario import (
    two_apis_three_workers_two_schedulers_deliver_every_task_once,
)

pytestmark = pytest.mark.slow


def test_two_apis_three_workers_two_schedulers_deliver_every_task_once_on_redis(
    pg_url, redis_url, redis_namespace, tmp_path
):
    two_apis_three_workers_two_schedulers_deliver_every_task_once(
        {}, pg_url, redis_url, redis_namespace, tmp_path
    )
