"""Planning benchmark: plan a generated portfolio on PostgreSQL, from 10k to 1M accounts.

For each size (ascending; the portfolio grows between sizes) it
  1. generates the accounts (a realistic mix of countries, zones, channels, amounts, days past
     due and account events) straight into the store with ``COPY``, through the same
     ``prepare`` step intake uses (zones resolved, jurisdiction derived);
  2. builds a day of history: plans the day before and marks what was due as sent, with an
     attempt per contact, so the measured run reads real history and existing tasks;
  3. runs one planning pass (:class:`orchestrator.planning.portfolio.PortfolioPlanner`, the
     scheduler's code) in a fresh child process, timing it and reading the child's peak
     resident memory.

It reports accounts per second over the whole portfolio (the figure the target is stated in:
the planner's job is the portfolio, and an account with nothing due today costs an index
range, not a read) and over the accounts actually read and planned, plus the tasks written.

Each size is measured with personal data sealed at rest (as in production) and without (the
benchmarks' null cipher, ``bench/unsealed.py``), each on a portfolio of its own stored that
way, and the ratio is what sealing costs planning (``--sealing on|off|both``).

    python bench/plan.py --sizes 10000,100000,1000000
    orchestrator bench plan --sizes 10000,100000 --json
"""

from __future__ import annotations

import argparse
import cProfile
import json
import multiprocessing
import random
import resource
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.ingest import DEFAULT_PG, account, fresh_database
from bench.unsealed import HELP as SEALING_HELP
from bench.unsealed import cost, enter, modes, sealing
from orchestrator.intake.document import AccountDocument
from orchestrator.intake.postgres import copy_accounts
from orchestrator.intake.prepared import IntakeResult, PreparedAccount
from orchestrator.intake.upsert import prepare
from orchestrator.store.db import Store
from orchestrator.store.migrate import upgrade
from orchestrator.tenancy import create_tenant

ROOT = Path(__file__).resolve().parents[1]
TENANT = "bench-plan"
TARGET = 30_000  # accounts per second
TEMPLATES = 3_000
COPY_CHUNK = 20_000

# Days past due of a consumer-lending book: a few not yet due, most in the first month,
# a long tail to half a year.
DPD_BANDS = [((-5, -1), 12), ((0, 30), 45), ((31, 60), 22), ((61, 90), 12), ((91, 180), 9)]
# Share of accounts with an event, by type, and when it happened (days before now).
EVENTS = [
    ("payment", 0.04, (1, 20)),
    ("promise_to_pay", 0.04, (0, 5)),
    ("dispute", 0.015, (1, 30)),
    ("cease_communication", 0.005, (1, 60)),
    ("opt_out", 0.01, (1, 60)),
]

console = Console(stderr=True)


@dataclass(frozen=True)
class Figures:
    portfolio: int
    sealing: str  # on | off (bench/unsealed.py)
    read: int  # accounts with a step possibly due today, read and planned
    considered: int  # steps due (new ones)
    tasks: dict[str, int]  # tasks written, by status
    seconds: float
    cpu_seconds: float  # the planning process's own CPU: what a loaded machine blurs least
    peak_rss_mib: float

    @property
    def per_second(self) -> float:
        return self.portfolio / self.seconds

    @property
    def read_per_second(self) -> float:
        return self.read / self.seconds


# --- generating the portfolio ----------------------------------------------------------------


def templates(count: int, rng: random.Random, today: date, now: datetime) -> list[PreparedAccount]:
    """Realistic account documents, validated and prepared once each (zones, jurisdiction);
    the portfolio is made of copies with their own id, due date, amount and addresses."""
    found = []
    for index in range(count):
        doc = account(index, rng, today)
        doc.pop("events", None)
        found.append(prepare(AccountDocument.model_validate(doc), now=now))
    return found


def dpd(rng: random.Random) -> int:
    low, high = rng.choices([b for b, _ in DPD_BANDS], weights=[w for _, w in DPD_BANDS])[0]
    return rng.randint(low, high)


