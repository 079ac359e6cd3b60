"""``orchestrator demo``: the whole system, on the embedded default, in one command.

One process runs every part on one scaled clock (a virtual day in about a minute): the API
over real HTTP, the provider sandbox, a Dramatiq worker on Redis, and the scheduler with its
leader lock. A fresh SQLite store is seeded with a tenant and a few hundred varied accounts
through the batch API; the planner, compliance engine, dispatch and webhooks then do their
work while the screen shows progress, and a summary tells what happened and why. A stand-in
field agent works the field-visit queue over the API (:mod:`orchestrator.demo.ladder`).
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import redis
import sqlalchemy as sa
import uvicorn
from dramatiq import Worker
from dramatiq.brokers.redis import RedisBroker
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from channels.egress import Egress
from channels.registry import adapter_class
from channels.sandbox import OutcomeRates, SandboxSettings, running_sandbox
from channels.sandbox.credentials import sandbox_credentials
from channels.sandbox.field_agent import StandInFieldAgent
from orchestrator import logs
from orchestrator.api.app import create_app
from orchestrator.clock import ScaledClock
from orchestrator.configuration.source import ConfigSource
from orchestrator.demo import borrower, ladder
from orchestrator.demo.lender import LenderReceiver, running_receiver
from orchestrator.demo.samples import sample_portfolio
from orchestrator.dispatch import build_dispatch
from orchestrator.dispatch.actor import declare_send_actor
from orchestrator.dispatch.broker import enqueue_tasks
from orchestrator.errors import ConfigError, ServiceUnavailable
from orchestrator.outbound import endpoints
from orchestrator.outbound.passes import lender_events_pass
from orchestrator.outbound.signing import DEFAULT_TOLERANCE_SECONDS
from orchestrator.planning.scheduler import Scheduler
from orchestrator.services import Services
from orchestrator.settings import Settings
from orchestrator.store.db import Store
from orchestrator.store.keys import development_environment
from orchestrator.store.migrate import upgrade
from orchestrator.store.tables import Account, Attempt, Task
from orchestrator.tenancy import Role, create_tenant, issue_key

TENANT = "demo-lender"
PROFILE = {
    "lender_name": "Northwind Credit",
    "support_phone": "+1 212 555 0100",
    "payment_url": "https://pay.northwind.example/{reference}",
    "contact_person": "Sam Rivera",
    "unsubscribe_url": "https://pay.northwind.example/{reference}/unsubscribe",
}


@dataclass(frozen=True)
class DemoOptions:
    """Parameters:
    accounts: how many sample accounts to seed.
    days: virtual days to run.
    speed: virtual seconds per real second (1,440: a day a minute).
    data_dir: where the demo's database and sandbox log go (recreated each run).
    port: the API's port (0: any free one).
    keep_running: leave the API up after the summary, until Ctrl-C.
    """

    accounts: int = 300
    days: float = 3
    speed: float = 1440
    data_dir: Path = Path("var/demo")
    port: int = 8000
    keep_running: bool = False


class Demo:
    def __init__(self, settings: Settings, options: DemoOptions, console: Console) -> None:
        self.settings = settings
        self.options = options
        self.console = console
        self.visit: borrower.BorrowerVisit | None = None
        self.lender: LenderReceiver | None = None
        self.field_agent: StandInFieldAgent | None = None

    def run(self) -> int:
        options = self.options
        # The live view is the demo's output; the service logs only what needs attention.
        logs.configure(level="WARNING", fmt=self.settings.log_format)
        with ExitStack() as stack:
            redis_url = self._redis(stack)
            data = options.data_dir.resolve()
            shutil.rmtree(data, ignore_errors=True)
            data.mkdir(parents=True)
            today = datetime.now(UTC).date()
            start = datetime(today.year, today.month, today.day, 13, 0, tzinfo=UTC)
            clock = ScaledClock(start, options.speed)
            port = options.port or _free_port()
            if not _port_free(port):
                port = _free_port()
            api_url = f"http://127.0.0.1:{port}"
            os.environ.update(sandbox_credentials())
            # The demo's throwaway database is sealed with the published development keys
            # unless the environment has real ones (never the case in a deployment: a
            # service refuses to start without ORCHESTRATOR_KEK).
            for name, value in development_environment().items():
                os.environ.setdefault(name, value)
            outcomes = OutcomeRates(delivered=0.93, bounced=0.03, stop_reply=0.02)
            sandbox = stack.enter_context(
                running_sandbox(
                    SandboxSettings(
                        port=0,
                        smtp_port=0,
                        log=data / "sandbox.jsonl",
                        callback_base=f"{api_url}/v1/webhooks",
                        callback_delay_seconds=0.3,
                        outcomes=outcomes,
                    ),
                    clock=clock,
                )
            )
            os.environ["ORCHESTRATOR_SANDBOX_URL"] = sandbox.base_url
            os.environ["ORCHESTRATOR_SANDBOX_SMTP"] = (
                f"smtp://{sandbox.smtp_host}:{sandbox.smtp_port}"
            )
            namespace = f"{self.settings.queue_namespace}-demo-{secrets.token_hex(4)}"
            # Registered before anything that writes there, so it runs after they stopped.
            stack.callback(forget_namespace, redis_url, namespace)
            # Adapters that share state in Redis (the WeChat token) read the namespace from
            # the environment: give them the demo's, so it is forgotten with the rest.
            os.environ["ORCHESTRATOR_QUEUE_NAMESPACE"] = namespace
            settings = self.settings.model_copy(
                update={
                    "database_url": f"sqlite:///{data / 'demo.db'}",
                    "redis_url": redis_url,
                    "queue_namespace": namespace,
                    "public_url": api_url,
                    # Messages carry the borrower's self-service link (demo only: a fresh
                    # secret each run; production reads ORCHESTRATOR_LINK_SECRET).
                    "link_secret": secrets.token_urlsafe(32),
                    "self_service_url": api_url,
                    # Fifteen real minutes on the demo's fast clock.
                    "self_service_session_minutes": int(15 * options.speed),
                    # The lender's endpoint below is on loopback (a dev tool may allow it).
                    "allow_loopback_providers": True,
                    # Webhook freshness windows fitted to the fast clock (a copy in data).
                    "config_dir": ladder.config_for_clock(
                        self.settings.config_dir, data, options.speed
                    ),
                }
            )
            # The lender: a receiver that verifies each event's signature. The timestamp is
            # on the demo's clock, so the tolerance is five real seconds of it on top.
            self.lender = stack.enter_context(
                running_receiver(
                    clock.now, DEFAULT_TOLERANCE_SECONDS + int(5 * max(1.0, options.speed))
                )
            )
            store = Store.connect(settings.effective_database_url)
            upgrade(store.engine)
            config = ConfigSource(
                settings.config_dir,
                settings.templates_dir,
                store,
                now=clock.now,
                check_every=timedelta(seconds=5 * options.speed),
            )
            services = Services.build(settings, clock=clock, store=store, config=config)
            with store.transaction() as conn:
                tenant_id = create_tenant(
                    conn, TENANT, name=PROFILE["lender_name"], now=clock.now(), profile=PROFILE
                )
                key = issue_key(conn, tenant_id, role=Role.OPS, now=clock.now(), label="demo")
                _compressed_dispatch_policy(conn, settings, clock)
                _endpoint, self.lender.secret = endpoints.create(
                    conn,
                    tenant_id,
                    url=self.lender.url,
                    description="the demo lender's receiver",
                    event_types=[],
                    egress=Egress(allow_loopback=True),
                    now=clock.now(),
                )
            config.refresh()
            server = uvicorn.Server(
                uvicorn.Config(
                    create_app(services), host="127.0.0.1", port=port, log_level="warning"
                )
            )
            threading.Thread(target=server.run, daemon=True, name="api").start()
            stack.callback(lambda: setattr(server, "should_exit", True))
            _wait(lambda: server.started, "the API")

            broker = RedisBroker(url=redis_url, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]
            stack.callback(broker.close)
            dispatcher, reconciler = build_dispatch(
                services, lambda task_id: enqueue_tasks(broker, [task_id])
            )
            declare_send_actor(
                broker, lambda: dispatcher, min_backoff_ms=1_000, max_backoff_ms=10_000
            )
            worker = Worker(broker, worker_threads=8)
            worker.start()
            stack.callback(lambda: worker.stop(timeout=10_000))
            scheduler = demo_scheduler(
                services,
                clock,
                lambda ids: enqueue_tasks(broker, ids),
                reconcile=reconciler.run,
            )

            http = httpx.Client(
                base_url=api_url, headers={"Authorization": f"Bearer {key}"}, timeout=120
            )
            stack.callback(http.close)
            self._seed(http, clock.now().date(), clock)  # the virtual day it is now
            # Field visits have no provider: a stand-in agent works the queue over HTTP.
            field = stack.enter_context(ExitStack())
            self.field_agent = field.enter_context(ladder.field_agent(api_url, key, clock))
            scheduler.start()
            stack.callback(scheduler.stop)
            # The run's days count from here: on a busy machine, starting and seeding may
            # already have taken virtual hours.
            begun = clock.now()
            end = begun + timedelta(days=options.days)
            self._progress(store, clock, begun, end, data / "sandbox.jsonl", api_url)
            field.close()
            scheduler.stop()
            worker.stop(timeout=10_000)
            self._summary(store, api_url, key, data, port)
            self._borrower_summary(api_url, key)
            self._lender_summary()
            if options.keep_running:
                self.console.print(
                    "\n[bold]The API stays up[/] for you to explore; press Ctrl-C to stop."
                )
                try:
                    while True:
                        time.sleep(1)
                except KeyboardInterrupt:
                    pass
        return 0

    # --- the parts ------------------------------------------------------------------------------

    def _redis(self, stack: ExitStack) -> str:
        """The configured Redis, or a private one for the demo when none answers."""
        url = self.settings.redis_url
        try:
            redis.Redis.from_url(url, socket_connect_timeout=1).ping()
            return url
        except redis.exceptions.RedisError:
            pass
        binary = shutil.which("redis-server")
        if binary is None:
            raise ServiceUnavailable(
                f"Cannot reach Redis at {url} and redis-server is not installed: install Redis "
                "(e.g. `apt-get install redis-server`) or point REDIS_URL at a running one."
            )
        port = _free_port()
        folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="demo-redis-"))
        process = subprocess.Popen(  # noqa: S603 - the machine's own redis-server
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                folder,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def stop() -> None:
            process.terminate()
            process.wait(timeout=10)

        stack.callback(stop)
        url = f"redis://127.0.0.1:{port}/0"
        _wait(lambda: _pings(url), "a private Redis")
        self.console.print(
            f"[dim]No Redis at {self.settings.redis_url}: started a private one on port {port}.[/]"
        )
        return url

    def _seed(self, http: httpx.Client, today: Any, clock: ScaledClock) -> None:
        docs = sample_portfolio(self.options.accounts, today=today)
        # First, so the clock has not moved on (seeding takes virtual hours at demo speed).
        response = http.put(
            f"/v1/accounts/{borrower.EXTERNAL_ID}", json=borrower.borrower_document(today)
        )
        response.raise_for_status()
        with self.console.status(
            f"Seeding {len(docs)} accounts through POST /v1/accounts:batch ..."
        ):
            for start in range(0, len(docs), 100):
                response = http.post(
                    "/v1/accounts:batch", json={"accounts": docs[start : start + 100]}
                )
                response.raise_for_status()
        self.console.print(
            f"Seeded tenant [bold]{TENANT}[/] with {len(docs)} accounts in 10 jurisdictions, "
            f"and [bold]{borrower.EXTERNAL_ID}[/], who will answer from their phone."
        )

    def _progress(
        self,
        store: Store,
        clock: ScaledClock,
        start: datetime,
        end: datetime,
        journal: Path,
        api_url: str,
    ) -> None:
        def view() -> Panel:
            now = clock.now()
            done = min(1.0, (now - start) / (end - start))
            tasks, attempts = _counts(store)
            table = Table.grid(padding=(0, 2))
            table.add_row(
                "[bold]virtual time[/]",
                f"{now:%a %Y-%m-%d %H:%M} UTC  ({done:.0%} of {self.options.days:g} days)",
            )
            table.add_row(
                "[bold]tasks[/]", "  ".join(f"{k} {v}" for k, v in sorted(tasks.items())) or "-"
            )
            table.add_row(
                "[bold]sent[/]", "  ".join(f"{k} {v}" for k, v in sorted(attempts.items())) or "-"
            )
            return Panel(table, title="orchestrator demo", border_style="cyan")

        # As soon as the demo borrower's SMS arrives, they open its link and choose a plan.
        with Live(view(), console=self.console, refresh_per_second=4) as live:
            while clock.now() < end:
                time.sleep(0.5)
                if self.visit is None:
                    self.visit = borrower.visit(journal, api_url, store, clock.now())
                live.update(view())
            # On a busy machine the borrower's SMS may still be on its way: wait for it a
            # little (real seconds), so the run shows the borrower's side too.
            patience = time.monotonic() + 30
            while self.visit is None and time.monotonic() < patience:
                time.sleep(0.5)
                self.visit = borrower.visit(journal, api_url, store, clock.now())
                live.update(view())
            time.sleep(1.0)  # the last callbacks land
            # The chosen plan reaches the lender on the next delivery pass (about a second).
            patience = time.monotonic() + 10
            while (
                self.visit is not None
                and not self.visit.problem
                and self.lender is not None
                and not self.lender.has("plan.chosen", self.visit.external_id)
                and time.monotonic() < patience
            ):
                time.sleep(0.25)
            live.update(view())

    def _borrower_summary(self, api_url: str, key: str) -> None:
        self.console.print("\n[bold]Self-service[/] (a borrower answers from their phone):")
        for line in _borrower_lines(self.visit, api_url, key):
            self.console.print(line, soft_wrap=True, highlight=False, markup=False)

    def _lender_summary(self) -> None:
        if self.lender is None:
            return
        self.console.print("\n[bold]Lender events[/] (signed webhooks to the lender's endpoint):")
        for line in self.lender.lines(borrower.EXTERNAL_ID):
            self.console.print(line, soft_wrap=True, highlight=False, markup=False)

    def _summary(self, store: Store, api_url: str, key: str, data: Path, port: int) -> None:
        with store.snapshot() as conn:
            sent = conn.execute(
                sa.select(Attempt.channel, Attempt.status, sa.func.count())
                .where(Attempt.contact_kind != "failed")
                .group_by(Attempt.channel, Attempt.status)
            ).all()
            providers = conn.execute(
                sa.select(Attempt.provider)
                .where(Attempt.contact_kind != "failed")
                .distinct()
                .order_by(Attempt.provider)
            ).scalars()
            notes = [f"{name}: {note}" for name in providers if (note := _delivery_note(name))]
            tasks = conn.execute(sa.select(Task.status, Task.reasons)).all()
            examples = conn.execute(
                sa.select(Account.external_id, Task.status)
                .join(Account, Account.id == Task.account_id)
                .order_by(Task.id)
            ).all()
        channels = Table(
            "channel",
            "contacts",
            "delivered",
            "other statuses",
            title="Contacts per channel",
            title_justify="left",
        )
        by_channel: dict[str, Counter[str]] = {}
        for channel, status, count in sent:
            by_channel.setdefault(channel, Counter())[status] += count
        for channel, statuses in sorted(by_channel.items()):
            other = ", ".join(f"{s} {n}" for s, n in statuses.items() if s != "delivered")
            channels.add_row(
                channel, str(sum(statuses.values())), str(statuses.get("delivered", 0)), other
            )
        rules: Counter[str] = Counter()
        status_count: Counter[str] = Counter()
        for status, reasons in tasks:
            status_count[status] += 1
            if status in ("blocked", "cancelled", "planned") and reasons:
                rules.update(reasons)
        blocks = Table(
            "rule",
            "contacts moved or refused",
            title="Blocked or moved, by rule",
            title_justify="left",
        )
        for rule, count in rules.most_common(12):
            blocks.add_row(rule, str(count))
        outcome = Table("task status", "tasks", title="Planned contacts", title_justify="left")
        for status, count in status_count.most_common():
            outcome.add_row(status, str(count))
        self.console.print(channels)
        for note in notes:
            # "sent, delivered 0" is no failure when the provider never reports delivery.
            self.console.print(f"  [dim]{note}.[/]", soft_wrap=True, highlight=False)
        self.console.print(Group(outcome, blocks))
        self.console.print("\n[bold]Letters, WeChat and field visits[/] (the ladder's late steps):")
        for line in ladder.summary_lines(store, self.field_agent):
            self.console.print(line, soft_wrap=True, highlight=False, markup=False)
        picks: dict[str, str] = {}
        for external_id, status in examples:
            picks.setdefault(status, external_id)
        database = data / "demo.db"
        serve = f"DATABASE_URL=sqlite:///{database} {orchestrator_command()} api --port {port}"
        self.console.print("\n[bold]Timelines[/] (every decision with its reason):")
        if not self.options.keep_running:
            self.console.print(
                "  The API stopped with the demo: serve the store again first "
                f"(in another terminal: {serve}), then:",
                soft_wrap=True,
                highlight=False,
            )
        for status, external_id in list(picks.items())[:4]:
            command = (
                f"curl -s -H 'Authorization: Bearer {key}' "
                f"{api_url}/v1/accounts/{external_id}/timeline"
            )
            self.console.print(f"  {status:<10} {command}", soft_wrap=True, highlight=False)
        self.console.print(
            f"\nStore: [bold]{database}[/] (serve it again: {serve})\n"
            f"What the providers received: [bold]{data / 'sandbox.jsonl'}[/]\n"
            f"OpenAPI: {api_url}/docs\n"
            f"Dashboard: {api_url}/dashboard#key={key}",
            soft_wrap=True,
            highlight=False,
        )


def _borrower_lines(visit: borrower.BorrowerVisit | None, api_url: str, key: str) -> list[str]:
    """The self-service part of the summary, one line each."""
    if visit is None:
        return [
            f"  {borrower.EXTERNAL_ID}'s SMS had not been sent when the run ended "
            "(its final notice goes at noon New York time; try more --days)."
        ]
    lines = [f"  {visit.external_id} opened {visit.link} (from the SMS of {visit.sms_at[:16]})"]
    if visit.problem:
        return [*lines, f"  and stopped: {visit.problem}."]
    lines.append(f"  passed the second factor and chose: {visit.plan}")
    lines.append(f"  recorded (source self_service): {len(visit.events)} promise(s) to pay")
    lines += [f"    {event}" for event in visit.events]
    if visit.changed:
        lines.append("  its contacts changed at once:")
        lines += [f"    {change}" for change in visit.changed[:6]]
    else:
        lines.append("  it had no contact pending; its next steps wait for the promises.")
    lines.append(
        f"  timeline: curl -s -H 'Authorization: Bearer {key}' "
        f"{api_url}/v1/accounts/{visit.external_id}/timeline"
    )
    return lines


def orchestrator_command(
    argv0: str | None = None, executable: str | None = None, cwd: Path | None = None
) -> str:
    """The command that runs ``orchestrator`` the way this process was started, to print in
    instructions: a bare ``orchestrator`` only when that is what PATH finds; the script's own
    path otherwise (``make demo`` runs ``.venv/bin/orchestrator``, which is not on PATH);
    ``python -m orchestrator`` when started so.

    Parameters:
      argv0 / executable / cwd: ``sys.argv[0]``, ``sys.executable`` and the working folder
        (by default this process's).
    """
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    folder = cwd or Path.cwd()
    if script.name == "orchestrator":
        found = shutil.which("orchestrator")
        if found and Path(found).resolve() == (folder / script).resolve():
            return "orchestrator"
        return _shortest(folder / script, folder)
    return f"{_shortest(Path(executable or sys.executable), folder)} -m orchestrator"


def _shortest(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when it lies inside it (``.venv/bin/...``), else
    absolute."""
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(os.path.abspath(folder))
    except ValueError:
        return str(absolute)
    return str(relative) if str(relative).startswith(".") else f"./{relative}"


def forget_namespace(redis_url: str, namespace: str) -> None:
    """Delete every key of the demo's private Redis namespace (queues, Dramatiq's worker
    heartbeats, rate-limit buckets, the scheduler's lock), so a run leaves nothing behind; the
    store keeps everything worth keeping."""
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    except redis.exceptions.RedisError:
        pass  # Redis went away first (a private one stops with the demo): nothing is left.
    finally:
        client.close()


def _delivery_note(provider: str) -> str:
    try:
        return adapter_class(provider).delivery_note
    except ConfigError:
        return ""


def demo_scheduler(
    services: Services,
    clock: ScaledClock,
    enqueue: Callable[[list[int]], None],
    *,
    reconcile: Callable[[datetime], Any] | None = None,
) -> Scheduler:
    """The demo's scheduler: the production one, its timing fitted to a fast clock.

    Parameters:
      services: the demo's services (store, Redis, planner, namespace).
      clock: the demo's clock; its speed sets the planning period.
      enqueue: puts task ids on the send queue.
      reconcile: the reconciler's pass (a job of its own).
    """
    return Scheduler(
        services.store,
        services.redis,
        clock,
        services.planner,
        enqueue,
        namespace=services.settings.queue_namespace,
        # Periods and thresholds are on the demo's clock: keep them seconds of real time long.
        plan_every=timedelta(seconds=max(900, 2 * clock.speed)),
        sweep_every=timedelta(seconds=1),
        stale_queued=timedelta(seconds=30 * clock.speed),
        reconcile=reconcile,
        lender_events=lender_events_pass(
            services.store,
            clock,
            egress=Egress(allow_loopback=services.settings.allow_loopback_providers),
        ),
    )


def _compressed_dispatch_policy(conn: Any, settings: Settings, clock: ScaledClock) -> None:
    """On a compressed clock a two-minute send lease lasts a tenth of a real second; give the
    demo tenant the longest the policy allows, so no send is reconciled while in flight."""
    import yaml

    from orchestrator.configuration.source import Kind
    from orchestrator.store.tables import ConfigVersion

    document = yaml.safe_load((settings.config_dir / "channels.yaml").read_text(encoding="utf-8"))
    document["dispatch"] = {"lease_seconds": 3600, "unknown_after_seconds": 86_400}
    content = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    conn.execute(
        sa.insert(ConfigVersion).values(
            scope=TENANT,
            kind=Kind.CHANNELS.value,
            name="channels",
            version=1,
            content=content,
            sha256=hashlib.sha256(content.encode()).hexdigest(),
            created_by="demo",
            created_at=clock.now(),
        )
    )


def _counts(store: Store) -> tuple[Counter[str], Counter[str]]:
    with store.snapshot() as conn:
        tasks = Counter(
            dict(conn.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())
        )
        attempts = Counter(
            dict(
                conn.execute(
                    sa.select(Attempt.channel, sa.func.count())
                    .where(Attempt.contact_kind != "failed")
                    .group_by(Attempt.channel)
                ).all()
            )
        )
    return tasks, attempts


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.exceptions.RedisError:
        return False


def _wait(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"{what} did not start within {timeout:g} s.")
        time.sleep(0.05)
