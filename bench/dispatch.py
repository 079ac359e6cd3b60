"""Dispatch benchmark: planned tasks sent end to end to the provider sandbox, against the
ceiling of a bare Dramatiq actor measured in the same run on the same broker — Redis and
RabbitMQ one after the other, each on a workload of its own (``--broker`` picks one).

The workload: N US accounts (each its own phone, an email), planned by the real portfolio
planner at a virtual 14:00 in New York on a day the default strategy has an SMS step due,
swept to ``queued`` by the scheduler's own sweep. The clock then starts: every task id is
put on the send queue and Dramatiq workers run the real dispatch path with every check on
(account lock, claim, holds, caps and quiet hours re-checked at send time, the route and
rate-limit token, rendering, the attempt that reserves the contact, the provider send over
real HTTP to the sandbox, the ledger entry) until the last task is ``sent`` in the store.

The ceiling: the same number of messages through an actor that does nothing, on a broker
of the same type with the same workers, timed from the first enqueue to the last ack.

    python bench/dispatch.py --tasks 2000 --workers 8                  # both brokers
    python bench/dispatch.py --tasks 2000 --broker rabbitmq
    orchestrator bench dispatch --tasks 2000 --workers 8 --processes 2 --json
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dramatiq
import dramatiq.worker
import httpx
import redis
import sqlalchemy as sa
import yaml
from dramatiq import Broker, Worker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.message import Message
from rich.console import Console
from rich.table import Table

from channels.sandbox import OutcomeRates, SandboxSettings, running_sandbox
from channels.sandbox.credentials import sandbox_credentials
from orchestrator import logs
from orchestrator.clock import VirtualClock
from orchestrator.configuration import versions as config_versions
from orchestrator.configuration.source import ConfigSource, Kind
from orchestrator.dispatch import build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import enqueue_tasks, is_rabbitmq, send_queue
from orchestrator.dispatch.middleware import TaskContext
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.scheduler import sweep
from orchestrator.services import Services
from orchestrator.settings import Settings, load_settings
from orchestrator.store.db import Store
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Attempt, LedgerEntry, Task
from orchestrator.tenancy import create_tenant

DEFAULT_DATABASE = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_dispatch"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"
DEFAULT_RABBITMQ = "amqp://guest:guest@127.0.0.1:5672/%2F"
BROKERS = ("redis", "rabbitmq")
# 14:00 in New York (EST) on the bench's date: inside every US window, and 20 days after the
# accounts' due date, when the default strategy's `plan_offer` SMS is due in every variant.
NOW = datetime(2026, 11, 23, 19, 0, tzinfo=UTC)
DUE_DATE = "2026-11-03"
TENANT = "bench"
PROFILE = {
    "lender_name": "Bench Lending",
    "support_phone": "+1 212 555 0100",
    "payment_url": "https://pay.bench.example/{reference}",
    "contact_person": "Sam Rivera",
}
BARE_QUEUE = "bare"
BARE_ACTOR = "nothing"
UNREACHABLE = "http://127.0.0.1:9"  # delivery callbacks are not part of this figure
TARGET = 0.5

console = Console(stderr=True, soft_wrap=True)


# --- the workload -------------------------------------------------------------------------


def account_document(index: int) -> dict[str, Any]:
    """A New York borrower with a phone of their own (SMS and call) and an email."""
    phone = f"+1212{200 + index // 10_000:03d}{index % 10_000:04d}"
    return {
        "external_id": f"bench-{index}",
        "jurisdiction": "US-NY",
        "borrower": {
            "name": f"Borrower {index}",
            "locale": "en-US",
            "address": {"country": "US", "region": "NY", "postal_code": "10001"},
        },
        "contact_points": [
            {"channel": "sms", "address": phone, "consent": True},
            {"channel": "call", "address": phone, "consent": True},
            {"channel": "email", "address": f"borrower{index}@example.org"},
        ],
        "debt": {
            "amount_due": f"{250 + index % 4000}.{index % 100:02d}",
            "currency": "USD",
            "due_date": DUE_DATE,
            "product": "bnpl",
        },
    }


def channels_without_throttle(settings: Settings) -> str:
    """The shipped channel config with every provider's rate limit at its maximum: the
    token bucket is still taken on every send, it just never makes a worker wait (the
    figure is the engine's, not a provider contract's)."""
    path = settings.config_dir / "channels.yaml"
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    for channel in document["channels"].values():
        for provider in channel["providers"]:
            provider["rate_limit"] = {"per_second": 100_000, "burst": 100_000}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def populate(store: Store, settings: Settings, count: int) -> list[int]:
    """Tenant, channel config, ``count`` accounts planned by the real planner and swept to
    ``queued``; returns the queued task ids (one per account)."""
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, TENANT, name="Bench Lending", now=NOW, profile=PROFILE)
        config_versions.append(
            conn,
            TENANT,
            Kind.CHANNELS,
            channels_without_throttle(settings),
            created_by="bench",
            now=NOW,
            after=None,
        )
        prepared = [
            prepare(AccountDocument.model_validate(account_document(i)), now=NOW)
            for i in range(count)
        ]
        write_accounts(conn, tenant_id, prepared, now=NOW, source="import")
    config = ConfigSource(settings.config_dir, settings.templates_dir, store, now=lambda: NOW)
    services = Services.build(settings, clock=VirtualClock(NOW), store=store, config=config)
    stats = services.planner.plan(NOW)
    services.redis.close()
    if stats.planned != count:
        raise RuntimeError(f"planned {stats.planned} tasks for {count} accounts: {stats}")
    queued = sweep(store, NOW, limit=count, stale=timedelta(hours=1)).queued
    if len(queued) != count:
        raise RuntimeError(f"swept {len(queued)} of {count} planned tasks")
    return sorted(queued)


# --- the parts: database, Redis, sandbox --------------------------------------------------


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """A migrated schema of its own in ``url``'s database (created if missing), dropped
    afterwards; or a SQLite file in a temporary folder."""
    if url.startswith("sqlite"):
        with tempfile.TemporaryDirectory(prefix="bench-dispatch-") as folder:
            path = f"sqlite:///{Path(folder) / 'bench.db'}"
            store = Store.connect(path)
            upgrade(store.engine)
            store.dispose()
            yield path
        return
    target = sa.engine.make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with server.connect() as conn:
        exists = conn.execute(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": target.database}
        ).scalar()
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    server.dispose()
    schema = f"bench_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    scoped = f"{url}{sep}options={quote(f'-csearch_path={schema}')}"
    try:
        store = Store.connect(scoped)
        upgrade(store.engine)
        store.dispose()
        yield scoped
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def redis_namespace(url: str) -> Iterator[str]:
    """A key prefix of this run's own; every key under it is deleted afterwards."""
    namespace = f"bench-dispatch-{secrets.token_hex(4)}"
    try:
        yield namespace
    finally:
        client = redis.Redis.from_url(url)
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
        client.close()


