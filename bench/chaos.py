"""Chaos: the real multi-process topology over a portfolio for virtual days, while it breaks.

Every process is its own, started from ``compose.yaml``'s commands (``bench/topology.py``): 2
APIs, ``--workers`` workers, 2 schedulers and the provider sandbox, on a PostgreSQL server and
a Redis (the broker, the locks, the rate limits) of the run's own, so restarting them
disturbs no one else on the machine. All share one virtual clock (ORCHESTRATOR_CLOCK with
its anchor named). The accounts (``orchestrator.demo.samples``: several countries and zones,
holds, promises to pay) go in first, through two APIs on a clock at real speed, in batches
with generous timeouts and retries under an Idempotency-Key each (a retry gets the first
answer, never a second write; the store's counts are checked after); the chaos's clock then
starts where that one left off, so a slow ingest on a loaded machine costs no virtual hours.
Then, for ``--days`` virtual days, counted from the stack's start:

- a random worker is SIGKILLed every ``--kill-every`` real seconds on average (and replaced);
- the sandbox fails ``--fault-rate`` of requests: a third each 5xx, 429 and hangs;
- Redis restarts once (a third of the way) and PostgreSQL once (two thirds of the way).

Then faults stop and the stack drains. The check is independent of the code under test: it
reads the sandbox's journal (what the providers received) and the store, and reports

- tasks lost: a task whose send time came before the end still not final, or sent by the
  provider's record but recorded otherwise, or recorded sent with no provider record;
- duplicate sends: provider messages beyond the first per task (by idempotency key);
- sends outside a window or over a cap: each provider message checked, at the instant the
  provider received it, against the account's rule pack by the compliance tests' oracle
  (``tests/compliance/oracle.py``), with every earlier message to the account as history;
- every task in a final state.

    python bench/chaos.py --accounts 10000 --days 3 --drain 900 --keep
    python bench/chaos.py --accounts 60 --days 0.05 --workers 2 --threads 2 \
        --kill-every 5 --drain 90 --ingest-during --json          # the suite's
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import orjson
import sqlalchemy as sa
import yaml
from rich.console import Console

from bench.topology import (
    PrivatePostgres,
    PrivateRedis,
    Topology,
    api_key,
    clock_setting,
    free_port,
    private_folder,
    wait_for,
)
from channels.sandbox.credentials import sandbox_credentials
from orchestrator.clock import clock_from_setting
from orchestrator.compliance import PastContact
from orchestrator.configuration import versions as config_versions
from orchestrator.configuration.channel_config import DispatchPolicy
from orchestrator.configuration.source import Kind, load_config
from orchestrator.demo.samples import sample_portfolio
from orchestrator.domain import Channel, ContactKind, Purpose
from orchestrator.settings import load_settings
from orchestrator.simulation.run import load_portfolio
from orchestrator.store.db import Store
from orchestrator.store.keys import generate_key
from orchestrator.store.tables import Account, AccountEvent, Attempt, Task
from tests.compliance.oracle import violations

# A Monday 09:00 in New York: the US day is starting, China's evening is ending.
START = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)
TENANT = "acme"
LEASE_SECONDS = 40  # real seconds (see chaos_channels)
MARGIN_SECONDS = DispatchPolicy().window_margin_seconds  # the shipped margin, real seconds
UNDELIVERED = {"undelivered", "bounced", "failed"}  # reported by the provider, for good
FINAL = {"sent", "delivered", "failed", "blocked", "cancelled", "expired", "unknown"}
PROVIDERS = (
    "twilio_sms",
    "aliyun_sms",
    "sendgrid_email",
    "fcm_push",
    "jpush_push",
    "twilio_voice",
    "dialer_call",
)

console = Console(stderr=True, soft_wrap=True)


@dataclass
class Figures:
    accounts: int
    virtual_days: float
    speed: float
    workers: int
    seconds: float
    worker_kills: int
    redis_restarts: int
    postgres_restarts: int
    fault_rate: float
    tasks: dict[str, int]
    provider_messages: int
    tasks_due: int
    tasks_lost: int
    duplicate_sends: int
    failed_over_after_undelivered: int  # a second route after a report of undelivered
    sent_not_recorded: int
    recorded_not_sent: int
    outside_window_or_over_cap: int
    # Reserved (and checked) inside the window, received by the provider after it closed,
    # within the reservation-to-provider latency (at most 2 real seconds, times the speed):
    # reserved less than the safety margin (dispatch.window_margin_seconds) before the
    # close, which dispatch no longer does ...
    reserved_within_margin: int
    # ... or earlier, and slower to arrive than the margin.
    received_after_window_closed: int
    not_final: int
    planned_after_the_end: int
    examples: list[str] = field(default_factory=list)
    ingest_seconds: float = 0
    # From the chaos clock's start to the end of the chaos: the days plus the stack's start.
    virtual_span_days: float = 0
    ingest_retries: int = 0
    # The 1-minute load average, sampled through the chaos: (lowest, highest).
    load_average: tuple[float, float] = (0.0, 0.0)
    # Field visits handed to the work queue (no provider, so no sandbox record).
    visits_handed_over: int = 0

    @property
    def clean(self) -> bool:
        return (
            self.tasks_lost
            == self.duplicate_sends
            == self.outside_window_or_over_cap
            == self.reserved_within_margin
            == self.not_final
            == 0
        )


def chaos_channels(config_dir: Path) -> str:
    """The shipped channel config fitted to a fast clock: short provider timeouts and quick
    in-call retries, and a send lease of 40 s — all real seconds (dispatch converts them on
    the fast clock): more than the longest send of a provider left at the default 10 s
    timeout (two tries and a wait of 1 s), plus the 10 s the policy asks for."""
    document = yaml.safe_load((config_dir / "channels.yaml").read_text(encoding="utf-8"))
    for channel in document["channels"].values():
        for provider in channel["providers"]:
            if "timeout_seconds" in provider["settings"]:
                provider["settings"]["timeout_seconds"] = 1
            provider["retry"] = {"attempts": 2, "base_seconds": 0.2, "max_seconds": 1}
            provider["rate_limit"] = {"per_second": 1000, "burst": 1000}
    document["dispatch"] = {
        **document.get("dispatch", {}),
        "lease_seconds": LEASE_SECONDS,
        "unknown_after_seconds": 3600,
    }
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def faults(sandbox_url: str, rate: float, hang: float) -> None:
    """``rate`` of every provider's requests fail: a third 5xx, a third 429, a third hang."""
    third = rate / 3
    for provider in PROVIDERS:
        configure(
            f"{sandbox_url}/_sandbox/faults/{provider}",
            {
                "error_rate": third,
                "throttle_rate": third,
                "timeout_rate": third,
                "retry_after_seconds": 1,
                "hang_seconds": hang,
            },
        )


