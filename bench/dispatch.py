"""Dispatch benchmark: planned tasks sent end to end to the provider sandbox, against the
ceiling of a bare Dramatiq actor measured in the same run on the same broker — Redis and
RabbitMQ one after the other, each with a database schema, a namespace and a sandbox of its
own (``--broker`` picks one).

The workload: N US accounts (each its own phone, an email), planned by the real portfolio
planner at a virtual 14:00 in New York on a day the default strategy has an SMS step due,
swept to ``queued`` by the scheduler's own sweep. The clock then starts: every task id is
put on the send queue and Dramatiq workers run the real dispatch path with every check on
(account lock, claim, holds, caps and quiet hours re-checked at send time, the route and
rate-limit token, rendering, the attempt that reserves the contact, the provider send over
real HTTP to the sandbox, the ledger entry) until the last task is ``sent`` in the store.

Task ids go on the queue as dispatch's scheduler puts them there: ``--batch-sizes`` ids to a
message (each size measured on tasks of its own; the first size is the headline figure).

Two ceilings, same broker, same processes, threads, prefetch and worker timeout, timed from
the first enqueue to the last ack:

- the fair ceiling: a bare actor whose only work is the same single HTTP request to the same
  sandbox (a Twilio-format form POST over a pooled ``httpx`` client), one per message: what
  one-request-per-message dispatch could reach at best;
- an actor that does nothing (the broker's own limit).

Each worker process measures its own CPU time over the timed part, so the CPU per send is the
workers' and not this process's. Workers prefetch as ``orchestrator worker``'s do (one
message a thread on RabbitMQ, two on Redis); the run's RabbitMQ queues are deleted after.

Dispatch is measured with personal data sealed at rest (as in production) and without (the
benchmarks' null cipher, ``bench/unsealed.py``), each on a database, namespace and sandbox
of its own, against the same ceilings; the ratio of worker CPU per send is what sealing
costs a send (``--sealing on|off|both``).

    python bench/dispatch.py --tasks 2000 --workers 8 --processes 2 --batch-sizes 20,1,5,50
    python bench/dispatch.py --tasks 2000 --broker rabbitmq
    orchestrator bench dispatch --tasks 2000 --workers 8 --processes 2 --json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import secrets
import shutil
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

from bench.unsealed import HELP as SEALING_HELP
from bench.unsealed import cost, modes, sealing
from channels.sandbox import OutcomeRates, SandboxSettings, running_sandbox
from channels.sandbox.credentials import sandbox_credentials
from channels.sandbox.stamps import stamp_requests
from orchestrator import logs
from orchestrator.clock import VirtualClock, clock_from_setting
from orchestrator.configuration import versions as config_versions
from orchestrator.configuration.source import ConfigSource, Kind
from orchestrator.dispatch import build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import BATCH_SIZE, enqueue_tasks, is_rabbitmq, send_queue
from orchestrator.dispatch.middleware import TaskContext
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.scheduler import sweep
from orchestrator.services import Services
from orchestrator.settings import Settings, load_settings
from orchestrator.store.db import Store, id_in
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
HTTP_ACTOR = "post_once"
UNREACHABLE = "http://127.0.0.1:9"  # delivery callbacks are not part of this figure
TARGET = 0.5
CPU_TARGET = 4.0

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


def platform_config(settings: Settings, folder: Path, channels: str) -> Path:
    """A copy of the shipped configuration folder with ``channels`` as its channels.yaml: the
    platform's provider accounts take their rate limits from there, never from a tenant's
    stored version."""
    target = folder / "config"
    shutil.copytree(settings.config_dir, target)
    (target / "channels.yaml").write_text(channels, encoding="utf-8")
    return target


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
def redis_namespace(url: str, namespace: str | None = None) -> Iterator[str]:
    """A key prefix of this run's own (``namespace``, or a random one); every key under it is
    deleted afterwards."""
    namespace = namespace or f"bench-dispatch-{secrets.token_hex(4)}"
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
    """The ceilings' queue: prefixed with the namespace on RabbitMQ, whose queue names are
    global, like the send queue (``broker.send_queue``)."""
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
        deadline = time.monotonic() + 120  # a busy machine starts it slowly
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
            if not log.exists():  # nothing sent to it yet
                return []
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
    """What a worker process needs to build its side: ``dispatch`` (the send actors on a
    dispatcher of its own), ``http`` (an actor making one HTTP request to the sandbox) or
    ``bare`` (an actor that does nothing)."""

    kind: str
    settings: Settings
    threads: int
    timeout_ms: int
    sandbox_url: str = ""
    clock_setting: str = ""  # ORCHESTRATOR_CLOCK's form; empty: the bench's fixed instant
    # Stamp each provider request with when it left (``channels.sandbox.stamps``): the
    # sandbox keeps it beside its own arrival time.
    stamp_sends: bool = False


def admitted_key(settings: Settings) -> str:
    """The Redis list a stamping run's rate limits append each instant let go to."""
    return f"{settings.queue_namespace}:bench:admitted"


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
    elif job.kind == "http":
        http = httpx.Client(limits=httpx.Limits(max_connections=200), timeout=10)
        credentials = os.environ  # the run's sandbox credentials (see ``run``)
        url = (
            f"{job.sandbox_url}/twilio/2010-04-01/Accounts/"
            f"{credentials['TWILIO_ACCOUNT_SID']}/Messages.json"
        )
        auth = (credentials["TWILIO_ACCOUNT_SID"], credentials["TWILIO_AUTH_TOKEN"])

        def post_once(index: int) -> None:
            response = http.post(
                url,
                data={"To": f"+1646{index:07d}", "From": "+15005550006", "Body": BARE_BODY},
                auth=auth,
            )
            response.raise_for_status()

        dramatiq.actor(broker=broker, actor_name=HTTP_ACTOR, queue_name=bare_queue(job.settings))(
            post_once
        )
        cleanup.append(http.close)
    else:
        store = Store.connect(
            job.settings.effective_database_url, pool_size=max(10, job.threads + 2)
        )
        clock = clock_from_setting(job.clock_setting) if job.clock_setting else VirtualClock(NOW)
        services = Services.build(job.settings, clock=clock, store=store)
        broker.add_middleware(TaskContext())
        queue = send_queue(job.settings)
        dispatcher, _ = build_dispatch(
            services, lambda task_id: enqueue_tasks(broker, [task_id], queue)
        )
        if job.stamp_sends:
            stamp_requests(dispatcher.pool.http)
            dispatcher.limiter.record_to = admitted_key(job.settings)
        declare_send_actor(broker, lambda: dispatcher, queue_name=queue)
        cleanup += [dispatcher.close, dispatcher.pool.http.close, services.redis.close]
        cleanup.append(store.dispose)
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


