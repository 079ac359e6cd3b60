"""The morning burst: thousands of tasks become sendable at the same instant, when the window
opens at 08:00 in the borrowers' zone, against a provider that takes R messages a second.

The workload: N New York borrowers whose payment-plan SMS is planned for 07:00 local (the
default strategy, that step moved earlier), so the real planner plans every one for 08:00,
when the quiet hours end. A clock that runs at real speed starts at 07:59:50; the bench
sweeps every second as the scheduler does (``planned → queued``, ids on the queue in
batches) and Dramatiq workers run the real dispatch path, every check on, against the
provider sandbox in its own process, the SMS provider's rate limit set to R a second with a
bucket of ``--burst`` tokens.

Each request is stamped by the worker just before it goes out (``channels.sandbox.stamps``:
the last hook of the HTTP client, bench only), and the sandbox records that stamp beside its
own arrival time. Reported, from both (and from the attempts, which say when each send was
decided):

- sends before the window opened (must be 0, in any record);
- the sustained rate as a share of R, over the drain (first message to the last);
- the highest rate in any one-second window (sliding), against R (at most 1.1 R), on the
  send side (when the requests left the workers: what the rate limit controls) and on the
  receive side (when the sandbox handled them: what a provider would count); and, for the
  rate limit itself, when its log let each request go (the workers append each instant to a
  Redis list in this bench only: ``RateLimiter.record_to``);
- how long each request took from leaving to being handled (p50, p99, max), and, for the
  receive side's busiest second, over how long its requests had been sent: when requests
  sent over more than a second arrive within one, the sandbox bunched them, not the sender;
- the drain time: from the window opening to the last message;
- exactly once: as many attempts, ``attempt.sent`` entries and sandbox messages as tasks;
- how many reserved sends were withdrawn because their turn on the rate limit did not come
  in time (``task.deferred`` in the ledger; they are sent later, not lost).

    python bench/burst.py --tasks 10000 --rate 100
    orchestrator bench burst --tasks 10000 --rate 100 --processes 2 --workers 8
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import tempfile
import time
from bisect import bisect_left
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import redis
import sqlalchemy as sa
import yaml
from dramatiq.brokers.redis import RedisBroker
from rich.console import Console
from rich.table import Table

from bench.dispatch import (
    DEFAULT_DATABASE,
    DEFAULT_REDIS,
    PROFILE,
    TENANT,
    Job,
    account_document,
    admitted_key,
    environment,
    fresh_database,
    ledger_counts,
    platform_config,
    redis_namespace,
    sandbox,
    statuses,
    workers,
)
from channels.sandbox.credentials import sandbox_credentials
from orchestrator import logs
from orchestrator.clock import ScaledClock, VirtualClock
from orchestrator.configuration import versions as config_versions
from orchestrator.configuration.source import ConfigSource, Kind
from orchestrator.dispatch.broker import enqueue_tasks
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.upsert import prepare, write_accounts
from orchestrator.planning.scheduler import sweep
from orchestrator.services import Services
from orchestrator.settings import Settings, load_settings
from orchestrator.store.db import Store
from orchestrator.store.tables import Attempt, LedgerEntry, Task
from orchestrator.tenancy import create_tenant

# Monday 2026-11-23 in New York (EST, UTC-5): planned at 07:00, the window opens at 08:00.
PLANNED_AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPENS = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
LEAD = timedelta(seconds=10)  # the clock starts this long before the window opens
STEP = re.compile(
    r'(\{id: plan_offer, day: 20, channel: sms, template: payment_plan_offer, at: )"11:00"'
)

console = Console(stderr=True, soft_wrap=True)


def strategy_at_seven(settings: Settings) -> str:
    """The shipped strategy with the day-20 payment-plan SMS asked for at 07:00: inside the
    quiet hours, so the planner moves every one to 08:00, when they open."""
    text = (settings.config_dir / "strategies" / "default.yaml").read_text(encoding="utf-8")
    moved, count = STEP.subn(r'\1"07:00"', text)
    if not count:
        raise RuntimeError("the default strategy has no day-20 plan_offer SMS at 11:00 any more")
    return moved


def channels_at_rate(settings: Settings, rate: float, burst: int) -> str:
    """The shipped channel config with the SMS providers at ``rate`` a second, a bucket of
    ``burst``; every other provider unthrottled (the burst is SMS)."""
    document = yaml.safe_load((settings.config_dir / "channels.yaml").read_text(encoding="utf-8"))
    for name, channel in document["channels"].items():
        for provider in channel["providers"]:
            if name == "sms":
                provider["rate_limit"] = {"per_second": rate, "burst": burst}
            else:
                provider["rate_limit"] = {"per_second": 100_000, "burst": 100_000}
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def populate(store: Store, settings: Settings, count: int, rate: float, burst: int) -> int:
    """Tenant, its strategy and channels, ``count`` accounts planned by the real planner;
    how many tasks wait for 08:00."""
    with store.transaction() as conn:
        tenant_id = create_tenant(
            conn, TENANT, name="Bench Lending", now=PLANNED_AT, profile=PROFILE
        )
        for kind, content in (
            (Kind.STRATEGY, strategy_at_seven(settings)),
            (Kind.CHANNELS, channels_at_rate(settings, rate, burst)),
        ):
            config_versions.append(
                conn, TENANT, kind, content, created_by="bench", now=PLANNED_AT, after=None
            )
        prepared = [
            prepare(AccountDocument.model_validate(account_document(i)), now=PLANNED_AT)
            for i in range(count)
        ]
        write_accounts(conn, tenant_id, prepared, now=PLANNED_AT, source="import")
    config = ConfigSource(
        settings.config_dir, settings.templates_dir, store, now=lambda: PLANNED_AT
    )
    services = Services.build(settings, clock=VirtualClock(PLANNED_AT), store=store, config=config)
    stats = services.planner.plan(PLANNED_AT)
    services.redis.close()
    if stats.planned != count:
        raise RuntimeError(f"planned {stats.planned} tasks for {count} accounts: {stats}")
    with store.snapshot() as conn:
        at_eight = conn.execute(
            sa.select(sa.func.count()).select_from(Task).where(Task.not_before == OPENS)
        ).scalar_one()
    if at_eight != count:
        raise RuntimeError(f"{at_eight} of {count} tasks wait for 08:00")
    return int(at_eight)


@dataclass
class Burst:
    tasks: int
    rate: float
    burst: int
    processes: int
    threads: int
    before_window: int  # sandbox messages, sends stamped, and attempts decided, before 08:00
    drain_seconds: float  # window opening to the last message
    sustained_share: float  # sends a second over the drain (sandbox arrivals), as a share of R
    peak_admitted: int  # the most the rate limit's log let go in any one second
    admitted: int  # requests the log let go (a request let go may still find its lease over)
    peak_sent: int  # the most requests that left the workers in any one second
    peak_sent_share: float
    peak_received: int  # the most the sandbox handled in any one second
    peak_received_share: float
    lag_ms: dict[str, float]  # leaving the worker to being handled by the sandbox: p50, p99, max
    # The receive side's busiest second: over how long (s) its requests had been sent, and
    # the most of them sent in one second.
    peak_received_sent_over: float
    peak_received_sent_most: int
    unstamped: int  # messages with no send stamp (should be 0)
    sent: int
    attempts: int
    ledger_sent: int
    provider_messages: int
    provider_recipients: int
    deferred: int  # reservations withdrawn: no turn on the rate limit in time
    other_statuses: dict[str, int]
    per_second_sent: list[int]
    per_second: list[int]  # sandbox arrivals

    @property
    def exactly_once(self) -> bool:
        return (
            self.sent
            == self.attempts
            == self.ledger_sent
            == self.provider_messages
            == self.provider_recipients
            == self.tasks
        )


def peak(times: list[float], width: float = 1.0) -> int:
    """The most events in any window of ``width`` seconds (sliding, not bucketed)."""
    return busiest(times, width)[1]


def busiest(times: list[float], width: float = 1.0) -> tuple[float, int]:
    """The start of the window of ``width`` seconds holding the most events, and how many."""
    ordered = sorted(times)
    best = (0.0, 0)
    for i, t in enumerate(ordered):
        count = bisect_left(ordered, t + width) - i
        if count > best[1]:
            best = (t, count)
    return best


def per_second(times: list[float]) -> list[int]:
    """Events in each whole second from 0 (the window's opening)."""
    counts = [0] * (int(max(times, default=0.0)) + 1)
    for t in times:
        if t >= 0:
            counts[int(t)] += 1
    return counts


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def unconfirmed(store: Store) -> int:
    """Sends left ambiguous (no answer: the provider may have the message). The reconciler
    resolves them, which this bench does not run: they are reported, not waited for."""
    with store.snapshot() as conn:
        return int(
            conn.execute(
                sa.select(sa.func.count())
                .select_from(Attempt)
                .where(Attempt.status == "sending", Attempt.error_code.is_not(None))
            ).scalar_one()
        )


@contextmanager
def sweeping(store: Store, settings: Settings, clock: ScaledClock) -> Iterator[None]:
    """The scheduler's sweep, every second on the run's clock, in this process."""
    import threading

    broker = RedisBroker(url=settings.redis_url, namespace=settings.queue_namespace)  # type: ignore[no-untyped-call]
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            result = sweep(store, clock.now(), stale=timedelta(minutes=5))
            enqueue_tasks(broker, result.queued + result.requeued)
            stop.wait(1.0)

    thread = threading.Thread(target=loop, name="sweep", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(10)
        broker.close()


def run(args: argparse.Namespace) -> Burst:
    burst = args.burst if args.burst is not None else max(1, int(args.rate / 10))
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-burst-")))
        stack.enter_context(environment(sandbox_credentials()))
        url = stack.enter_context(fresh_database(args.database_url))
        namespace = stack.enter_context(redis_namespace(args.redis_url))
        console.log("starting the sandbox")
        provider = stack.enter_context(sandbox("process", folder))
        stack.enter_context(
            environment(
                {
                    "ORCHESTRATOR_SANDBOX_URL": provider.base_url,
                    "ORCHESTRATOR_SANDBOX_SMTP": provider.smtp,
                }
            )
        )
        shipped = load_settings()
        channels = channels_at_rate(shipped, args.rate, burst)
        settings = load_settings(
            config_dir=platform_config(shipped, folder, channels),
            database_url=url,
            redis_url=args.redis_url,
            queue_namespace=namespace,
            public_url="http://127.0.0.1:9",
            log_level=args.log_level,
        )
        store = Store.connect(url)
        stack.callback(store.dispose)
        console.log(f"planning {args.tasks:,} accounts at 07:00 New York time")
        populate(store, settings, args.tasks, args.rate, burst)

        # One clock for every process: 07:59:50 now, running at real speed.
        anchor = time.time() + 5  # the workers start meanwhile
        clock = ScaledClock(OPENS - LEAD, 1.0, anchor)
        opens_wall = anchor + LEAD.total_seconds()
        job = Job(
            "dispatch", settings, args.workers, 100, clock_setting=clock.setting, stamp_sends=True
        )
        console.log(f"the window opens in {opens_wall - time.time():.0f} s; R = {args.rate:g}/s")
        with workers(job, args.processes), sweeping(store, settings, clock):
            deadline = time.monotonic() + args.timeout
            while statuses(store)["sent"] + unconfirmed(store) < args.tasks:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"not drained after {args.timeout:.0f} s: {statuses(store)}")
                time.sleep(0.5)
        messages = provider.messages()
        log = redis.Redis.from_url(args.redis_url)
        admitted = [
            int(at) / 1_000_000 - opens_wall for at in log.lrange(admitted_key(settings), 0, -1)
        ]
        log.close()
        with store.snapshot() as conn:
            deferred = conn.execute(
                sa.select(sa.func.count())
                .select_from(LedgerEntry)
                .where(LedgerEntry.kind == "task.deferred")
            ).scalar_one()
            decided = [
                (at.replace(tzinfo=UTC) if at.tzinfo is None else at) - OPENS
                for at in conn.execute(sa.select(Attempt.at)).scalars()
            ]
        counts = statuses(store)
        attempts, _, ledger_sent = ledger_counts(store)
    # Seconds from the window's opening: when the sandbox handled each message, and when the
    # worker sent it (its stamp).
    pairs = [
        (
            datetime.fromisoformat(m["received_at"]).timestamp() - opens_wall,
            m["sent_at"] - opens_wall if "sent_at" in m else None,
        )
        for m in messages
    ]
    received = [r for r, _ in pairs]
    stamped = [(r, s) for r, s in pairs if s is not None]
    sent_times = [s for _, s in stamped]
    drain = max(received, default=0.0)
    first = min(received, default=0.0)
    start, top = busiest(received)
    in_peak = [s for r, s in stamped if start <= r < start + 1.0]
    top_sent = peak(sent_times)
    lags = [(r - s) * 1000 for r, s in stamped]
    sent = counts.pop("sent", 0)
    return Burst(
        tasks=args.tasks,
        rate=args.rate,
        burst=burst,
        processes=args.processes,
        threads=args.workers,
        before_window=sum(t < 0 for t in received)
        + sum(t < 0 for t in sent_times)
        + sum(d < timedelta(0) for d in decided),
        drain_seconds=round(drain, 2),
        sustained_share=round(len(received) / max(drain - first, 1e-9) / args.rate, 3),
        peak_admitted=peak(admitted),
        admitted=len(admitted),
        peak_sent=top_sent,
        peak_sent_share=round(top_sent / args.rate, 3),
        peak_received=top,
        peak_received_share=round(top / args.rate, 3),
        lag_ms={
            "p50": round(quantile(lags, 0.5), 1),
            "p99": round(quantile(lags, 0.99), 1),
            "max": round(max(lags, default=0.0), 1),
        },
        peak_received_sent_over=round(max(in_peak, default=0) - min(in_peak, default=0), 3),
        peak_received_sent_most=peak(in_peak),
        unstamped=len(pairs) - len(stamped),
        sent=sent,
        attempts=attempts,
        ledger_sent=ledger_sent,
        provider_messages=len(messages),
        provider_recipients=len({m["to"] for m in messages}),
        deferred=int(deferred),
        other_statuses=dict(counts),
        per_second_sent=per_second(sent_times),
        per_second=per_second(received),
    )


def report(result: Burst) -> None:
    table = Table(title=f"The morning burst: {result.tasks:,} SMS at 08:00, R = {result.rate:g}/s")
    for column in ("measure", "figure", "target", ""):
        table.add_column(column, justify="right")
    ideal = result.tasks / result.rate

    def row(name: str, figure: str, target: str, ok: bool) -> None:
        table.add_row(name, figure, target, "[green]pass[/]" if ok else "[red]miss[/]")

    row("sends before 08:00", f"{result.before_window}", "0", result.before_window == 0)
    row(
        "sustained rate",
        f"{result.sustained_share:.3f} R",
        "≥ 0.9 R",
        result.sustained_share >= 0.9,
    )
    table.add_row(
        "highest one-second rate, let go by the log",
        f"{result.peak_admitted} of {result.admitted}",
        f"≤ R + burst ({result.rate + result.burst:g})",
        "",
    )
    row(
        "highest one-second rate, sent",
        f"{result.peak_sent} ({result.peak_sent_share:.2f} R)",
        "≤ 1.1 R",
        result.peak_sent_share <= 1.1,
    )
    row(
        "highest one-second rate, received",
        f"{result.peak_received} ({result.peak_received_share:.2f} R)",
        "≤ 1.1 R",
        result.peak_received_share <= 1.1,
    )
    lag = result.lag_ms
    table.add_row(
        "sent → received (ms)", f"p50 {lag['p50']}, p99 {lag['p99']}, max {lag['max']}", "—", ""
    )
    table.add_row(
        "busiest second received: sent over",
        f"{result.peak_received_sent_over:.2f} s (at most {result.peak_received_sent_most} "
        "in one second)",
        "—",
        "",
    )
    row("drain time", f"{result.drain_seconds:.1f} s", f"≈ {ideal:.0f} s (N / R)", True)
    row("exactly once", "yes" if result.exactly_once else "no", "yes", result.exactly_once)
    row("sends deferred (no turn in time)", f"{result.deferred}", "—", True)
    Console().print(table)
    Console().print(
        f"{result.processes} × {result.threads} threads; bucket of {result.burst}; per second "
        f"from 08:00, sent: {result.per_second_sent[:10]} … {result.per_second_sent[-5:]}; "
        f"received: {result.per_second[:10]} … {result.per_second[-5:]}"
        + (f"; {result.unstamped} messages without a send stamp" if result.unstamped else "")
    )


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; the exit code is 1 when a send went out before the window or a task
    was not sent exactly once (a missed rate target is reported, not an error).

    Parameters:
      argv: command-line arguments (see ``--help``).
    """
    parser = argparse.ArgumentParser(
        prog="orchestrator bench burst",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--tasks", type=int, default=10_000, help="SMS due at 08:00 (10,000)")
    parser.add_argument("--rate", type=float, default=100, help="the provider's R a second (100)")
    parser.add_argument("--burst", type=int, default=None, help="the rate limit's bucket (R / 10)")
    parser.add_argument("--workers", type=int, default=8, help="worker threads a process (8)")
    parser.add_argument("--processes", type=int, default=2, help="worker processes (2)")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE),
        help="PostgreSQL: a schema of the run's own in this database, dropped after",
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for it")
    parser.add_argument("--log-level", default="WARNING", help="the workers' log level")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    logs.configure(level=args.log_level, fmt="json")
    result = run(args)
    if args.json:
        print(json.dumps({**asdict(result), "exactly_once": result.exactly_once}))
    else:
        report(result)
    return 0 if result.before_window == 0 and result.exactly_once else 1


if __name__ == "__main__":
    raise SystemExit(main())