def calm(sandbox_url: str) -> None:
    for provider in PROVIDERS:
        configure(f"{sandbox_url}/_sandbox/faults/{provider}", {})


def configure(url: str, body: dict[str, Any], attempts: int = 6) -> None:
    """PUT a sandbox setting, patiently: on a machine at load 30 the sandbox can take more
    than ten seconds to answer (a timeout there once ended a 10,000-account run after its
    chaos). The PUT sets a value, so trying it again is harmless."""
    for attempt in range(attempts):
        try:
            httpx.put(url, json=body, timeout=60).raise_for_status()
            return
        except httpx.TransportError as exc:
            if attempt == attempts - 1:
                raise
            console.log(f"[yellow]{url}: {type(exc).__name__}; retrying[/]")
            time.sleep(min(2**attempt, 30))


def ingest(
    urls: list[str],
    key: str,
    documents: list[dict[str, Any]],
    *,
    batch: int,
    timeout: float,
    seed: int,
    attempts: int = 8,
) -> int:
    """Send ``documents`` through the APIs at ``urls`` (in turn) in batches of ``batch``, with
    a progress bar; the number of retries. Each batch has its own Idempotency-Key and is sent
    as the same bytes every time, so a retry after a timeout, a cut connection or a 5xx (the
    first request may still be committing) gets the first answer rather than writing again;
    a 409 (the same key still in progress) is waited out. ``timeout`` is per request: on a
    loaded machine a batch can take minutes. Any other answer is an error."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    retries = 0
    with (
        httpx.Client(headers={"Authorization": f"Bearer {key}"}) as client,
        Progress(
            "ingest",
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as progress,
    ):
        bar = progress.add_task("accounts", total=len(documents))
        for number, index in enumerate(range(0, len(documents), batch)):
            body = orjson.dumps({"accounts": documents[index : index + batch]})
            headers = {
                "Content-Type": "application/json",
                "Idempotency-Key": f"chaos-{seed}-{len(documents)}-{index}",
            }
            for attempt in range(attempts):
                url = urls[(number + attempt) % len(urls)]
                try:
                    response = client.post(
                        f"{url}/v1/accounts:batch", content=body, headers=headers, timeout=timeout
                    )
                except httpx.TransportError as exc:
                    problem = f"{type(exc).__name__}: {exc}"
                else:
                    if response.status_code == 200:
                        break
                    if response.status_code not in (409, 429) and response.status_code < 500:
                        raise RuntimeError(
                            f"ingest refused batch {number}: "
                            f"{response.status_code} {response.text[:500]}"
                        )
                    problem = f"{response.status_code} {response.text[:200]}"
                retries += 1
                console.log(f"[yellow]batch {number} ({problem}); retrying[/]")
                time.sleep(min(2**attempt, 30))
            else:
                raise RuntimeError(f"ingest gave up on batch {number} after {attempts} tries")
            progress.advance(bar, len(documents[index : index + batch]))
    return retries


def check_ingested(store: Store, documents: list[dict[str, Any]], *, events: bool) -> None:
    """As many accounts in the store as documents (and account events, with ``events``):
    a retried batch that wrote twice, or a batch lost, raises."""
    with store.snapshot() as conn:
        found = conn.execute(sa.select(sa.func.count()).select_from(Account)).scalar_one()
        found_events = conn.execute(
            sa.select(sa.func.count()).select_from(AccountEvent)
        ).scalar_one()
    expected = sum(len(d.get("events", [])) for d in documents)
    if found != len(documents) or (events and found_events != expected):
        raise RuntimeError(
            f"ingest wrote {found:,} accounts and {found_events:,} events for "
            f"{len(documents):,} documents with {expected:,}: a batch doubled or lost"
        )


def task_counts(store: Store) -> Counter[str]:
    with store.snapshot() as conn:
        return Counter(
            dict(conn.execute(sa.select(Task.status, sa.func.count()).group_by(Task.status)).all())
        )


def due_unsettled(store: Store, end: datetime) -> int:
    with store.snapshot() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(Task)
                .where(Task.not_before <= end, Task.status.not_in(FINAL))
            ).scalar_one()
        )


def run(args: argparse.Namespace) -> Figures:
    rng = random.Random(args.seed)
    # Personal data is sealed at rest: the run's own keys unless the environment has some
    # (this process reads the store too; the stack's processes inherit them).
    for name in ("ORCHESTRATOR_KEK", "ORCHESTRATOR_LOOKUP_KEY"):
        os.environ.setdefault(name, generate_key())
    folder = private_folder("chaos-")
    pg = PrivatePostgres(folder)
    redis_server = PrivateRedis(folder)
    topology = Topology(folder / "run", {})
    topology.folder.mkdir()
    started = time.monotonic()
    kills = 0
    try:
        pg.start()
        redis_server.start()
        ports = [free_port(), free_port()]
        topology.env.update(
            {
                **sandbox_credentials(),
                "DATABASE_URL": pg.url,
                "REDIS_URL": redis_server.url,
                "ORCHESTRATOR_QUEUE_NAMESPACE": "chaos",
                "ORCHESTRATOR_CLOCK": clock_setting(START, 1),
                "ORCHESTRATOR_PUBLIC_URL": f"http://127.0.0.1:{ports[0]}",
                "ORCHESTRATOR_LOG_LEVEL": "WARNING",
                "ORCHESTRATOR_DB_POOL_SIZE": "5",
            }
        )
        settings = load_settings()
        console.log(f"PostgreSQL on {pg.port}, Redis on {redis_server.port}: migrating")
        topology.run(["orchestrator", "db", "upgrade"], timeout=args.setup_timeout)
        key = api_key(
            topology.run(
                [
                    *("orchestrator", "tenants", "create", TENANT),
                    *("--display-name", "Acme Lending", "--support-phone", "+1 212 555 0100"),
                    *("--payment-url", "https://pay.acme.example/{reference}"),
                    *("--contact-person", "Sam Rivera"),
                ],
                timeout=args.setup_timeout,
            )
        )
        store = Store.connect(pg.url, pool_size=2)
        with store.transaction() as conn:
            config_versions.append(
                conn,
                TENANT,
                Kind.CHANNELS,
                chaos_channels(settings.config_dir),
                created_by="chaos",
                now=START,
                after=None,
            )
        documents = sample_portfolio(args.accounts, today=START.date(), seed=args.seed)
        begin, retries, ingest_seconds = START, 0, 0.0

        def timed_ingest(urls: list[str]) -> tuple[int, float]:
            """The portfolio through ``urls``: its retries, and how long it took."""
            started = time.monotonic()
            retries = ingest(
                urls,
                key,
                documents,
                batch=args.batch,
                timeout=args.setup_timeout,
                seed=args.seed,
            )
            return retries, time.monotonic() - started

        if not args.ingest_during:
            # The portfolio goes in first, through two APIs on a clock at real speed: on a
            # loaded machine ingest takes minutes, which at the chaos's speed would be virtual
            # hours with nothing yet planned. The chaos's clock then starts where it left off.
            ingest_apis = topology.apis([free_port(), free_port()], timeout=args.setup_timeout)
            retries, ingest_seconds = timed_ingest([api.url for api in ingest_apis])
            check_ingested(store, documents, events=True)
            begin = clock_from_setting(topology.env["ORCHESTRATOR_CLOCK"]).now()
            for api in ingest_apis:
                api.stop()
                topology.processes.remove(api)
            console.log(f"ingested ({retries} retries); the chaos's clock starts at {begin:%X}")
        topology.env["ORCHESTRATOR_CLOCK"] = clock_setting(begin, args.speed)

        sandbox = topology.sandbox(
            f"http://127.0.0.1:{ports[1]}/v1/webhooks", callback_delay="0.2", seed=str(args.seed)
        )
        # Faults from the first send: on a loaded machine the rest takes a minute or two to
        # start, hours on the fast clock.
        faults(sandbox.url, args.fault_rate, hang=3)
        apis = topology.apis(ports, timeout=args.setup_timeout)
        workers = [topology.worker(threads=args.threads) for _ in range(args.workers)]
        requeue = str(int(60 * args.speed))  # a minute of real time
        for _ in range(2):
            # At INFO, a scheduler logs each change of leadership: how often the lead
            # changed hands under load is read from these logs (docs/RELIABILITY.md).
            topology.scheduler(
                env={"ORCHESTRATOR_LOG_LEVEL": "INFO"},
                plan_every="900",
                sweep_every="1",
                lock_ttl="5",
                requeue_after=requeue,
            )
        if args.ingest_during:
            retries, ingest_seconds = timed_ingest([api.url for api in apis])
            # Not the events: the running stack adds some of its own (replies, reports).
            check_ingested(store, documents, events=False)
        del apis  # they serve webhooks; the loop below watches every process

        # Counted once the stack runs (its start-up, with the faults already on, is extra:
        # ``virtual_span_days`` says how long the clock ran in all), so a start-up slowed
        # by a loaded machine never eats the kills and restarts of a short run.
        length = args.days * 86_400 / args.speed  # real seconds
        chaos_started = time.monotonic()
        events = {length / 3: "redis", 2 * length / 3: "postgres"}
        next_kill = rng.expovariate(1 / args.kill_every)
        console.log(f"chaos for {args.days:g} virtual days ({length:.0f} real seconds)")
        loads: list[float] = []
        while (elapsed := time.monotonic() - chaos_started) < length:
            loads.append(os.getloadavg()[0])
            for at, what in sorted(events.items()):
                if elapsed >= at:
                    del events[at]
                    console.log(f"restarting {what}")
                    (redis_server if what == "redis" else pg).restart()
            if elapsed >= next_kill:
                victim = rng.choice(workers)
                victim.kill()
                kills += 1
                workers[workers.index(victim)] = topology.worker(threads=args.threads)
                next_kill = elapsed + rng.expovariate(1 / args.kill_every)
            for process in topology.processes:
                if not process.alive() and process.name.startswith(("api", "scheduler")):
                    raise RuntimeError(f"{process.name} died:\n{process.tail()}")
            time.sleep(0.5)
        for what in events.values():  # a run too short to reach them still restarts both
            (redis_server if what == "redis" else pg).restart()
        end = clock_from_setting(topology.env["ORCHESTRATOR_CLOCK"]).now()
        console.log(f"chaos over at {end.isoformat()}; draining: {dict(task_counts(store))}")
        calm(sandbox.url)
        try:
            wait_for(lambda: due_unsettled(store, end) == 0, "every task due settled", args.drain)
        except TimeoutError:
            console.log(f"[yellow]drain timed out: {dict(task_counts(store))}[/]")
        figures = check(
            store, folder / "run" / "sandbox.jsonl", documents, end, args, settings.config_dir
        )
        figures.seconds = round(time.monotonic() - started, 1)
        figures.worker_kills = kills
        figures.ingest_seconds = round(ingest_seconds, 1)
        figures.virtual_span_days = round((end - begin) / timedelta(days=1), 2)
        figures.ingest_retries = retries
        figures.load_average = (min(loads, default=0.0), max(loads, default=0.0))
        store.dispose()
        return figures
    finally:
        topology.stop()
        redis_server.stop()
        pg.stop()
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            console.log(f"kept {folder}")


def check(
    store: Store,
    journal_path: Path,
    documents: list[dict[str, Any]],
    end: datetime,
    args: argparse.Namespace,
    config_dir: Path,
) -> Figures:
    """The independent check: the providers' record against the store and the rules."""
    messages = [
        e
        for e in (orjson.loads(line) for line in journal_path.read_bytes().splitlines() if line)
        if e.get("kind") == "message"
    ]
    with store.snapshot() as conn:
        tasks = {
            t.id: t
            for t in conn.execute(
                sa.select(
                    Task.id, Task.status, Task.not_before, Task.purpose, Account.external_id
                ).join(Account, Account.id == Task.account_id)
            )
        }
        attempts = {
            a.ref: a
            for a in conn.execute(
                sa.select(
                    Attempt.ref,
                    Attempt.task_id,
                    Attempt.status,
                    Attempt.channel,
                    Attempt.contact_kind,
                    Attempt.at,
                    Attempt.provider,
                )
            )
        }
    # Some providers (WeChat) keep only the idempotency key, ``task-<id>``: the message is
    # that task's attempt through that provider which the store records as reached.
    reached: dict[tuple[int, str], str] = {}
    for attempt in sorted(attempts.values(), key=lambda a: a.at):
        if attempt.contact_kind != ContactKind.FAILED.value:
            reached[attempt.task_id, attempt.provider] = attempt.ref
    for message in messages:
        key = message.get("idempotency_key") or ""
        if not message.get("attempt_ref") and key.startswith("task-"):
            ref = reached.get((int(key.removeprefix("task-")), message["provider"]))
            message["attempt_ref"] = ref
    per_task: dict[int, list[dict[str, Any]]] = {}
    for message in sorted(messages, key=lambda m: m["received_at"]):
        attempt = attempts.get(message.get("attempt_ref") or "")
        key = message.get("idempotency_key") or ""
        task_id = attempt.task_id if attempt else int(key.removeprefix("task-") or 0)
        per_task.setdefault(task_id, []).append(message)
    # A second message for a task is a duplicate unless every earlier one was reported
    # undelivered for good (a letter returned, a hard bounce): the task then fails over to
    # its next route by design (orchestrator/inbound/delivery.py), a new contact.
    # "Failed" counts only as the provider's report, never as the store's own verdict that
    # an attempt reached no one (released by the reconciler, contact kind "failed"): the
    # provider's journal then shows it did, and a second message is a duplicate.
    duplicates = failed_over = 0
    for sent in per_task.values():
        for index in range(1, len(sent)):
            earlier = [attempts.get(m.get("attempt_ref") or "") for m in sent[:index]]
            if all(
                a is not None
                and a.status in UNDELIVERED
                and a.contact_kind != ContactKind.FAILED.value
                for a in earlier
            ):
                failed_over += 1
            else:
                duplicates += 1
    counts = Counter(t.status for t in tasks.values())
    due = [t for t in tasks.values() if t.not_before <= end]
    not_final = [t.id for t in due if t.status not in FINAL]
    # The provider took the message, but the store says its attempt never reached anyone
    # (failed before sending, or released by the reconciler as never handed over). A
    # delivery report of failure is not this: the provider had the message.
    sent_not_recorded = sorted(
        {
            attempt.task_id
            for message in messages
            if (attempt := attempts.get(message.get("attempt_ref") or "")) is not None
            and attempt.contact_kind == ContactKind.FAILED.value
        }
    )
    # A field visit has no provider: its attempt in the work queue is its only record (the
    # ``visits`` row comes at assignment). A task is handed over once, or it is a duplicate.
    handed_over = Counter(
        a.task_id
        for a in attempts.values()
        if a.channel == "visit" and a.contact_kind != ContactKind.FAILED.value
    )
    duplicates += sum(count - 1 for count in handed_over.values() if count > 1)
    recorded_not_sent = [
        t.id
        for t in tasks.values()
        if t.status in ("sent", "delivered") and t.id not in per_task and t.id not in handed_over
    ]
    broken, late = rule_violations(
        messages, attempts, tasks, documents, config_dir, latency=timedelta(seconds=2 * args.speed)
    )
    margin = timedelta(seconds=MARGIN_SECONDS * args.speed)
    within = [line for line, latency in late if latency < margin]
    after = [line for line, latency in late if latency >= margin]
    lost = len(set(not_final) | set(sent_not_recorded) | set(recorded_not_sent))
    examples = [
        *(f"not final: task {i} ({tasks[i].status})" for i in not_final[:5]),
        *(f"sent, recorded as never sent: task {i}" for i in sent_not_recorded[:5]),
        *(f"recorded sent, no provider record: task {i}" for i in recorded_not_sent[:5]),
        *(f"sent {len(m)} times: task {i}" for i, m in per_task.items() if len(m) > 1),
        *broken[:5],
        *(f"{line}, within the margin" for line in within[:5]),
        *after[:5],
    ]
    return Figures(
        accounts=len(documents),
        virtual_days=args.days,
        speed=args.speed,
        workers=args.workers,
        seconds=0,
        worker_kills=0,
        redis_restarts=1,
        postgres_restarts=1,
        fault_rate=args.fault_rate,
        tasks=dict(counts),
        provider_messages=len(messages),
        tasks_due=len(due),
        tasks_lost=lost,
        duplicate_sends=duplicates,
        failed_over_after_undelivered=failed_over,
        sent_not_recorded=len(sent_not_recorded),
        recorded_not_sent=len(recorded_not_sent),
        visits_handed_over=len(handed_over),
        outside_window_or_over_cap=len(broken),
        reserved_within_margin=len(within),
        received_after_window_closed=len(after),
        not_final=len(not_final),
        planned_after_the_end=len(tasks) - len(due),
        examples=examples,
    )