def clone(
    template: PreparedAccount, index: int, rng: random.Random, today: date
) -> PreparedAccount:
    external_id = f"acct-{index:07d}"
    row = dict(template.row)
    row["external_id"] = external_id
    row["due_date"] = today - timedelta(days=dpd(rng))
    row["amount_due"] = Decimal(rng.randint(2_000, 500_000)) / 100
    row["document_hash"] = f"{index:032x}"
    points = [dict(p) for p in template.contact_points]
    for point in points:
        if point["channel"] in ("sms", "call"):
            point["address"] = point["address"][:-4] + f"{index % 10_000:04d}"
        elif point["channel"] == "email":
            point["address"] = f"{external_id}@example.org"
    return PreparedAccount(external_id, row, points, [])


def generate(
    store: Store,
    tenant_id: int,
    start: int,
    stop: int,
    *,
    pool: Sequence[PreparedAccount],
    rng: random.Random,
    now: datetime,
    advance: Callable[[int], None],
) -> None:
    today = now.date()
    for first in range(start, stop, COPY_CHUNK):
        batch = [
            clone(pool[i % len(pool)], i, rng, today)
            for i in range(first, min(first + COPY_CHUNK, stop))
        ]
        result = IntakeResult()
        with store.transaction() as conn:
            copy_accounts(conn, tenant_id, batch, now=now, result=result)
            _copy_events(conn, tenant_id, result.account_ids, rng, now)
        advance(len(batch))


def _copy_events(
    conn: Any, tenant_id: int, ids: dict[str, int], rng: random.Random, now: datetime
) -> None:
    raw = conn.connection.driver_connection
    columns = "tenant_id, account_id, type, at, until, amount, details, source, dedupe_key, "
    columns += "recorded_at"
    with raw.cursor() as cur, cur.copy(f"COPY account_events ({columns}) FROM STDIN") as copy:
        for account_id in ids.values():
            for kind, share, (low, high) in EVENTS:
                if rng.random() >= share:
                    continue
                at = now - timedelta(days=rng.randint(low, high), minutes=rng.randint(0, 1439))
                until = at + timedelta(days=7) if kind == "promise_to_pay" else None
                amount = Decimal("50.00") if kind in ("payment", "promise_to_pay") else None
                copy.write_row(
                    (tenant_id, account_id, kind, at, until, amount, "{}", "import",
                     f"bench-{kind}", now)
                )  # fmt: skip


# --- history: yesterday planned and sent ------------------------------------------------------

_SEND_DUE = """
WITH sent AS (
    UPDATE tasks SET status = 'sent', attempt_count = 1, updated_at = %(now)s
    WHERE tenant_id = %(tenant)s AND status = 'planned' AND not_before <= %(now)s
    RETURNING id, account_id, channel, not_before
)
INSERT INTO attempts (ref, task_id, tenant_id, account_id, channel, provider, address, at,
                      status, contact_kind, updated_at)
SELECT 'bench-' || id, id, %(tenant)s, account_id, channel, 'sandbox', 'bench', not_before,
       'delivered', CASE WHEN channel = 'call' THEN 'conversation' ELSE 'attempt' END, %(now)s
FROM sent
"""


def build_history(url: str, tenant_id: int, now: datetime, days: int, mode: str = "on") -> None:
    """Plan each of the ``days`` days before ``now`` and send what came due."""
    for back in range(days, 0, -1):
        day = now - timedelta(days=back)
        _plan_in_child(url, day, mode=mode)
        store = Store.connect(url)
        try:
            with store.transaction() as conn:
                raw = conn.connection.driver_connection
                with raw.cursor() as cur:
                    cur.execute(_SEND_DUE, {"tenant": tenant_id, "now": day + timedelta(hours=23)})
        finally:
            store.engine.dispose()


def reset_plans(store: Store, tenant_id: int) -> None:
    """Forget every task, attempt and ledger entry: each size is planned from scratch."""
    with store.transaction() as conn:
        for table in ("ledger_entries", "attempts", "tasks"):
            conn.execute(sa.text(f"DELETE FROM {table} WHERE tenant_id = :t"), {"t": tenant_id})


