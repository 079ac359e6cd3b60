"""The scheduler: several may run, exactly one is active; when it dies another takes over,
and no task is planned or queued twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta

import pytest
import redis
import sqlalchemy as sa

from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.scheduler import LeaderLock, sweep
from orchestrator.store.tables import Task
from tests.factories import account_document

pytestmark = pytest.mark.slow


def due_today(store, tenant_id, now, names):
    docs = []
    for name in names:
        doc = account_document(name)
        doc["debt"]["due_date"] = now.date().isoformat()
        docs.append(AccountDocument.model_validate(doc))
    with store.transaction() as conn:
        write_accounts(
            conn, tenant_id, [prepare(d, now=now) for d in docs], now=now, source="import"
        )


def scheduler(store, redis_url, namespace, now):
    env = {
        **os.environ,
        "DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "REDIS_URL": redis_url,
        "ORCHESTRATOR_QUEUE_NAMESPACE": namespace,
        "ORCHESTRATOR_CLOCK": now.isoformat(),
        "ORCHESTRATOR_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestrator",
            "scheduler",
            "--plan-every",
            "1",
            "--sweep-every",
            "0.2",
            "--lock-ttl",
            "2",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def token_of(process) -> str:
    line = process.stdout.readline().decode()
    assert line.startswith("scheduler "), line
    return line.split()[1]


def queued_task_ids(client, namespace) -> Counter:
    """How many times each task id is on the send queue (a message carries a batch of ids,
    or one id for a retry)."""
    found: Counter = Counter()
    for payload in client.hvals(f"{namespace}:send.msgs"):
        ids = json.loads(payload)["args"][0]
        found.update(ids if isinstance(ids, list) else [ids])
    return found


def wait_for(condition, timeout=30, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out: {what}")


def test_one_scheduler_works_and_another_takes_over_when_it_dies(
    store, tenant, clock, redis_url, redis_namespace
):
    now = clock.now()
    client = redis.Redis.from_url(redis_url)
    lock = LeaderLock(client, f"{redis_namespace}:scheduler:leader", timedelta(seconds=2))
    due_today(store, tenant[0], now, [f"loan-{i}" for i in range(20)])
    first = scheduler(store, redis_url, redis_namespace, now)
    second = scheduler(store, redis_url, redis_namespace, now)
    tokens = {token_of(first): first, token_of(second): second}
    try:
        wait_for(lambda: lock.holder() in tokens, what="a leader")
        leader = tokens[lock.holder()]
        wait_for(
            lambda: sum(queued_task_ids(client, redis_namespace).values()) == 20,
            what="20 tasks queued",
        )

        # The lock outlives its dead holder by what was left of its last renewal, then the
        # survivor takes it at its next heartbeat (every third of the lock's period).
        expires_in = client.pttl(lock.key) / 1000
        killed_at = time.monotonic()
        os.killpg(leader.pid, signal.SIGKILL)
        leader.wait(timeout=10)
        survivor = next(p for p in tokens.values() if p is not leader)
        wait_for(lambda: tokens.get(lock.holder()) is survivor, timeout=15, what="the takeover")
        took = time.monotonic() - killed_at
        # Within the lock's expiry (plus one heartbeat, plus slack for a loaded machine);
        # never before it: the survivor waited for the lock, it did not break it.
        assert expires_in - 0.2 <= took <= expires_in + 2 / 3 + 5, (expires_in, took)

        due_today(store, tenant[0], now, [f"late-{i}" for i in range(10)])
        wait_for(
            lambda: sum(queued_task_ids(client, redis_namespace).values()) == 30,
            what="the new leader's work",
        )
    finally:
        for process in tokens.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=15)
        client.close()

    counts = queued_task_ids(redis.Redis.from_url(redis_url), redis_namespace)
    assert max(counts.values()) == 1  # no task queued twice
    with store.snapshot() as conn:
        rows = conn.execute(
            sa.select(Task.account_id, Task.step, Task.local_date, Task.status)
        ).all()
    assert len(rows) == 30 == len({(a, s, d) for a, s, d, _ in rows})
    assert {status for *_, status in rows} == {"queued"}


def test_a_sweep_queues_only_what_is_due_and_expires_what_is_stale(store, tenant, clock, services):
    due_today(store, tenant[0], clock.now(), ["loan-1"])
    services.planner.plan(clock.now() - timedelta(hours=6))  # planned early: due at 10:00 New York
    with store.snapshot() as conn:
        [task] = conn.execute(sa.select(Task)).all()

    before = sweep(store, task.not_before - timedelta(seconds=1), stale=timedelta(minutes=5))
    at = sweep(store, task.not_before, stale=timedelta(minutes=5))
    again = sweep(store, task.not_before + timedelta(seconds=1), stale=timedelta(minutes=5))
    stale = sweep(store, task.not_before + timedelta(minutes=6), stale=timedelta(minutes=5))
    late = sweep(store, task.expires_at + timedelta(seconds=1), stale=timedelta(minutes=5))

    assert (before.queued, at.queued, again.queued) == ([], [task.id], [])
    assert stale.requeued == [task.id]  # its message may be lost: queue it again, harmlessly
    assert late.expired == 1