def rule_violations(
    messages: list[dict[str, Any]],
    attempts: dict[str, Any],
    tasks: dict[int, Any],
    documents: list[dict[str, Any]],
    config_dir: Path,
    *,
    latency: timedelta,
) -> tuple[list[str], list[tuple[str, timedelta]]]:
    """Each provider message against the oracle, at the instant the provider received it,
    with every earlier message to the account as its history (each counted as an attempt:
    what the oracle then allows is never more than the rules do). A message the oracle
    allows at the instant dispatch reserved it, received within ``latency`` of it, is
    returned apart (the second list, with that latency: the window closed within it): on
    a clock running hundreds of times as fast, the fraction of a real second between the
    check and the provider's receipt is minutes."""
    settings = load_settings()
    config = load_config(config_dir, settings.templates_dir)
    accounts, _ = load_portfolio(
        (orjson.dumps(d) for d in documents), config=config, tenant=TENANT, start=START
    )
    by_id = {a.external_id: a for a in accounts}
    history: dict[str, list[PastContact]] = {}
    found: list[str] = []
    late: list[tuple[str, timedelta]] = []
    ordered = sorted(messages, key=lambda m: m["received_at"])
    for message in ordered:
        attempt = attempts.get(message.get("attempt_ref") or "")
        if attempt is None or attempt.task_id not in tasks:
            found.append(f"a provider message no attempt explains: {message.get('attempt_ref')}")
            continue
        task = tasks[attempt.task_id]
        account = by_id[task.external_id]
        at = datetime.fromisoformat(message["received_at"])
        channel = Channel(attempt.channel)
        known = replace(account.facts, events=tuple(e for e in account.facts.events if e.at <= at))
        past = history.setdefault(task.external_id, [])
        purpose = Purpose(task.purpose)
        broken = violations(account.pack, known, past, channel, at, purpose)
        if broken:
            line = f"task {task.id} received {at.isoformat()}: {', '.join(broken)}"
            checked = [p for p in past if p.at <= attempt.at]
            decided = replace(
                account.facts, events=tuple(e for e in account.facts.events if e.at <= attempt.at)
            )
            if at - attempt.at <= latency and not violations(
                account.pack, decided, checked, channel, attempt.at, purpose
            ):
                late.append(
                    (f"{line} (reserved {attempt.at.isoformat()}, allowed then)", at - attempt.at)
                )
            else:
                found.append(line)
        past.append(PastContact(at, channel, ContactKind.ATTEMPT))
    return found, late


