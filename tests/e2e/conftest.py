"""An end-to-end stack in one test: the real API served over HTTP, the provider sandbox, a
Dramatiq worker on real Redis (or RabbitMQ: ``broker_kind``), the scheduler's sweep and the
reconciler — on a virtual clock shared by all of them, so compliance windows do not depend on
when the suite runs."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from dramatiq import Broker, Worker
from dramatiq.brokers.redis import RedisBroker

from channels.sandbox import OutcomeRates, RunningSandbox, SandboxSettings, running_sandbox
from orchestrator.api.app import create_app
from orchestrator.configuration.source import ConfigSource
from orchestrator.dispatch import Dispatcher, Reconciler, build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import BATCH_SIZE, enqueue_tasks, send_queue
from orchestrator.planning.scheduler import sweep
from orchestrator.services import Services
from orchestrator.settings import load_settings
from orchestrator.store.tables import Account, Attempt, Task
from orchestrator.tenancy import Role, create_tenant, issue_key

# The topology scenario is a helper module run by one test file per broker: its asserts
# report their values as a test module's do.
pytest.register_assert_rewrite("tests.e2e.topology_scenario")

PROFILE = {
    "lender_name": "Acme Lending",
    "support_phone": "+1 212 555 0100",
    "payment_url": "https://pay.acme.example/{reference}",
    "contact_person": "Sam Rivera",
}


@pytest.fixture
def provider_env(provider_values: dict[str, str]) -> Iterator[dict[str, str]]:
    """Every provider credential, in this process's environment for one test (the adapters
    and the sandbox read the same variables). Set for each test, not once for the run: a
    module-scoped fixture elsewhere that sets and restores the same names would otherwise
    remove them from under the tests that follow it in the same process."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in provider_values.items():
            patch.setenv(name, value)
        yield provider_values


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    services: Services
    api_url: str
    http: httpx.Client  # authenticated as the tenant
    sandbox: RunningSandbox
    broker: Broker
    dispatcher: Dispatcher
    reconciler: Reconciler
    tenant_id: int
    workers: list[Worker] = field(default_factory=list)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def queue(self) -> str:
        return send_queue(self.services.settings)

    @property
    def store(self) -> Any:
        return self.services.store

    @property
    def clock(self) -> Any:
        return self.services.clock

    def tick(self) -> None:
        """One scheduler pass: queue due tasks, then reconcile expired leases."""
        now = self.clock.now()
        result = sweep(self.store, now, stale=timedelta(minutes=5))
        enqueue_tasks(self.broker, result.queued + result.requeued, self.queue)
        self.reconciler.run(now)

    def start_worker(self, threads: int = 4) -> Worker:
        worker = Worker(self.broker, worker_threads=threads, worker_timeout=50)
        worker.start()
        self.workers.append(worker)
        return worker

    def fault(self, provider: str, **settings: Any) -> None:
        response = httpx.put(f"{self.sandbox.base_url}/_sandbox/faults/{provider}", json=settings)
        response.raise_for_status()

    def sandbox_messages(self, provider: str | None = None) -> list[dict[str, Any]]:
        params = {"kind": "message", **({"provider": provider} if provider else {})}
        response = httpx.get(f"{self.sandbox.base_url}/_sandbox/log", params=params)
        response.raise_for_status()
        body = response.json()
        return body["entries"] if isinstance(body, dict) else body

    def tasks(self) -> list[Any]:
        with self.store.snapshot() as conn:
            return list(conn.execute(sa.select(Task).order_by(Task.id)))

    def attempts(self) -> list[Any]:
        with self.store.snapshot() as conn:
            return list(conn.execute(sa.select(Attempt).order_by(Attempt.id)))

    def add_account(self, external_id: str, **overrides: Any) -> int:
        """An account with no strategy step due on the stack's date (due two days ago), so
        only the tasks a test queues itself are sent."""
        from tests.factories import account_document

        doc = account_document(external_id, **overrides)
        doc["debt"]["due_date"] = "2026-10-31"
        response = self.http.put(f"/v1/accounts/{external_id}", json=doc)
        assert response.status_code in (200, 201), response.text
        with self.store.snapshot() as conn:
            return int(
                conn.execute(
                    sa.select(Account.id).where(Account.external_id == external_id)
                ).scalar_one()
            )

    def queue_tasks(
        self,
        account_id: int,
        count: int,
        *,
        channel: str = "sms",
        template: str = "overdue_notice",
        fallback: list[list[str]] | None = None,
        batch_size: int = BATCH_SIZE,
    ) -> list[int]:
        """``count`` tasks for one account, queued and due now, on the send queue
        (``batch_size`` to a message; 0: stored queued, not put on the queue)."""
        now = self.clock.now()
        rows = [
            {
                "tenant_id": self.tenant_id,
                "account_id": account_id,
                "strategy": "test",
                "step": f"test.step_{i}",
                "variant": "",
                "channel": channel,
                "template": template,
                "purpose": "collection",
                "fallback": fallback or [],
                "local_date": now.date(),
                "not_before": now,
                "not_after": now + timedelta(hours=10),
                "expires_at": now + timedelta(days=2),
                "status": "queued",
                "reasons": [],
                "created_at": now,
                "updated_at": now,
            }
            for i in range(count)
        ]
        with self.store.transaction() as conn:
            ids = list(conn.execute(sa.insert(Task).returning(Task.id), rows).scalars())
        if batch_size:
            enqueue_tasks(self.broker, ids, self.queue, batch_size=batch_size)
        return ids

    def worker_process(self, *, processes: int = 1, threads: int = 4) -> subprocess.Popen[bytes]:
        """A real ``orchestrator worker`` (its own process group), on this stack's store,
        Redis namespace and sandbox, its clock starting at the stack's instant."""
        settings = self.services.settings
        env = {
            **os.environ,
            "DATABASE_URL": self.store.engine.url.render_as_string(hide_password=False),
            "REDIS_URL": settings.redis_url,
            **({"BROKER_URL": settings.broker_url} if settings.broker_url else {}),
            "ORCHESTRATOR_QUEUE_NAMESPACE": settings.queue_namespace,
            "ORCHESTRATOR_PUBLIC_URL": self.api_url,
            "ORCHESTRATOR_CLOCK": self.clock.now().isoformat(),
            "ORCHESTRATOR_LOG_LEVEL": "WARNING",
        }
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "orchestrator",
                "worker",
                "--processes",
                str(processes),
                "--threads",
                str(threads),
            ],
            env=env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=open(f"/tmp/worker-{len(self.processes)}.log", "wb"),  # noqa: SIM115
        )
        self.processes.append(process)
        return process

    def crash(self, process: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and every process it started: no clean-up, no acks."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def use_channels(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Give the tenant its own channel config: the shipped one, changed by ``change``,
        stored as a new version and picked up by the running services."""
        import yaml

        from orchestrator.configuration.source import Kind
        from orchestrator.store.tables import ConfigVersion

        path = self.services.settings.config_dir / "channels.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        content = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
        with self.store.transaction() as conn:
            version = conn.execute(
                sa.select(sa.func.count()).select_from(ConfigVersion)
            ).scalar_one()
            conn.execute(
                sa.insert(ConfigVersion).values(
                    scope="acme",
                    kind=Kind.CHANNELS.value,
                    name="channels",
                    version=version + 1,
                    content=content,
                    sha256="test",
                    created_by="test",
                    created_at=self.clock.now(),
                )
            )
        assert self.services.config.refresh(), self.services.config.last_error

    def use_platform_channels(self, change: Callable[[dict[str, Any]], None]) -> None:
        """Change the platform's own channel config (``config/channels.yaml`` of this
        stack's copy of the files): its limits and breakers apply to every tenant on the
        platform's provider accounts."""
        import yaml

        path = self.services.settings.config_dir / "channels.yaml"
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
        change(document)
        path.write_text(
            yaml.safe_dump(document, allow_unicode=True, sort_keys=False), encoding="utf-8"
        )
        assert self.services.config.refresh(), self.services.config.last_error

    def settled(self) -> bool:
        """No task is queued or being sent."""
        return all(t.status not in ("queued", "sending") for t in self.tasks())

    def wait_until(
        self, condition: Callable[[], bool], *, timeout: float = 20, what: str = ""
    ) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return
            self.tick()
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what or condition}")