def make_broker(settings: Settings) -> Broker:
    """The broker ``settings`` name (``BROKER_URL``: RabbitMQ; unset: Redis), built as the
    worker builds it, but not made Dramatiq's global broker."""
    if is_rabbitmq(settings):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        return RabbitmqBroker(url=settings.broker_url, confirm_delivery=True)
    return RedisBroker(url=settings.redis_url, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]


def bare_queue(settings: Settings) -> str:
    """The do-nothing actor's queue: prefixed with the namespace on RabbitMQ, whose queue
    names are global, like the send queue (``broker.send_queue``)."""
    return f"{settings.queue_namespace}.{BARE_QUEUE}" if is_rabbitmq(settings) else BARE_QUEUE


def join(broker: Broker, queue: str, timeout_ms: int) -> None:
    """Until ``queue`` is drained. Redis counts a message until it is acknowledged; RabbitMQ's
    count is of messages not yet delivered, so it must read empty three times in a row, 5 ms
    apart (the last prefetched messages of a do-nothing actor take microseconds)."""
    if isinstance(broker, RedisBroker):
        broker.join(queue, interval=5, timeout=timeout_ms)
    else:
        broker.join(queue, min_successes=3, idle_time=5, timeout=timeout_ms)  # type: ignore[call-arg]