def report(figures: Figures) -> None:
    out = Console()
    out.print(
        f"[bold]chaos[/]: {figures.accounts:,} accounts, {figures.virtual_days:g} virtual days "
        f"at {figures.speed:g}x, {figures.workers} workers, {figures.seconds:.0f} s; "
        f"{figures.worker_kills} worker SIGKILLs, Redis and PostgreSQL restarted once, "
        f"{figures.fault_rate:.0%} provider faults"
    )
    out.print(
        f"ingest {figures.ingest_seconds:.0f} s ({figures.ingest_retries} retries); "
        f"load average {figures.load_average[0]:.1f}-{figures.load_average[1]:.1f}"
    )
    out.print(f"tasks: {figures.tasks}; provider messages {figures.provider_messages:,}")
    for name in (
        "tasks_lost",
        "duplicate_sends",
        "failed_over_after_undelivered",
        "outside_window_or_over_cap",
        "reserved_within_margin",
        "received_after_window_closed",
        "not_final",
        "sent_not_recorded",
        "recorded_not_sent",
    ):
        value = getattr(figures, name)
        out.print(f"  {name.replace('_', ' ')}: {'[green]' if not value else '[red]'}{value}[/]")
    for example in figures.examples:
        out.print(f"  [dim]{example}[/]")