# A text of the length dispatch's plan_offer SMS has, so both requests carry alike bodies.
BARE_BODY = (
    "Bench Lending: a payment plan is available for your account. Reply STOP to opt out. "
    "This is a communication from a debt collector."
)


def _worker_process(job: Job, commands: Any) -> None:
    stop = start_worker(job)
    commands.send("ready")
    started = time.process_time()
    while True:
        command = commands.recv()
        if command == "mark":
            started = time.process_time()
        elif command == "cpu":
            commands.send(time.process_time() - started)
        else:
            break
    stop()


class Meter:
    """The workers' CPU time from :meth:`mark` to :meth:`cpu_seconds`: each worker process's
    own (with threads in this process, this process's, which includes the bench's polling)."""

    def __init__(self, pipes: list[Any]) -> None:
        self.pipes = pipes
        self._started = 0.0

    def mark(self) -> None:
        self._started = time.process_time()
        for pipe in self.pipes:
            pipe.send("mark")

    def cpu_seconds(self) -> float:
        if not self.pipes:
            return time.process_time() - self._started
        total = 0.0
        for pipe in self.pipes:
            pipe.send("cpu")
            total += float(pipe.recv())
        return total


@contextmanager
def workers(job: Job, processes: int) -> Iterator[Meter]:
    """``processes`` worker processes of ``job.threads`` threads each; one means threads in
    this process (forked children otherwise, each with its own connections)."""
    if processes == 1:
        stop = start_worker(job)
        try:
            yield Meter([])
        finally:
            stop()
        return
    context = multiprocessing.get_context("fork")
    started = []
    for _ in range(processes):
        parent, child_end = context.Pipe()
        child = context.Process(target=_worker_process, args=(job, child_end), daemon=True)
        child.start()
        started.append((child, parent))
    try:
        for child, pipe in started:
            if not pipe.poll(60) or pipe.recv() != "ready":
                raise RuntimeError(f"worker process {child.pid} did not start")
        yield Meter([pipe for _, pipe in started])
    finally:
        for _, pipe in started:
            with contextlib.suppress(OSError):
                pipe.send("exit")
        for child, _ in started:
            child.join(30)
            if child.is_alive():
                child.kill()