@contextmanager
def rabbitmq_queues(url: str | None, names: list[str]) -> Iterator[None]:
    """Delete the run's RabbitMQ queues (and their ``.DQ``/``.XQ``) afterwards."""
    try:
        yield
    finally:
        if url:
            import pika

            connection = pika.BlockingConnection(pika.URLParameters(url))
            try:
                channel = connection.channel()
                for name in names:
                    for suffix in ("", ".DQ", ".XQ"):
                        channel.queue_delete(f"{name}{suffix}")
            finally:
                connection.close()


@contextmanager
def environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Sandbox:
    base_url: str
    smtp: str
    messages: Callable[[], list[dict[str, Any]]]


@contextmanager
def sandbox(mode: str, folder: Path) -> Iterator[Sandbox]:
    """The provider sandbox, answering every send; its delivery callbacks are delayed past
    the run (they are not part of this figure). ``process``: its own process, as a provider
    is another machine; ``thread``: inside this one (and its interpreter lock)."""
    log = folder / "sandbox.jsonl"
    if mode == "thread":
        settings = SandboxSettings(
            port=0,
            smtp_port=0,
            log=log,
            callback_base=f"{UNREACHABLE}/v1/webhooks",
            callback_delay_seconds=3600,
            outcomes=OutcomeRates(delivered=1.0, bounced=0.0),
        )
        with running_sandbox(settings, clock=VirtualClock(NOW)) as running:
            yield Sandbox(
                running.base_url,
                f"smtp://{running.smtp_host}:{running.smtp_port}",
                lambda: running.state.journal.entries(kind="message"),
            )
        return
    port, smtp_port = free_port(), free_port()
    command = [
        *(sys.executable, "-m", "orchestrator", "sandbox"),
        *("--port", str(port), "--smtp-port", str(smtp_port), "--log", str(log)),
        *("--callback-base", f"{UNREACHABLE}/v1/webhooks", "--callback-delay", "3600"),
        *("--delivered-rate", "1", "--bounce-rate", "0"),
    ]
    errors = (folder / "sandbox.err").open("wb")
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base_url}/_sandbox/faults", timeout=1).raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "the sandbox did not start: "
                        + (folder / "sandbox.err").read_text(errors="replace")[-2000:]
                    ) from None
                time.sleep(0.1)

        def messages() -> list[dict[str, Any]]:
            with log.open(encoding="utf-8") as lines:
                entries = (json.loads(line) for line in lines if line.strip())
                return [e for e in entries if e.get("kind") == "message"]

        yield Sandbox(base_url, f"smtp://127.0.0.1:{smtp_port}", messages)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        errors.close()