def analyze(url: str) -> None:
    """``VACUUM ANALYZE`` the run's own tables (those of its schema): a bare ``VACUUM
    ANALYZE`` would go through every schema of a shared database (the test suite's
    hundreds), for minutes."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
        tables = conn.exec_driver_sql(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
        ).scalars()
        for table in list(tables):
            conn.exec_driver_sql(f'VACUUM ANALYZE "{schema}"."{table}"')
    engine.dispose()


# --- the measured run -------------------------------------------------------------------------


def _plan_child(url: str, at: str, out: Any, profile: str | None = None, mode: str = "on") -> None:
    from orchestrator.configuration.source import ConfigSource
    from orchestrator.planning.portfolio import PortfolioPlanner

    enter(mode)  # a spawned process: the mode is not inherited
    now = datetime.fromisoformat(at)
    store = Store.connect(url)
    config = ConfigSource(ROOT / "config", ROOT / "templates", store, now=lambda: now)
    planner = PortfolioPlanner(store, config.get)
    config.get()  # loaded before the clock starts, as in a running scheduler
    profiler = cProfile.Profile() if profile else None
    started = time.perf_counter()
    cpu_started = time.process_time()
    if profiler is not None:
        profiler.enable()
    stats = planner.plan(now)
    seconds = time.perf_counter() - started
    cpu_seconds = time.process_time() - cpu_started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    store.engine.dispose()
    out.put(
        {
            "read": stats.accounts,
            "considered": stats.considered,
            "tasks": dict(stats.by_status),
            "seconds": seconds,
            "cpu_seconds": cpu_seconds,
            "peak_rss_mib": rss_kib / 1024,
        }
    )


def _plan_in_child(
    url: str, now: datetime, profile: str | None = None, *, mode: str = "on"
) -> dict[str, Any]:
    context = multiprocessing.get_context("spawn")
    out = context.Queue()
    child = context.Process(target=_plan_child, args=(url, now.isoformat(), out, profile, mode))
    child.start()
    result: dict[str, Any] = out.get()
    child.join()
    if child.exitcode != 0:
        raise RuntimeError(f"the planning process exited with {child.exitcode}")
    return result


def run(
    url: str,
    sizes: Sequence[int],
    *,
    seed: int,
    now: datetime,
    history: int,
    profile: str | None = None,
    mode: str = "on",
) -> Iterator[Figures]:
    rng = random.Random(seed)
    store = Store.connect(url)
    upgrade(store.engine)
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, TENANT, name="Plan benchmark", now=now)
    with console.status("preparing account templates"):
        # Never more templates than the largest portfolio has accounts (a smoke run's few
        # hundred): the portfolio is made of copies of them, one per account at most.
        pool = templates(min(TEMPLATES, max(sizes)), rng, now.date(), now)
    have = 0
    try:
        for size in sizes:
            with _progress() as progress:
                task = progress.add_task(
                    f"generating {size:,} accounts", total=size, completed=have
                )
                generate(
                    store, tenant_id, have, size, pool=pool, rng=rng, now=now,
                    advance=lambda n, task=task: progress.advance(task, n),
                )  # fmt: skip
            have = size
            reset_plans(store, tenant_id)
            with console.status(f"{size:,} accounts: building {history} day(s) of history"):
                build_history(url, tenant_id, now, history, mode)
                analyze(url)
            with console.status(f"{size:,} accounts: planning"):
                result = _plan_in_child(url, now, profile and f"{profile}.{size}", mode=mode)
            figures = Figures(portfolio=size, sealing=mode, **result)
            console.print(
                f"{size:,} accounts, sealing {mode}, planned in {figures.seconds:.1f} s: "
                f"{figures.per_second:,.0f} accounts/s"
            )
            yield figures
    finally:
        store.engine.dispose()


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
    )


def table(results: Sequence[Figures]) -> Table:
    out = Table(title=f"Planning on PostgreSQL (target ≥ {TARGET:,} accounts/s)")
    columns = ("accounts", "sealing", "read", "tasks", "seconds", "CPU s", "accounts/s", "read/s")
    for column in (*columns, "peak MiB"):
        out.add_column(column, justify="right", no_wrap=True)
    out.add_column("target")
    for f in results:
        out.add_row(
            f"{f.portfolio:,}",
            f.sealing,
            f"{f.read:,}",
            f"{sum(f.tasks.values()):,}",
            f"{f.seconds:.2f}",
            f"{f.cpu_seconds:.2f}",
            f"{f.per_second:,.0f}",
            f"{f.read_per_second:,.0f}",
            f"{f.peak_rss_mib:.0f}",
            "met" if f.per_second >= TARGET else "missed",
        )
    return out


def sealing_costs(results: Sequence[Figures]) -> list[str]:
    """Per size measured both ways: how much longer planning takes sealed than unsealed."""
    by = {(f.portfolio, f.sealing): f for f in results}
    lines = []
    for (size, mode), on in by.items():
        off = by.get((size, "off"))
        if mode != "on" or off is None:
            continue
        added = (on.cpu_seconds - off.cpu_seconds) / size * 1e6
        lines.append(
            f"{size:,} accounts: sealing on takes {cost(on.cpu_seconds, off.cpu_seconds)} the "
            f"CPU of sealing off ({on.cpu_seconds:.2f} s / {off.cpu_seconds:.2f} s), "
            f"{added:+.1f} µs per account in the portfolio, "
            f"{added * size / max(on.read, 1):+.1f} µs per account read; wall "
            f"{cost(on.seconds, off.seconds)}"
        )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orchestrator bench plan",
        description="Plan a generated portfolio on PostgreSQL and report accounts per second "
        "and peak memory at each size (the portfolio grows between sizes).",
    )
    parser.add_argument(
        "--sizes",
        default="10000,100000,1000000",
        help="portfolio sizes, ascending, comma separated (default: %(default)s)",
    )
    parser.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="a PostgreSQL database; the run uses a fresh schema in it and drops it after "
        "(default: %(default)s)",
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (default: 7)")
    parser.add_argument(
        "--at",
        default="2026-11-23T15:00:00+00:00",
        help="the planning instant, ISO 8601 with offset (default: %(default)s)",
    )
    parser.add_argument(
        "--history-days",
        type=int,
        default=1,
        help="days planned and sent before the measured run (default: 1)",
    )
    parser.add_argument(
        "--profile",
        metavar="FILE",
        help="profile each measured run with cProfile into FILE.SIZE (read it with "
        "`python -m pstats`); profiled runs are slower",
    )
    parser.add_argument(
        "--sealing", choices=["on", "off", "both"], default="both", help=SEALING_HELP
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    try:
        sizes = [int(s.replace("_", "")) for s in args.sizes.split(",")]
    except ValueError:
        parser.error(f"--sizes must be whole numbers separated by commas, not {args.sizes!r}")
    if sizes != sorted(sizes) or sizes[0] <= 0:
        parser.error("--sizes must be positive and ascending (the portfolio grows)")
    now = datetime.fromisoformat(args.at)
    if now.tzinfo is None:
        parser.error("--at needs a UTC offset, e.g. 2026-11-23T15:00:00+00:00")
    if not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be a PostgreSQL URL (the benchmark uses COPY)")
    results: list[Figures] = []
    for mode in modes(args.sealing):
        with sealing(mode), fresh_database("postgres", args.database_url) as url:
            results += run(
                url,
                sizes,
                seed=args.seed,
                now=now.astimezone(UTC),
                history=args.history_days,
                profile=args.profile and f"{args.profile}.{mode}",
                mode=mode,
            )
    if args.json:
        print(
            json.dumps(
                [
                    asdict(f) | {"per_second": f.per_second, "read_per_second": f.read_per_second}
                    for f in results
                ],
                indent=2,
            )
        )
    else:
        Console().print(table(results))
        for line in sealing_costs(results):
            Console().print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
