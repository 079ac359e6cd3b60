"""The production topology on one machine, every part its own process, started from the
commands ``compose.yaml`` gives each service (``bench/topology.py``): PostgreSQL, the broker,
2 API processes, 3 workers, 2 schedulers and the provider sandbox. Accounts go in through
both APIs, the schedulers' leader queues the tasks the intake planned, the workers send them,
the sandbox's reports come back through the other API, and every task is delivered once.

The scenario is run on each broker from a file of its own
(``test_the_stack_as_separate_processes_on_redis.py``, ``…_on_rabbitmq.py``): with
``--dist loadfile`` a file is one unit of work, so the two runs go to two workers at once
instead of one after the other."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import httpx
import redis
import sqlalchemy as sa

from bench.topology import Topology, api_key, clock_setting, free_port, wait_for
from channels.sandbox.credentials import sandbox_credentials
from orchestrator.liveness import alive
from orchestrator.store.db import Store
from orchestrator.store.tables import Attempt, Task

# 14:00 in New York, 20 days after the accounts' due date: the default strategy's SMS is due.
START = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
ACCOUNTS = 24


def document(index: int) -> dict:
    phone = f"+1212555{3000 + index:04d}"
    return {
        "external_id": f"loan-{index}",
        "jurisdiction": "US-NY",
        "borrower": {
            "name": f"Borrower {index}",
            "locale": "en-US",
            "address": {"country": "US", "region": "NY", "postal_code": "10001"},
        },
        "contact_points": [{"channel": "sms", "address": phone, "consent": True}],
        "debt": {
            "amount_due": "250.00",
            "currency": "USD",
            "due_date": "2026-11-03",
            "product": "bnpl",
        },
    }


def two_apis_three_workers_two_schedulers_deliver_every_task_once(
    broker: dict[str, str], pg_url: str, redis_url: str, redis_namespace: str, tmp_path: Path
) -> None:
    """The scenario; ``broker`` is ``{}`` (Redis on REDIS_URL) or ``{"BROKER_URL": …}``."""
    ports = [free_port(), free_port()]
    topology = Topology(
        tmp_path,
        {
            **sandbox_credentials(),
            **broker,
            "DATABASE_URL": pg_url,
            "REDIS_URL": redis_url,
            "ORCHESTRATOR_QUEUE_NAMESPACE": redis_namespace,
            # Real time, from the test's instant, anchored now: no Redis needed to agree.
            "ORCHESTRATOR_CLOCK": clock_setting(START, 1),
            "ORCHESTRATOR_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
            "ORCHESTRATOR_LOG_LEVEL": "WARNING",
        },
    )
    try:
        topology.run(["orchestrator", "db", "upgrade"])
        key = api_key(
            topology.run(
                [
                    *("orchestrator", "tenants", "create", "acme"),
                    *("--display-name", "Acme Lending", "--support-phone", "+1 212 555 0100"),
                    *("--payment-url", "https://pay.acme.example/{reference}"),
                ]
            )
        )
        # Reports come back through the second API; accounts go in through both.
        sandbox = topology.sandbox(
            f"http://127.0.0.1:{ports[1]}/v1/webhooks", delivered_rate="1", callback_delay="0.1"
        )
        # Workers and schedulers need no API: they start first, and the two APIs together,
        # so the processes' start-ups overlap instead of following one another.
        for _ in range(3):
            topology.worker(threads=2)
        for _ in range(2):
            topology.scheduler(plan_every="60", sweep_every="0.5", lock_ttl="3")
        apis = topology.apis(ports)

        for index, api in enumerate(apis):
            batch = [document(i) for i in range(index, ACCOUNTS, 2)]
            response = httpx.post(
                f"{api.url}/v1/accounts:batch",
                json={"accounts": batch},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            assert response.status_code == 200, response.text

        store = Store.connect(pg_url, pool_size=1)

        def statuses() -> Counter:
            with store.snapshot() as conn:
                return Counter(conn.execute(sa.select(Task.status)).scalars())

        try:
            wait_for(
                lambda: statuses() == Counter({"delivered": ACCOUNTS}),
                "every task delivered",
                timeout=120,
            )
            with store.snapshot() as conn:
                attempts = conn.execute(sa.select(Attempt.ref, Attempt.task_id)).all()
        finally:
            store.dispose()

        journal = [
            json.loads(line)
            for line in (tmp_path / "sandbox.jsonl").read_text().splitlines()
            if line.strip()
        ]
        by_ref = dict(attempts)
        sent = Counter(by_ref[e["attempt_ref"]] for e in journal if e["kind"] == "message")
        assert len(sent) == ACCOUNTS  # every task reached the provider
        assert set(sent.values()) == {1}  # once
        assert len(attempts) == ACCOUNTS

        heartbeats = tmp_path / "var" / "heartbeats"
        assert len(alive(heartbeats, "worker", within=30)) == 3
        assert len(alive(heartbeats, "scheduler", within=30)) == 2
        # Exactly one scheduler's file says it leads, and it is the one whose token the lock
        # holds: a scheduler rewrites its file when it takes or loses the lead
        # (tests/planning/test_scheduler_heartbeat_says_who_leads.py). Two files and the lock
        # are read at three instants, so a hand-over under way is given a moment to finish.
        lock = redis.Redis.from_url(redis_url)
        try:

            def leaders() -> list[str]:
                beats = alive(heartbeats, "scheduler", within=30)
                return [b.state["token"] for b in beats if b.state["leader"]]

            def holder() -> str:
                value = lock.get(f"{redis_namespace}:scheduler:leader")
                return value.decode() if value else ""

            wait_for(lambda: leaders() == [holder()], "one leader, the lock's holder", 10)
        finally:
            lock.close()
        for api in apis:
            assert httpx.get(f"{api.url}/readyz").json()["status"] == "ok"
        assert sandbox.alive()
    finally:
        topology.stop()
    # Workers and schedulers stop cleanly on SIGTERM (uvicorn, having shut down gracefully,
    # raises the signal again: an API process ends "killed by SIGTERM" either way).
    for process in topology.processes:
        if process.name.startswith(("worker", "scheduler")):
            assert process.popen.returncode == 0, f"{process.name}:\n{process.tail()}"