@pytest.fixture
def broker_kind() -> str:
    """The stack's broker; a test runs on both with ``tests.e2e.brokers.BOTH_BROKERS``."""
    return "redis"


@pytest.fixture
def stack_factory(
    request,
    broker_kind,
    store,
    clock,
    redis_url,
    redis_namespace,
    provider_env,
    tmp_path,
    monkeypatch,
):
    """Builds a stack; its sandbox outcome rates can be chosen per test. On RabbitMQ the
    stack's Redis namespace is also its queue-name prefix, deleted at teardown."""
    made: list[tuple[Any, ...]] = []
    broker_url = None
    if broker_kind == "rabbitmq":
        broker_url = request.getfixturevalue("rabbitmq_url")
        request.getfixturevalue("rabbitmq_namespaces").append(redis_namespace)

    def build(outcomes: OutcomeRates | None = None, *, seed: int = 7) -> Stack:
        port = free_port()
        api_url = f"http://127.0.0.1:{port}"
        sandbox_cm = running_sandbox(
            SandboxSettings(
                port=0,
                smtp_port=0,
                log=tmp_path / "sandbox.jsonl",
                callback_base=f"{api_url}/v1/webhooks",
                seed=seed,
                callback_delay_seconds=0.01,
                outcomes=outcomes or OutcomeRates(delivered=1.0, bounced=0.0),
            ),
            clock=clock,
        )
        sandbox = sandbox_cm.__enter__()
        monkeypatch.setenv("ORCHESTRATOR_SANDBOX_URL", sandbox.base_url)
        monkeypatch.setenv(
            "ORCHESTRATOR_SANDBOX_SMTP", f"smtp://{sandbox.smtp_host}:{sandbox.smtp_port}"
        )
        # The platform's files, copied so a test can change the platform's own channel
        # config (``use_platform_channels``); worker processes read the same copy.
        config_dir = tmp_path / f"config-{port}"
        shutil.copytree(load_settings().config_dir, config_dir)
        monkeypatch.setenv("ORCHESTRATOR_CONFIG_DIR", str(config_dir))
        settings = load_settings(
            redis_url=redis_url,
            queue_namespace=redis_namespace,
            public_url=api_url,
            config_dir=config_dir,
            broker_url=broker_url,
        )
        config = ConfigSource(settings.config_dir, settings.templates_dir, store, now=clock.now)
        services = Services.build(settings, clock=clock, store=store, config=config)
        queue = send_queue(settings)
        broker: Broker
        if broker_url:
            from dramatiq.brokers.rabbitmq import RabbitmqBroker

            broker = RabbitmqBroker(url=broker_url, confirm_delivery=True)
        else:
            broker = RedisBroker(url=redis_url, namespace=redis_namespace)
        dispatcher, reconciler = build_dispatch(
            services,
            lambda task_id: enqueue_tasks(broker, [task_id], queue),
            sleep=lambda s: time.sleep(min(s, 0.05)),
        )
        declare_send_actor(
            broker, lambda: dispatcher, min_backoff_ms=50, max_backoff_ms=200, queue_name=queue
        )
        server = uvicorn.Server(
            uvicorn.Config(create_app(services), host="127.0.0.1", port=port, log_level="warning")
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        for _ in range(500):
            if server.started:
                break
            time.sleep(0.01)
        with store.transaction() as conn:
            tenant_id = create_tenant(
                conn, "acme", name="Acme Lending", now=clock.now(), profile=PROFILE
            )
            key = issue_key(conn, tenant_id, role=Role.OPS, now=clock.now())
        http = httpx.Client(
            base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        stack = Stack(services, api_url, http, sandbox, broker, dispatcher, reconciler, tenant_id)
        made.append((stack, server, thread, sandbox_cm))
        return stack

    yield build
    for stack, server, thread, sandbox_cm in made:
        for worker in stack.workers:
            worker.stop(timeout=5000)
        for process in stack.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
        stack.http.close()
        server.should_exit = True
        thread.join(timeout=10)
        sandbox_cm.__exit__(None, None, None)
        stack.broker.close()


@pytest.fixture
def stack(stack_factory) -> Stack:
    return stack_factory()