# --- the two measurements -----------------------------------------------------------------


@dataclass
class Run:
    """One dispatch run at one batch size, with its own exactly-once counts."""

    batch_size: int
    seconds: float
    per_second: float
    cpu_ms: float  # the workers' CPU per send
    ratio: float  # against the fair ceiling
    sent: int
    attempts: int
    tasks_with_one_attempt: int
    ledger_sent: int
    provider_messages: int
    provider_recipients: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.attempts
            == self.tasks_with_one_attempt
            == self.ledger_sent
            == self.provider_messages
            == self.provider_recipients
            == self.sent
        )


@dataclass
class Figures:
    broker: str
    sealing: str  # on | off (bench/unsealed.py)
    tasks: int
    processes: int
    threads: int
    database: str
    sandbox: str
    batch_size: int
    dispatch_seconds: float
    dispatch_per_second: float
    ceiling_seconds: float
    ceiling_per_second: float
    bare_seconds: float
    bare_per_second: float
    # The workers' CPU per message: dispatch's per send, the fair ceiling's per request.
    dispatch_cpu_ms: float
    ceiling_cpu_ms: float
    bare_cpu_ms: float
    ratio: float  # dispatch against the fair ceiling
    cpu_ratio: float
    target: float
    cpu_target: float
    meets_target: bool
    meets_cpu_target: bool
    sent: int
    attempts: int
    tasks_with_one_attempt: int
    ledger_sent: int
    provider_messages: int
    provider_recipients: int
    other_statuses: dict[str, int]
    runs: list[Run]

    @property
    def exactly_once(self) -> bool:
        return all(run.exactly_once for run in self.runs)


def measure_ceiling(
    settings: Settings,
    kind: str,
    count: int,
    processes: int,
    threads: int,
    warm: int,
    sandbox_url: str = "",
) -> tuple[float, float]:
    """Seconds (wall, and the workers' CPU) for ``count`` messages through the ``http`` or
    ``bare`` actor, first enqueue to last ack (a message leaves the queue only when
    acknowledged)."""
    broker = make_broker(settings)
    actor = HTTP_ACTOR if kind == "http" else BARE_ACTOR
    queue = bare_queue(settings)

    def message(index: int) -> Message[None]:
        return Message(queue_name=queue, actor_name=actor, args=(index,), kwargs={}, options={})

    try:
        job = Job(kind, settings, threads, 100, sandbox_url)
        with workers(job, processes) as meter:
            for index in range(warm):
                broker.enqueue(message(index))
            join(broker, queue, 60_000)
            meter.mark()
            started = time.perf_counter()
            for index in range(count):
                broker.enqueue(message(warm + index))
            join(broker, queue, 600_000)
            elapsed = time.perf_counter() - started
            return elapsed, meter.cpu_seconds()
    finally:
        broker.close()


def statuses(store: Store) -> Counter[str]:
    with store.snapshot() as conn:
        return Counter(
            dict(conn.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())
        )


