"""A scheduler's heartbeat file says whether it leads, and says so when the lead changes hands,
not a beat later: a probe reading every scheduler's file finds exactly one leader, the one
whose token the lock holds.

Before, the file was rewritten only every five seconds, its first beat written before the
lock was first tried: a scheduler that led from its first second said "not leading" for five
more, and during that time two schedulers' files showed no leader at all (what the topology
test, tests/e2e/test_the_stack_as_separate_processes.py, sampled)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis

from orchestrator.clock import VirtualClock
from orchestrator.planning.scheduler import LeaderLock, Scheduler
from tests.planning.test_scheduler_leader import token_of, wait_for

pytestmark = pytest.mark.slow


def start(store, redis_url, namespace, clock, data_dir: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": namespace,
        "ORCHESTRATOR_CLOCK": clock.now().isoformat(),
        "ORCHESTRATOR_LOG_LEVEL": "WARNING",
        "ORCHESTRATOR_DATA_DIR": str(data_dir),
    }
    return subprocess.Popen(
        [
            *(sys.executable, "-m", "orchestrator", "scheduler"),
            *("--sweep-every", "0.5", "--lock-ttl", "2"),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def files(folder: Path) -> dict[str, dict]:
    """Each scheduler's last beat, by its token."""
    found = {}
    for path in folder.glob("scheduler-*.json"):
        try:
            body = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # being replaced
        found[body["state"]["token"]] = body
    return found


def leading(folder: Path) -> list[str]:
    return sorted(t for t, b in files(folder).items() if b["state"]["leader"])


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_the_file_says_who_leads_when_the_lead_is_taken_and_lost(
    store, tenant, clock, redis_url, redis_namespace, tmp_path
):
    client = redis.Redis.from_url(redis_url)
    # The other scheduler is this test, holding the same lock as a second process would.
    other = LeaderLock(client, f"{redis_namespace}:scheduler:leader", timedelta(seconds=2))
    folder = tmp_path / "heartbeats"
    process = start(store, redis_url, redis_namespace, clock, tmp_path)
    try:
        # Printed just before the heartbeat starts and the lock is first tried.
        token = token_of(process)
        started = time.time()
        wait_for(lambda: other.holder() == token, what="the scheduler leads")
        wait_for(lambda: leading(folder) == [token], timeout=10, what="its file says it leads")
        # Written when it took the lock, not at the next regular beat, five seconds after
        # its first one (allowing two seconds for a loaded machine).
        assert files(folder)[token]["at"] - started < 3, files(folder)[token]["at"] - started

        # Its lock lapses and another scheduler takes it: at its next renewal it finds out,
        # and its file says so then.
        client.delete(other.key)
        assert other.hold()
        took = time.time()
        wait_for(lambda: leading(folder) == [], timeout=10, what="its file says it follows")
        assert files(folder)[token]["at"] - took < 3, files(folder)[token]["at"] - took

        # The other one stops cleanly (lock released): it leads again, and says so.
        other.release()
        gave = time.time()
        wait_for(lambda: leading(folder) == [token], timeout=10, what="it leads again")
        assert files(folder)[token]["at"] - gave < 3, files(folder)[token]["at"] - gave
        assert other.holder() == token
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
        client.close()


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_each_change_of_lead_is_reported_once_at_once(store, services, redis_url, redis_namespace):
    """The scheduler calls ``on_leadership`` with each change, not with each renewal."""
    client = redis.Redis.from_url(redis_url)
    seen: list[bool] = []
    runner = Scheduler(
        store,
        client,
        VirtualClock(services.clock.now()),
        services.planner,
        lambda ids: None,
        namespace=redis_namespace,
        lock_ttl=timedelta(seconds=5),
        on_leadership=seen.append,
    )
    other = LeaderLock(client, runner.lock.key, timedelta(seconds=5))
    try:
        runner.heartbeat()
        runner.heartbeat()  # a renewal: no change
        assert seen == [True]
        client.delete(runner.lock.key)  # the lock lapsed, and another took it
        assert other.hold()
        runner.heartbeat()
        runner.heartbeat()
        assert seen == [True, False]
        other.release()
        runner.heartbeat()
        assert seen == [True, False, True]

        # Its renewals run however late the process wakes: APScheduler's default would skip
        # a run more than a second late, as it did sweeps under load in the chaos run
        # (docs/RELIABILITY.md), and a few skipped renewals let the lock lapse.
        runner.start()
        renewal = runner._aps.get_job("heartbeat")
        assert renewal.misfire_grace_time is None
        assert renewal.coalesce
    finally:
        runner.stop()
        runner.lock.release()
        client.close()