def main(argv: list[str] | None = None) -> int:
    """Run the chaos; exit 1 when the check finds a task lost or doubled, a rule broken, or
    a task due that never ended."""
    parser = argparse.ArgumentParser(
        prog="orchestrator bench chaos",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--accounts", type=int, default=10_000, help="portfolio size (10,000)")
    parser.add_argument("--days", type=float, default=3, help="virtual days of chaos (3)")
    parser.add_argument(
        "--speed", type=float, default=240, help="virtual seconds per real second (240)"
    )
    parser.add_argument("--workers", type=int, default=3, help="worker processes (3)")
    parser.add_argument("--threads", type=int, default=4, help="threads a worker (4)")
    parser.add_argument(
        "--kill-every", type=float, default=30, help="mean real seconds between worker kills"
    )
    parser.add_argument("--fault-rate", type=float, default=0.3, help="provider faults (0.3)")
    parser.add_argument("--drain", type=float, default=600, help="real seconds to drain (600)")
    parser.add_argument(
        "--ingest-during",
        action="store_true",
        help="ingest through the stack's own APIs once it runs, on its fast clock, rather "
        "than first through two APIs at real speed: for a small portfolio (it saves "
        "starting two APIs)",
    )
    parser.add_argument("--batch", type=int, default=250, help="accounts per ingest request (250)")
    parser.add_argument(
        "--setup-timeout",
        type=float,
        default=600,
        help="real seconds a setup step (migration, an ingest request, a process start) "
        "may take before it is retried or fails (600)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--keep", action="store_true", help="keep the run's folder and logs")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    figures = run(args)
    if args.json:
        print(json.dumps({**asdict(figures), "clean": figures.clean}))
    else:
        report(figures)
    return 0 if figures.clean else 1


if __name__ == "__main__":
    raise SystemExit(main())