def wait_settled(
    store: Store,
    timeout: float,
    task_ids: list[int] | None = None,
    *,
    reconcile: Callable[[], int] | None = None,
    interval: float = 0.05,
) -> None:
    """Until none of ``task_ids`` (every task, by default) is queued or being sent.

    A send the provider may have taken without answering (a connection reset) stays
    ``sending`` until the reconciler resolves it: when only those are left, ``reconcile``
    runs it, as the scheduler would once their lease ended."""
    deadline = time.monotonic() + timeout
    while True:
        with store.snapshot() as conn:
            query = (
                sa.select(Task.id, Task.status, Attempt.error_code)
                .outerjoin(
                    Attempt, sa.and_(Attempt.task_id == Task.id, Attempt.status == "sending")
                )
                .where(Task.status.in_(["queued", "sending"]))
            )
            if task_ids is not None:
                query = query.where(id_in(conn, Task.id, task_ids))
            left = conn.execute(query).all()
        if not left:
            return
        if reconcile is not None and all(r.status == "sending" and r.error_code for r in left):
            reconcile()
        if time.monotonic() > deadline:
            raise RuntimeError(f"{len(left)} tasks still in flight after {timeout:.0f} s")
        time.sleep(interval)


def measure_dispatch(
    settings: Settings,
    store: Store,
    warm_ids: list[int],
    runs: list[tuple[int, list[int]]],
    processes: int,
    threads: int,
    timeout: float,
    after_each: Callable[[int, float, float], None],
) -> None:
    """For each (batch size, task ids) of ``runs``: seconds (wall, and the workers' CPU)
    from the first enqueue to the last task settled (``sent``) in the store, handed to
    ``after_each(batch size, seconds, cpu)``. The ``warm_ids`` go first, before any clock
    starts (connections, adapters, templates)."""
    broker = make_broker(settings)
    queue = send_queue(settings)
    services = Services.build(settings, clock=VirtualClock(NOW), store=store)
    _, reconciler = build_dispatch(
        services, lambda task_id: enqueue_tasks(broker, [task_id], queue)
    )
    reconciled = {"count": 0}

    def reconcile() -> int:
        # As the scheduler would once the leases ended (a day later on the bench's clock).
        counts = reconciler.run(NOW + timedelta(days=1))
        reconciled["count"] += sum(counts.values())
        return reconciled["count"]

    try:
        with workers(Job("dispatch", settings, threads, 100), processes) as meter:
            enqueue_tasks(broker, warm_ids, queue, batch_size=1)
            # The timed tasks are queued in the store too: wait for the warm-up ones only.
            deadline = time.monotonic() + 60
            while statuses(store)["sent"] < len(warm_ids):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"warm-up did not finish: {dict(statuses(store))}")
                time.sleep(0.02)
            for batch_size, task_ids in runs:
                join(broker, queue, 60_000)
                meter.mark()
                started = time.perf_counter()
                enqueue_tasks(broker, task_ids, queue, batch_size=batch_size)
                wait_settled(store, timeout, task_ids, reconcile=reconcile)
                elapsed = time.perf_counter() - started
                after_each(batch_size, elapsed, meter.cpu_seconds())
            join(broker, queue, 60_000)
    finally:
        broker.close()
        reconciler.pool.http.close()
        services.redis.close()
        if reconciled["count"]:
            console.log(f"{reconciled['count']} unanswered sends resolved by the reconciler")


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


Ceilings = tuple[float, float, float, float]  # fair ceiling and bare actor: wall, CPU seconds


