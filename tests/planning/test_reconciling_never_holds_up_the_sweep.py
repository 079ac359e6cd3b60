"""The sweep never waits for the reconciler's provider lookups (docs/RELIABILITY.md, the
10,000-account run): the reconciler ran inside the sweep's job, and with lookups timing out a
pass took minutes, during which APScheduler skipped every sweep and nothing was queued for
anyone. Now it is a job of its own."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import redis

from orchestrator.clock import VirtualClock
from orchestrator.planning.scheduler import Scheduler
from tests.planning.test_scheduler_leader import wait_for

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_sweeps_go_on_while_a_reconcile_pass_waits_on_providers(
    store, services, redis_url, redis_namespace
):
    client = redis.Redis.from_url(redis_url)
    started, release = threading.Event(), threading.Event()
    passes: list[object] = []

    def reconcile(now):  # a pass stuck on a provider that does not answer
        passes.append(now)
        started.set()
        release.wait(60)

    sweeps: list[object] = []

    class Counted(Scheduler):
        def sweep_now(self):
            result = super().sweep_now()
            if result is not None:
                sweeps.append(result)
            return result

    runner = Counted(
        store,
        client,
        VirtualClock(services.clock.now()),
        services.planner,
        lambda ids: None,
        namespace=redis_namespace,
        sweep_every=timedelta(seconds=0.1),
        lock_ttl=timedelta(seconds=5),
        reconcile=reconcile,
    )
    try:
        runner.start()
        assert started.wait(20), "the reconcile job never ran"
        before = len(sweeps)
        wait_for(lambda: len(sweeps) >= before + 3, timeout=20, what="sweeps during the pass")
        assert not release.is_set()
        assert len(passes) == 1
    finally:
        release.set()
        runner.stop()
        client.close()