# --- workers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """What a worker process needs to build its side: ``dispatch`` (the send actor on a
    dispatcher of its own) or ``bare`` (an actor that does nothing)."""

    kind: str
    settings: Settings
    threads: int
    timeout_ms: int


def start_worker(job: Job) -> Callable[[], None]:
    """Build and start one worker; returns how to stop it."""
    broker = make_broker(job.settings)
    cleanup: list[Callable[[], None]] = []
    if job.kind == "bare":

        def nothing(index: int) -> None:
            pass

        dramatiq.actor(broker=broker, actor_name=BARE_ACTOR, queue_name=bare_queue(job.settings))(
            nothing
        )
    else:
        store = Store.connect(
            job.settings.effective_database_url, pool_size=max(10, job.threads + 2)
        )
        services = Services.build(job.settings, clock=VirtualClock(NOW), store=store)
        broker.add_middleware(TaskContext())
        queue = send_queue(job.settings)
        dispatcher, _ = build_dispatch(
            services, lambda task_id: enqueue_tasks(broker, [task_id], queue)
        )
        declare_send_actor(broker, lambda: dispatcher, queue_name=queue)
        cleanup += [dispatcher.pool.http.close, services.redis.close, store.dispose]
    # The prefetch ``orchestrator worker`` sets: one message a thread on RabbitMQ, two on Redis.
    dramatiq.worker.QUEUE_PREFETCH = job.threads * job.settings.prefetch_per_thread
    worker = Worker(broker, worker_threads=job.threads, worker_timeout=job.timeout_ms)
    worker.start()

    def stop() -> None:
        worker.stop(timeout=10_000)
        broker.close()
        for step in cleanup:
            step()

    return stop


def _worker_process(job: Job, ready: Any, done: Any) -> None:
    stop = start_worker(job)
    ready.set()
    done.wait()
    stop()


@contextmanager
def workers(job: Job, processes: int) -> Iterator[None]:
    """``processes`` worker processes of ``job.threads`` threads each; one means threads in
    this process (forked children otherwise, each with its own connections)."""
    if processes == 1:
        stop = start_worker(job)
        try:
            yield
        finally:
            stop()
        return
    context = multiprocessing.get_context("fork")
    done = context.Event()
    started = []
    for _ in range(processes):
        ready = context.Event()
        child = context.Process(target=_worker_process, args=(job, ready, done), daemon=True)
        child.start()
        started.append((child, ready))
    try:
        for child, ready in started:
            if not ready.wait(60):
                raise RuntimeError(f"worker process {child.pid} did not start")
        yield
    finally:
        done.set()
        for child, _ in started:
            child.join(30)
            if child.is_alive():
                child.kill()


# --- the two measurements -----------------------------------------------------------------


@dataclass
class Figures:
    broker: str
    tasks: int
    processes: int
    threads: int
    database: str
    sandbox: str
    dispatch_seconds: float
    dispatch_per_second: float
    bare_seconds: float
    bare_per_second: float
    # This process's CPU time per message (threads only: ``None`` with worker processes).
    dispatch_cpu_ms: float | None
    bare_cpu_ms: float | None
    ratio: float
    target: float
    meets_target: bool
    sent: int
    attempts: int
    tasks_with_one_attempt: int
    ledger_sent: int
    provider_messages: int
    provider_recipients: int
    other_statuses: dict[str, int]

    @property
    def exactly_once(self) -> bool:
        total = self.sent
        return (
            self.attempts
            == self.tasks_with_one_attempt
            == self.ledger_sent
            == self.provider_messages
            == self.provider_recipients
            == total
        )


def measure_bare(
    settings: Settings, count: int, processes: int, threads: int, warm: int
) -> tuple[float, float]:
    """Seconds (wall, and this process's CPU) for ``count`` messages through the do-nothing
    actor, first enqueue to last ack (a message leaves the queue only when acknowledged)."""
    broker = make_broker(settings)
    queue = bare_queue(settings)

    def message(index: int) -> Message[None]:
        return Message(
            queue_name=queue, actor_name=BARE_ACTOR, args=(index,), kwargs={}, options={}
        )

    try:
        with workers(Job("bare", settings, threads, 100), processes):
            for index in range(warm):
                broker.enqueue(message(index))
            join(broker, queue, 60_000)
            started, cpu = time.perf_counter(), time.process_time()
            for index in range(count):
                broker.enqueue(message(index))
            join(broker, queue, 600_000)
            return time.perf_counter() - started, time.process_time() - cpu
    finally:
        broker.close()


def statuses(store: Store) -> Counter[str]:
    with store.snapshot() as conn:
        return Counter(
            dict(conn.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())
        )


def wait_settled(store: Store, timeout: float, *, interval: float = 0.02) -> None:
    """Until no task is queued or being sent."""
    deadline = time.monotonic() + timeout
    while True:
        counts = statuses(store)
        if not counts["queued"] and not counts["sending"]:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"tasks still in flight after {timeout:.0f} s: {dict(counts)}")
        time.sleep(interval)


def measure_dispatch(
    settings: Settings,
    store: Store,
    task_ids: list[int],
    processes: int,
    threads: int,
    warm: int,
    timeout: float,
) -> tuple[float, float]:
    """Seconds (wall, and this process's CPU) from the first enqueue to the last task
    settled (``sent``) in the store. The first ``warm`` tasks go before the clock starts
    (connections, adapters, templates)."""
    broker = make_broker(settings)
    queue = send_queue(settings)
    try:
        with workers(Job("dispatch", settings, threads, 100), processes):
            enqueue_tasks(broker, task_ids[:warm], queue)
            # The timed tasks are queued in the store too: wait for the warm-up ones only.
            deadline = time.monotonic() + 60
            while statuses(store)["sent"] < warm:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warm-up did not finish: {dict(statuses(store))}")
                time.sleep(0.02)
            started, cpu = time.perf_counter(), time.process_time()
            enqueue_tasks(broker, task_ids[warm:], queue)
            wait_settled(store, timeout)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
            join(broker, queue, 60_000)
            return elapsed, cpu
    finally:
        broker.close()


def ledger_counts(store: Store) -> tuple[int, int, int]:
    """Attempts, tasks with exactly one attempt, and ``attempt.sent`` ledger entries."""
    with store.snapshot() as conn:
        attempts = conn.execute(sa.select(sa.func.count()).select_from(Attempt)).scalar_one()
        per_task = (
            sa.select(Attempt.task_id)
            .group_by(Attempt.task_id)
            .having(sa.func.count() == 1)
            .subquery()
        )
        single = conn.execute(sa.select(sa.func.count()).select_from(per_task)).scalar_one()
        sent = conn.execute(
            sa.select(sa.func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.kind == "attempt.sent")
        ).scalar_one()
    return attempts, single, sent


def run(args: argparse.Namespace, broker: str = "redis") -> Figures:
    """One measurement on ``broker`` (``redis`` or ``rabbitmq``): a database schema, a
    namespace and a sandbox of its own."""
    broker_url = args.rabbitmq_url if broker == "rabbitmq" else None
    warm = args.warmup if args.warmup is not None else 2 * args.processes * args.workers
    total = args.tasks + warm
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dispatch-")))
        stack.enter_context(environment(sandbox_credentials()))
        url = stack.enter_context(fresh_database(args.database_url))
        namespace = stack.enter_context(redis_namespace(args.redis_url))
        stack.enter_context(
            rabbitmq_queues(broker_url, [f"{namespace}.send", f"{namespace}-bare.{BARE_QUEUE}"])
        )
        console.log(f"starting the sandbox ({args.sandbox})")
        provider = stack.enter_context(sandbox(args.sandbox, folder))
        stack.enter_context(
            environment(
                {
                    "ORCHESTRATOR_SANDBOX_URL": provider.base_url,
                    "ORCHESTRATOR_SANDBOX_SMTP": provider.smtp,
                }
            )
        )
        settings = load_settings(
            database_url=url,
            redis_url=args.redis_url,
            queue_namespace=namespace,
            public_url=UNREACHABLE,
            log_level=args.log_level,
            broker_url=broker_url,
        )
        store = Store.connect(url)
        stack.callback(store.dispose)
        console.log(f"planning {total:,} accounts ({warm} warm-up)")
        task_ids = populate(store, settings, total)

        bare_settings = load_settings(
            redis_url=args.redis_url, queue_namespace=f"{namespace}-bare", broker_url=broker_url
        )
        console.log(f"{broker}: bare actor, {args.tasks:,} messages")
        bare, bare_cpu = measure_bare(bare_settings, args.tasks, args.processes, args.workers, warm)
        console.log(f"{broker}: dispatch, {args.tasks:,} tasks")
        elapsed, dispatch_cpu = measure_dispatch(
            settings, store, task_ids, args.processes, args.workers, warm, args.timeout
        )

        counts = statuses(store)
        attempts, single, ledger_sent = ledger_counts(store)
        messages = provider.messages()
        threaded = args.processes == 1
        dispatch_rate = args.tasks / elapsed
        bare_rate = args.tasks / bare
        figures = Figures(
            broker=broker,
            tasks=args.tasks,
            processes=args.processes,
            threads=args.workers,
            database=store.dialect,
            sandbox=args.sandbox,
            dispatch_seconds=round(elapsed, 3),
            dispatch_per_second=round(dispatch_rate, 1),
            bare_seconds=round(bare, 3),
            bare_per_second=round(bare_rate, 1),
            dispatch_cpu_ms=round(dispatch_cpu * 1000 / args.tasks, 3) if threaded else None,
            bare_cpu_ms=round(bare_cpu * 1000 / args.tasks, 3) if threaded else None,
            ratio=round(dispatch_rate / bare_rate, 3),
            target=TARGET,
            meets_target=dispatch_rate / bare_rate >= TARGET,
            sent=counts.pop("sent", 0) - warm,
            attempts=attempts - warm,
            tasks_with_one_attempt=single - warm,
            ledger_sent=ledger_sent - warm,
            provider_messages=len(messages) - warm,
            provider_recipients=len({m["to"] for m in messages}) - warm,
            other_statuses=dict(counts),
        )
    return figures


def report(runs: list[Figures]) -> None:
    table = Table(title="Dispatch vs a bare Dramatiq actor (same run, same broker)")
    table.add_column("broker")
    for column in ("tasks", "workers", "dispatch msg/s", "bare msg/s", "ratio", "target", ""):
        table.add_column(column, justify="right")
    for figures in runs:
        _row(table, figures)
    Console().print(table)
    for figures in runs:
        _details(figures)


def _row(table: Table, figures: Figures) -> None:
    table.add_row(
        figures.broker,
        f"{figures.tasks:,}",
        f"{figures.processes} × {figures.threads} threads",
        f"{figures.dispatch_per_second:,.1f}",
        f"{figures.bare_per_second:,.1f}",
        f"{figures.ratio:.3f}",
        f"≥ {figures.target}",
        "[green]pass[/]" if figures.meets_target else "[red]miss[/]",
    )


def _details(figures: Figures) -> None:
    Console().print(
        f"{figures.broker}: {figures.database}, sandbox in a {figures.sandbox}; "
        f"sent {figures.sent:,}, attempts {figures.attempts:,}, "
        f"provider messages {figures.provider_messages:,} to "
        f"{figures.provider_recipients:,} phones"
        + (f"; other statuses {figures.other_statuses}" if figures.other_statuses else "")
    )
    if figures.dispatch_cpu_ms is not None:
        Console().print(
            f"{figures.broker}: CPU of this process per message: "
            f"dispatch {figures.dispatch_cpu_ms:.2f} ms, bare actor {figures.bare_cpu_ms:.2f} ms"
        )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark on each broker asked for; returns the process exit code (1 when a
    task was not sent exactly once on either; a missed target is reported, not an error).

    Parameters:
      argv: command-line arguments (see ``--help``).
    """
    parser = argparse.ArgumentParser(
        prog="orchestrator bench dispatch",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=2_000, help="timed tasks (2,000)")
    parser.add_argument("--workers", type=int, default=8, help="worker threads a process (8)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes (1)")
    parser.add_argument(
        "--warmup", type=int, default=None, help="untimed tasks first (2 per worker thread)"
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE),
        help="PostgreSQL: a schema of the run's own in this database (created if missing), "
        "dropped after; sqlite://: a temporary file",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument(
        "--broker",
        choices=[*BROKERS, "both"],
        default="both",
        help="the broker(s) measured, one after the other (both); Redis also holds the rate "
        "limits and breakers in every run",
    )
    parser.add_argument(
        "--rabbitmq-url",
        default=os.environ.get("BENCH_RABBITMQ_URL", DEFAULT_RABBITMQ),
        help="RabbitMQ (queues prefixed with the run's namespace, deleted after)",
    )
    parser.add_argument("--sandbox", choices=["process", "thread"], default="process")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for sends")
    parser.add_argument("--log-level", default="WARNING", help="the workers' log level")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object: each broker's figures"
    )
    args = parser.parse_args(argv)

    logs.configure(level=args.log_level, fmt="json")
    runs = [run(args, broker) for broker in (BROKERS if args.broker == "both" else [args.broker])]
    if args.json:
        print(json.dumps({f.broker: {**asdict(f), "exactly_once": f.exactly_once} for f in runs}))
    else:
        report(runs)
    failed = [f.broker for f in runs if not f.exactly_once]
    if failed:
        console.print(f"[bold red]not every task was sent exactly once on {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