def run(
    args: argparse.Namespace,
    broker: str = "redis",
    mode: str = "on",
    ceilings: Ceilings | None = None,
) -> tuple[Figures, Ceilings]:
    """One measurement on ``broker`` (``redis`` or ``rabbitmq``) with sealing ``mode``, every
    batch size and both ceilings on it (measured here unless ``ceilings`` were, earlier in
    the run on the same broker): a database schema, a namespace and a sandbox of its own."""
    broker_url = args.rabbitmq_url if broker == "rabbitmq" else None
    sizes = [int(size) for size in str(args.batch_sizes).split(",") if size.strip()]
    warm = args.warmup if args.warmup is not None else 2 * args.processes * args.workers
    total = args.tasks * len(sizes) + warm
    with ExitStack() as stack:
        # Before anything connects or forks: the parent populates, the workers inherit it.
        stack.enter_context(sealing(mode))
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-dispatch-")))
        stack.enter_context(environment(sandbox_credentials()))
        url = stack.enter_context(fresh_database(args.database_url))
        suffix = broker if mode == "on" else f"{broker}-unsealed"
        chosen = f"{args.namespace}-{suffix}" if args.namespace else None
        namespace = stack.enter_context(redis_namespace(args.redis_url, chosen))
        stack.enter_context(
            rabbitmq_queues(broker_url, [f"{namespace}.send", f"{namespace}-bare.{BARE_QUEUE}"])
        )
        console.log(f"{broker}, sealing {mode}: starting the sandbox ({args.sandbox})")
        provider = stack.enter_context(sandbox(args.sandbox, folder))
        stack.enter_context(
            environment(
                {
                    "ORCHESTRATOR_SANDBOX_URL": provider.base_url,
                    "ORCHESTRATOR_SANDBOX_SMTP": provider.smtp,
                }
            )
        )
        shipped = load_settings()
        settings = load_settings(
            config_dir=platform_config(shipped, folder, channels_without_throttle(shipped)),
            database_url=url,
            redis_url=args.redis_url,
            queue_namespace=namespace,
            public_url=UNREACHABLE,
            log_level=args.log_level,
            broker_url=broker_url,
        )
        store = Store.connect(url)
        stack.callback(store.dispose)
        console.log(f"{broker}: planning {total:,} accounts ({warm} warm-up)")
        task_ids = populate(store, settings, total)

        shape = (args.tasks, args.processes, args.workers, warm)
        bare_settings = load_settings(
            redis_url=args.redis_url, queue_namespace=f"{namespace}-bare", broker_url=broker_url
        )
        if ceilings is None:
            console.log(f"{broker}: fair ceiling, {args.tasks:,} HTTP requests to the sandbox")
            ceiling, ceiling_cpu = measure_ceiling(bare_settings, "http", *shape, provider.base_url)
            console.log(f"{broker}: bare actor, {args.tasks:,} messages")
            bare, bare_cpu = measure_ceiling(bare_settings, "bare", *shape)
            ceilings = (ceiling, ceiling_cpu, bare, bare_cpu)
        ceiling, ceiling_cpu, bare, bare_cpu = ceilings
        ceiling_rate = args.tasks / ceiling

        runs: list[Run] = []
        slices = [
            (size, task_ids[warm + i * args.tasks : warm + (i + 1) * args.tasks])
            for i, size in enumerate(sizes)
        ]
        seen = {"messages": len(provider.messages())}
        # The warm-up's sends are counted before the first run.
        counted = {"before": tuple(n + warm for n in ledger_counts(store))}

        def after_each(batch_size: int, elapsed: float, cpu: float) -> None:
            attempts, single, ledger_sent = ledger_counts(store)
            was_attempts, was_single, was_ledger = counted["before"]
            messages = provider.messages()
            new = messages[seen["messages"] :]
            sent = statuses(store)["sent"]
            runs.append(
                Run(
                    batch_size=batch_size,
                    seconds=round(elapsed, 3),
                    per_second=round(args.tasks / elapsed, 1),
                    cpu_ms=round(cpu * 1000 / args.tasks, 3),
                    ratio=round(args.tasks / elapsed / ceiling_rate, 3),
                    sent=sent - warm - len(runs) * args.tasks,
                    attempts=attempts - was_attempts,
                    tasks_with_one_attempt=single - was_single,
                    ledger_sent=ledger_sent - was_ledger,
                    provider_messages=len(new),
                    provider_recipients=len({m["to"] for m in new}),
                )
            )
            seen["messages"] = len(messages)
            counted["before"] = (attempts, single, ledger_sent)
            console.log(
                f"{broker}, sealing {mode}: dispatch, batches of {batch_size}: "
                f"{args.tasks / elapsed:,.1f} msg/s"
            )

        console.log(
            f"{broker}, sealing {mode}: dispatch, {args.tasks:,} tasks at each batch size {sizes}"
        )
        # Before the ceilings' messages are counted: the warm-up's and the ceilings' own.
        seen["messages"] = len(provider.messages()) + warm
        measure_dispatch(
            settings,
            store,
            task_ids[:warm],
            slices,
            args.processes,
            args.workers,
            args.timeout,
            after_each,
        )

        counts = statuses(store)
        counts.pop("sent", None)
        head = runs[0]
        cpu_ms = round(ceiling_cpu * 1000 / args.tasks, 3)
        figures = Figures(
            broker=broker,
            sealing=mode,
            tasks=args.tasks,
            processes=args.processes,
            threads=args.workers,
            database=store.dialect,
            sandbox=args.sandbox,
            batch_size=head.batch_size,
            dispatch_seconds=head.seconds,
            dispatch_per_second=head.per_second,
            ceiling_seconds=round(ceiling, 3),
            ceiling_per_second=round(ceiling_rate, 1),
            bare_seconds=round(bare, 3),
            bare_per_second=round(args.tasks / bare, 1),
            dispatch_cpu_ms=head.cpu_ms,
            ceiling_cpu_ms=cpu_ms,
            bare_cpu_ms=round(bare_cpu * 1000 / args.tasks, 3),
            ratio=head.ratio,
            cpu_ratio=round(head.cpu_ms / cpu_ms, 2) if cpu_ms else 0.0,
            target=TARGET,
            cpu_target=CPU_TARGET,
            meets_target=head.ratio >= TARGET,
            meets_cpu_target=bool(cpu_ms) and head.cpu_ms <= CPU_TARGET * cpu_ms,
            sent=head.sent,
            attempts=head.attempts,
            tasks_with_one_attempt=head.tasks_with_one_attempt,
            ledger_sent=head.ledger_sent,
            provider_messages=head.provider_messages,
            provider_recipients=head.provider_recipients,
            other_statuses=dict(counts),
            runs=runs,
        )
    return figures, ceilings


def report(runs: list[Figures]) -> None:
    """One table, a row per broker and batch size, each against the fair ceiling measured on
    its own broker; then each broker's ceilings and exactly-once check."""
    first = runs[0]
    table = Table(
        title=(
            f"Dispatch vs one HTTP request per message ({first.processes} × "
            f"{first.threads} threads; each broker against its own ceilings, same run, "
            "same sandbox)"
        )
    )
    table.add_column("broker")
    table.add_column("sealing")
    columns = ("batch", "dispatch msg/s", "ratio to ceiling", "CPU ms/send", "CPU ratio", "")
    for column in columns:
        table.add_column(column, justify="right")
    for figures in runs:
        for run in figures.runs:
            ok = run.ratio >= figures.target and run.cpu_ms <= figures.cpu_target * (
                figures.ceiling_cpu_ms or float("inf")
            )
            table.add_row(
                figures.broker,
                figures.sealing,
                f"{run.batch_size}",
                f"{run.per_second:,.1f}",
                f"{run.ratio:.3f}",
                f"{run.cpu_ms:.2f}",
                f"{run.cpu_ms / figures.ceiling_cpu_ms:.2f}" if figures.ceiling_cpu_ms else "—",
                ("[green]pass[/]" if ok else "[red]miss[/]")
                + ("" if run.exactly_once else " [red]not exactly once[/]"),
            )
    Console().print(table)
    for figures in runs:
        if figures.sealing != "on" and any(
            f.broker == figures.broker and f.sealing == "on" for f in runs
        ):
            continue  # the same ceilings as the sealed run's
        Console().print(
            f"{figures.broker}: fair ceiling (one HTTP request a message) "
            f"{figures.ceiling_per_second:,.1f} msg/s, {figures.ceiling_cpu_ms:.2f} ms CPU "
            f"each; bare actor {figures.bare_per_second:,.1f} msg/s, "
            f"{figures.bare_cpu_ms:.2f} ms CPU each."
        )
    Console().print(
        f"Targets: ≥ {first.target} × the ceiling, CPU ≤ {first.cpu_target} × its. "
        f"{first.database}, a sandbox in a {first.sandbox} for each broker."
    )
    for figures in runs:
        name = f"{figures.broker}, sealing {figures.sealing}"
        Console().print(
            f"{name}: each run's sent, attempts, ledger entries, provider messages "
            "and recipients all equal to its tasks"
            + (f"; other statuses {figures.other_statuses}" if figures.other_statuses else "")
            if figures.exactly_once
            else f"[red]{name}: a run did not send every task exactly once[/]"
        )
    for line in sealing_costs(runs):
        Console().print(line)


def sealing_costs(runs: list[Figures]) -> list[str]:
    """Per broker and batch size measured both ways: what sealing costs a send."""
    lines = []
    for on in (f for f in runs if f.sealing == "on"):
        off = next((f for f in runs if f.broker == on.broker and f.sealing == "off"), None)
        if off is None:
            continue
        for sealed, unsealed in zip(on.runs, off.runs, strict=True):
            lines.append(
                f"{on.broker}, batches of {sealed.batch_size}: sealing on uses "
                f"{cost(sealed.cpu_ms, unsealed.cpu_ms)} the worker CPU per send of sealing "
                f"off ({sealed.cpu_ms:.2f} / {unsealed.cpu_ms:.2f} ms, "
                f"{(sealed.cpu_ms - unsealed.cpu_ms) * 1000:+,.0f} µs); throughput "
                f"{sealed.per_second:,.1f} / {unsealed.per_second:,.1f} msg/s "
                f"({sealed.per_second / unsealed.per_second:.2f} ×)"
            )
    return lines


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
        "--batch-sizes",
        default=str(BATCH_SIZE),
        help=f"task ids a message, comma-separated, each run on its own tasks; the first is "
        f"the headline figure ({BATCH_SIZE}, the scheduler's)",
    )
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
        help="the broker(s) measured, one after the other, each against its own ceilings "
        "(both); Redis also holds the rate limits and breakers in every run",
    )
    parser.add_argument(
        "--rabbitmq-url",
        default=os.environ.get("BENCH_RABBITMQ_URL", DEFAULT_RABBITMQ),
        help="RabbitMQ (queues prefixed with the run's namespace, deleted after)",
    )
    parser.add_argument(
        "--namespace",
        default=None,
        help="prefix of the run's Redis keys and RabbitMQ queues, with -redis or -rabbitmq "
        "appended (a random one); everything under it is deleted after",
    )
    parser.add_argument(
        "--sealing", choices=["on", "off", "both"], default="both", help=SEALING_HELP
    )
    parser.add_argument("--sandbox", choices=["process", "thread"], default="process")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for sends")
    parser.add_argument("--log-level", default="WARNING", help="the workers' log level")
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object: each broker's figures"
    )
    args = parser.parse_args(argv)

    logs.configure(level=args.log_level, fmt="json")
    runs: list[Figures] = []
    for broker in BROKERS if args.broker == "both" else [args.broker]:
        ceilings = None
        for mode in modes(args.sealing):
            figures, ceilings = run(args, broker, mode, ceilings)
            runs.append(figures)
    if args.json:
        print(
            json.dumps(
                {
                    (f.broker if f.sealing == "on" else f"{f.broker}-unsealed"): {
                        **asdict(f),
                        "exactly_once": f.exactly_once,
                    }
                    for f in runs
                }
            )
        )
    else:
        report(runs)
    failed = [f"{f.broker} (sealing {f.sealing})" for f in runs if not f.exactly_once]
    if failed:
        console.print(f"[bold red]not every task was sent exactly once on {', '.join(failed)}[/]")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
