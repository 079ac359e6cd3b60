"""Reporting benchmark: the results and the overview's reads over a large portfolio on
PostgreSQL.

It seeds, in its own schema (dropped at the end unless ``--keep``), one tenant with
``--accounts`` accounts whose month of collections all falls in October 2026, straight in
SQL (``generate_series``, one statement per table, indexes built after):

- accounts due from 1 to 28 October, amounts 100-5,099 USD;
- per account ``--tasks`` steps (D+0 SMS, D+3 call, D+7 email), one in five accounts in the
  ``early_call`` challenger; one task in ten blocked by a dispute hold, the rest sent;
- an attempt per sent task: SMS 85 % delivered, 10 % undelivered, 5 % refused; calls 25 %
  answered by the borrower, 30 % voicemail, 10 % not connected, 35 % no answer; email 80 %
  delivered, 20 % bounced;
- a ledger entry per task (one in five deferred by the Reg F call cap, blocked ones naming
  the hold);
- promises to pay from one account in ten (kept by six in ten), payments in full from
  one in twelve.

Then it times, through the same service functions the API calls, the results for October
(every account in a cohort), October standing for the current month under live sending:
counted from the rows (the ceiling); the first read, which keeps the month; reads with
nothing written since; then rounds of ``--live-writes`` writes into October (sends,
delivery reports, payments, promises, tasks that move an account to another arm), each
followed by a read that folds them and a second read; and the count from the rows again,
which the last read must equal. Then the overview's reads (contacts per channel
and status per hour over the last week and per day over the month; blocks and deferrals by
rule over both), each ``--repeat`` times on a warm cache, and reports the median and the
slowest.

    python bench/reporting.py --accounts 1000000
    python bench/reporting.py --accounts 1000000 --repeat 3 --live-writes 1000,10000
    orchestrator bench reporting --accounts 100000 --json
"""

from __future__ import annotations

import argparse
import json
import random
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from bench.ingest import DEFAULT_PG, fresh_database
from orchestrator.api.console.overview import tenant_overview
from orchestrator.clock import SystemClock
from orchestrator.configuration.source import ConfigSource
from orchestrator.reporting.activity import blocks_by_rule, contacts_over_time
from orchestrator.reporting.results import period_results, results
from orchestrator.settings import load_settings
from orchestrator.store.db import Store
from orchestrator.store.migrate import upgrade
from orchestrator.store.rollup import rebuild
from orchestrator.store.tables import Account, Attempt
from orchestrator.tenancy import create_tenant

TENANT = "bench-results"
TARGET_SECONDS = 1.0
PERIOD = (date(2026, 10, 1), date(2026, 11, 1))
NOW = datetime(2026, 11, 1, tzinfo=UTC)
# The indexes migration 0009 adds (for these reads).
REPORTING_INDEXES = (
    "ix_tasks_tenant_id_local_date",
    "ix_attempts_tenant_id_at",
    "ix_account_events_tenant_id_type_at",
    "ix_ledger_entries_tenant_id_at",
)
# A cheap, fixed permutation: pseudo-random percentages that every run reproduces.
_PCT = "((({g})::bigint * 2654435761) % 4294967296 % 100)"

STEPS = (
    # (offset, step id, channel, template)
    (0, "due_today", "sms", "due_today"),
    (3, "first_call", "call", "reminder_call"),
    (7, "formal_notice", "email", "formal_notice"),
)


def _seed_sql(accounts: int, tasks: int) -> list[tuple[str, str]]:
    pct_acct = _PCT.format(g="a.id")
    pct_task = _PCT.format(g="t.id")
    steps = " UNION ALL ".join(
        f"SELECT {i} AS k, {offset} AS offset_days, '{step}' AS step, '{channel}' AS channel, "
        f"'{template}' AS template"
        for i, (offset, step, channel, template) in enumerate(STEPS[:tasks])
    )
    return [
        (
            "accounts",
            f"""
            INSERT INTO accounts (tenant_id, external_id, jurisdiction, borrower_name, locale,
                time_zone, country, region, postal_code, zones, amount_due, currency, due_date,
                product, risk_score, document, document_hash, created_at, updated_at)
            SELECT :tenant, 'acct-' || g, 'US-NY',
                -- Sealed columns are bytea: stored as unsealed UTF-8, which they read as they
                -- read rows written before migration 0007 (the reads timed here open none).
                convert_to('Borrower ' || g, 'UTF8'), 'en-US', NULL, 'US', 'NY',
                convert_to('10001', 'UTF8'), 'America/New_York', 100 + g % 5000, 'USD',
                DATE '2026-10-01' + (g % 28), 'bnpl', NULL, convert_to('{{}}', 'UTF8'),
                md5(g::text),
                :now, :now
            FROM generate_series(1, {accounts}) AS g""",
        ),
        (
            "tasks",
            f"""
            INSERT INTO tasks (tenant_id, account_id, strategy, step, variant, channel,
                template, purpose, fallback, local_date, not_before, not_after, expires_at,
                status, attempt_count, lease_until, reasons, created_at, updated_at)
            SELECT :tenant, a.id, 'default@file', 'standard.' || s.step,
                CASE WHEN {pct_acct} < 20 THEN 'early_call' ELSE 'champion' END,
                s.channel, s.template, 'collection', '[]'::jsonb,
                a.due_date + s.offset_days,
                ((a.due_date + s.offset_days) + TIME '14:00') AT TIME ZONE 'UTC',
                ((a.due_date + s.offset_days) + TIME '22:00') AT TIME ZONE 'UTC',
                ((a.due_date + s.offset_days + 2) + TIME '04:00') AT TIME ZONE 'UTC',
                CASE WHEN ({pct_acct} + s.k * 37) % 100 < 10 THEN 'blocked' ELSE 'sent' END,
                1, NULL,
                CASE WHEN ({pct_acct} + s.k * 37) % 100 < 10 THEN '["hold.dispute"]'::jsonb
                     ELSE '[]'::jsonb END,
                :now, :now
            FROM accounts a CROSS JOIN ({steps}) AS s
            WHERE a.tenant_id = :tenant""",
        ),
        (
            "attempts",
            f"""
            INSERT INTO attempts (ref, task_id, tenant_id, account_id, channel, provider,
                address, at, status, contact_kind, call_outcome, provider_message_id,
                error_code, error_message, segments, subject, body, lease_until, updated_at)
            SELECT 'att-' || t.id, t.id, t.tenant_id, t.account_id, t.channel,
                CASE t.channel WHEN 'sms' THEN 'twilio_sms' WHEN 'call' THEN 'twilio_voice'
                     ELSE 'sendgrid_email' END,
                convert_to(CASE t.channel WHEN 'email' THEN 'b@example.org'
                                ELSE '+12125550123' END, 'UTF8'),
                t.not_before,
                CASE WHEN t.channel = 'sms' AND {pct_task} < 85 THEN 'delivered'
                     WHEN t.channel = 'sms' AND {pct_task} < 95 THEN 'undelivered'
                     WHEN t.channel = 'sms' THEN 'failed'
                     WHEN t.channel = 'email' AND {pct_task} < 80 THEN 'delivered'
                     WHEN t.channel = 'email' THEN 'bounced'
                     ELSE 'delivered' END,
                CASE WHEN t.channel = 'sms' AND {pct_task} >= 95 THEN 'failed'
                     WHEN t.channel <> 'call' THEN 'attempt'
                     WHEN {pct_task} < 25 THEN 'conversation'
                     WHEN {pct_task} < 55 THEN 'limited_content'
                     WHEN {pct_task} < 65 THEN 'not_connected'
                     ELSE 'attempt' END,
                NULL, 'pm-' || t.id, NULL, NULL, NULL, NULL, NULL, NULL, t.not_before
            FROM tasks t
            WHERE t.tenant_id = :tenant AND t.status = 'sent'""",
        ),
        (
            "account_events",
            f"""
            INSERT INTO account_events (tenant_id, account_id, type, at, until, channel,
                amount, details, source, event_id, content_hash, dedupe_key, recorded_at)
            SELECT a.tenant_id, a.id, e.type,
                ((a.due_date + e.after_days) + TIME '15:00') AT TIME ZONE 'UTC',
                CASE WHEN e.type = 'promise_to_pay'
                     THEN ((a.due_date + 15) + TIME '23:59') AT TIME ZONE 'UTC' END,
                NULL, e.amount, '{{}}'::jsonb, 'api', NULL, NULL,
                e.type || '-' || a.id, :now
            FROM accounts a CROSS JOIN LATERAL (
                SELECT 'promise_to_pay' AS type, 8 AS after_days, 100::numeric AS amount
                WHERE {pct_acct} < 10
                UNION ALL
                SELECT 'payment', 12, 100::numeric WHERE {pct_acct} < 6
                UNION ALL
                SELECT 'payment', 5, a.amount_due WHERE {pct_acct} >= 90 AND {pct_acct} < 98
            ) AS e
            WHERE a.tenant_id = :tenant""",
        ),
        (
            "ledger_entries",
            f"""
            INSERT INTO ledger_entries (tenant_id, account_id, task_id, attempt_id, at, kind,
                channel, rules, message, data)
            SELECT t.tenant_id, t.account_id, t.id, NULL, t.not_before,
                CASE WHEN t.status = 'blocked' THEN 'task.blocked' ELSE 'task.planned' END,
                t.channel,
                CASE WHEN t.status = 'blocked' THEN t.reasons
                     WHEN {pct_task} < 20 THEN '["us.reg_f.call_frequency_7d"]'::jsonb
                     ELSE '[]'::jsonb END,
                'planned', '{{}}'::jsonb
            FROM tasks t
            WHERE t.tenant_id = :tenant""",
        ),
    ]


TABLES = ("accounts", "tasks", "attempts", "account_events", "ledger_entries")


def seed(store: Store, accounts: int, tasks: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Seed the portfolio as a bulk load does: the tables' plain indexes (migration 0009's
    among them) are dropped first and built again after the rows, foreign keys are not
    checked row by row (the rows are made to fit them). Returns the rows per table and the
    seconds each step took."""
    figures: dict[str, Any] = {"rows": {}, "seconds": {}}
    with store.transaction() as conn:
        tenant_id = create_tenant(conn, TENANT, name="Bench results", now=NOW)
        indexes = conn.execute(
            sa.text(
                """SELECT i.indexname, i.indexdef FROM pg_indexes i
                WHERE i.schemaname = current_schema() AND i.tablename IN :tables
                  AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                  WHERE c.conname = i.indexname
                                    AND c.connamespace = current_schema()::regnamespace)"""
            ).bindparams(sa.bindparam("tables", expanding=True)),
            {"tables": list(TABLES)},
        ).all()
        for name, _ in indexes:
            conn.execute(sa.text(f'DROP INDEX "{name}"'))
    assert set(REPORTING_INDEXES) <= {name for name, _ in indexes}, "migration 0009 is missing"
    for table, sql in _seed_sql(accounts, tasks):
        say(f"seeding {table}")
        began = time.perf_counter()
        with store.transaction() as conn:
            conn.execute(sa.text("SET LOCAL synchronous_commit = off"))
            conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            count = conn.execute(sa.text(sql), {"tenant": tenant_id, "now": NOW}).rowcount
        figures["rows"][table] = count
        figures["seconds"][table] = round(time.perf_counter() - began, 1)
    say(f"building {len(indexes)} indexes")
    began = time.perf_counter()
    with store.transaction() as conn:
        conn.execute(sa.text("SET LOCAL maintenance_work_mem = '256MB'"))
        for _, definition in indexes:
            conn.execute(sa.text(definition))
    figures["seconds"]["indexes"] = round(time.perf_counter() - began, 1)
    say("VACUUM ANALYZE")
    began = time.perf_counter()
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in TABLES:
            conn.execute(sa.text(f"VACUUM ANALYZE {table}"))
    figures["seconds"]["vacuum_analyze"] = round(time.perf_counter() - began, 1)
    # The rows went in without triggers (replica role): count them as migration 0011's
    # backfill and `orchestrator db rollups --rebuild` do.
    say("recounting the overview's totals (the backfill)")
    began = time.perf_counter()
    with store.transaction() as conn:
        rebuild(conn, [tenant_id])
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM ANALYZE rollup_totals"))
    figures["seconds"]["rollup_backfill"] = round(time.perf_counter() - began, 1)
    figures["tenant_id"] = tenant_id
    return figures


def _time(store: Store, repeat: int, query: Callable[[Any], Any]) -> tuple[list[float], Any]:
    times = []
    answer = None
    for _ in range(repeat):
        with store.snapshot() as conn:
            began = time.perf_counter()
            answer = query(conn)
            times.append(time.perf_counter() - began)
    return times, answer


def measure(
    store: Store, tenant_id: int, repeat: int, live: Sequence[int] = (1_000, 10_000)
) -> list[dict[str, Any]]:
    settings = load_settings()
    config = ConfigSource(
        settings.config_dir, settings.templates_dir, None, now=SystemClock().now
    ).get()
    channels = config.channels_for(TENANT)
    citations = config.pack_for("US-NY", TENANT).citations()
    week = (NOW - timedelta(days=7), NOW)
    month = (datetime(2026, 10, 1, tzinfo=UTC), NOW)
    queries: list[tuple[str, Callable[[Any], Any], Callable[[Any], str]]] = [
        (
            "contacts per hour, channel, status: last 7 days",
            lambda conn: contacts_over_time(
                conn, tenant_id=tenant_id, since=week[0], until=week[1], bucket="hour"
            ),
            lambda r: f"{sum(c.count for c in r):,} attempts, {len(r):,} rows",
        ),
        (
            "contacts per day, channel, status: October",
            lambda conn: contacts_over_time(
                conn, tenant_id=tenant_id, since=month[0], until=month[1], bucket="day"
            ),
            lambda r: f"{sum(c.count for c in r):,} attempts, {len(r):,} rows",
        ),
        (
            "blocks and deferrals by rule: last 7 days",
            lambda conn: blocks_by_rule(
                conn, tenant_id=tenant_id, since=week[0], until=week[1], citations=citations
            ),
            lambda r: f"{sum(x.blocked + x.deferred for x in r):,} decisions, {len(r)} rules",
        ),
        (
            "blocks and deferrals by rule: October",
            lambda conn: blocks_by_rule(
                conn, tenant_id=tenant_id, since=month[0], until=month[1], citations=citations
            ),
            lambda r: f"{sum(x.blocked + x.deferred for x in r):,} decisions, {len(r)} rules",
        ),
    ]
    # The overview page's reads together (console/overview.py), over its week and a month.
    for days in (7, 30):
        queries.append(
            (
                f"overview page's reads: last {days} days",
                lambda conn, days=days: tenant_overview(
                    conn, tenant_id, now=NOW, days=days, config=config, tenant=TENANT
                ),
                lambda r: f"{r.contacts:,} contacts, {len(r.rules)} rules, {r.accounts:,} accounts",
            )
        )
    # The ceiling these are compared with: the same month counted from the rows, as the
    # overview read it before the kept counts (one index-only range scan).
    queries.append(
        (
            "(ceiling) contacts per day, October, counted from the rows",
            lambda conn: _from_rows(conn, tenant_id, month[0], month[1]),
            lambda r: f"{sum(r.values()):,} attempts, {len(r):,} rows",
        )
    )
    figures = _results(store, tenant_id, channels, repeat, live)
    for name, query, describe in queries:
        times, answer = _time(store, repeat, query)
        figures.append(
            {
                "query": name,
                "median_s": round(statistics.median(times), 3),
                "max_s": round(max(times), 3),
                "answer": describe(answer),
                "result": answer,
            }
        )
    return figures


def _results(
    store: Store, tenant_id: int, channels: Any, repeat: int, live: Sequence[int]
) -> list[dict[str, Any]]:
    """October's results as ``GET /v1/results`` reads them (``period_results``), October
    standing for the current month under live sending:

    - the ceiling: the month counted from the rows (``results``, the exact path);
    - the first read, which keeps the month (every account's rows, then their totals);
    - reads with nothing written since (the totals);
    - for each size in ``live``, ``repeat`` rounds of that many writes into October (sends,
      delivery reports, payments, promises, tasks dated before an account's first one in
      another arm), each followed by a read (which folds them: the accounts written to
      recomputed, the totals moved) and a second read;
    - the ceiling again, after all the writes, which the last read must equal.
    """

    def read() -> Any:
        return period_results(
            store,
            tenant_id=tenant_id,
            tenant=TENANT,
            start=PERIOD[0],
            end=PERIOD[1],
            channels=channels,
            now=NOW,
        )

    def count() -> Any:
        with store.snapshot() as conn:
            return results(
                conn,
                tenant_id=tenant_id,
                tenant=TENANT,
                start=PERIOD[0],
                end=PERIOD[1],
                channels=channels,
            )

    def describe(r: Any) -> str:
        return f"{sum(a.accounts for a in r.arms):,} accounts in {len(r.arms)} arms"

    def row(name: str, took: list[float], answer: Any, extra: str = "") -> dict[str, Any]:
        return {
            "query": name,
            "median_s": round(statistics.median(took), 4),
            "max_s": round(max(took), 4),
            "answer": describe(answer) + extra,
            "result": answer,
        }

    def timed(call: Callable[[], Any], times: int) -> tuple[list[float], Any]:
        took = []
        answer = None
        for _ in range(times):
            began = time.perf_counter()
            answer = call()
            took.append(time.perf_counter() - began)
        return took, answer

    out = [row(CEILING, *timed(count, 1))]
    out.append(row("results, October: first read (keeps the month)", *timed(read, 1)))
    out.append(row(KEPT, *timed(read, repeat)))
    writer = _LiveWrites(store, tenant_id)
    for size in live:
        folds: list[float] = []
        after: list[float] = []
        dirty: list[int] = []
        answer = None
        for _ in range(repeat):
            dirty.append(writer.write(size))
            began = time.perf_counter()
            answer = read()
            folds.append(time.perf_counter() - began)
            took, answer = timed(read, 1)
            after += took
        accounts = f"; {min(dirty):,}-{max(dirty):,} accounts written to"
        out.append(
            row(f"results, October: read after {size:,} writes (fold)", folds, answer, accounts)
        )
        out.append(row(f"results, October: read again after {size:,} writes", after, answer))
    out.append(row(CEILING_AFTER, *timed(count, 1)))
    out.append(row(LAST_READ, *timed(read, 1)))
    with store.snapshot() as conn:
        sizes = conn.execute(
            sa.text(
                "SELECT pg_total_relation_size('results_accounts'), "
                "pg_total_relation_size('results_totals'), "
                "(SELECT count(*) FROM results_accounts)"
            )
        ).one()
    out[-1]["answer"] += (
        f"; results_accounts {sizes[2]:,} rows, {sizes[0] / 2**20:,.0f} MiB; "
        f"results_totals {sizes[1] / 2**10:,.0f} KiB"
    )
    return out


CEILING = "(ceiling) results, October, counted from the rows"
CEILING_AFTER = "(ceiling) results, October, counted from the rows after the writes"
KEPT = "results, October, kept, nothing written since (GET /v1/results)"
LAST_READ = "results, October, kept, after the writes"


class _LiveWrites:
    """Writes into October as live sending does, in transactions of 100 accounts each:
    of every 16 accounts written to, 8 get a send (an attempt queued), 4 a delivery report
    (an attempt's status moved), 2 a payment, 1 a promise, 1 a task dated the day before its
    first one, in the ``late_sms`` arm (the account changes cohort)."""

    def __init__(self, store: Store, tenant_id: int) -> None:
        self.store = store
        self.tenant_id = tenant_id
        self.rng = random.Random(20261128)
        self.round = 0
        with store.snapshot() as conn:
            low, high = conn.execute(
                sa.select(sa.func.min(Account.id), sa.func.max(Account.id)).where(
                    Account.tenant_id == tenant_id
                )
            ).one()
        self.ids = (int(low), int(high))

    def write(self, size: int) -> int:
        """``size`` writes, one per account; how many accounts were written to."""
        self.round += 1
        accounts = self.rng.sample(range(self.ids[0], self.ids[1] + 1), size)
        kinds = ["send"] * 8 + ["report"] * 4 + ["payment"] * 2 + ["promise", "arm"]
        for at in range(0, size, 100):
            chunk = accounts[at : at + 100]
            picked: dict[str, list[int]] = {kind: [] for kind in kinds}
            for n, account in enumerate(chunk):
                picked[kinds[n % len(kinds)]].append(account)
            with self.store.transaction() as conn:
                for kind, ids in picked.items():
                    if ids:
                        self._write(conn, kind, ids)
        return size

    def _write(self, conn: Any, kind: str, accounts: list[int]) -> None:
        params = {"t": self.tenant_id, "ids": accounts, "r": self.round}
        first = (
            "SELECT DISTINCT ON (account_id) id, account_id, local_date FROM tasks "
            "WHERE tenant_id = :t AND account_id = ANY(:ids) ORDER BY account_id, local_date, id"
        )
        sql = {
            "send": f"""
                INSERT INTO attempts (ref, task_id, tenant_id, account_id, channel, provider,
                    address, at, status, contact_kind, updated_at)
                SELECT 'live-' || :r || '-' || f.id, f.id, :t, f.account_id, 'sms',
                    'twilio_sms', convert_to('+12125550123', 'UTF8'),
                    TIMESTAMPTZ '2026-10-29 15:00+00', 'queued', 'attempt',
                    TIMESTAMPTZ '2026-10-29 15:00+00'
                FROM ({first}) f""",
            "report": """
                UPDATE attempts SET status = CASE WHEN status = 'delivered' THEN 'undelivered'
                    ELSE 'delivered' END
                WHERE id IN (SELECT DISTINCT ON (account_id) id FROM attempts
                             WHERE tenant_id = :t AND account_id = ANY(:ids) AND channel = 'sms'
                             ORDER BY account_id, id DESC)""",
            "payment": """
                INSERT INTO account_events (tenant_id, account_id, type, at, amount, details,
                    source, dedupe_key, recorded_at)
                SELECT :t, a, 'payment', TIMESTAMPTZ '2026-10-30 10:00+00', 25.50, '{}',
                    'api', 'live-pay-' || :r || '-' || a, TIMESTAMPTZ '2026-10-30 10:00+00'
                FROM unnest(CAST(:ids AS bigint[])) a""",
            "promise": """
                INSERT INTO account_events (tenant_id, account_id, type, at, until, amount,
                    details, source, dedupe_key, recorded_at)
                SELECT :t, a, 'promise_to_pay', TIMESTAMPTZ '2026-10-27 10:00+00',
                    TIMESTAMPTZ '2026-10-31 23:00+00', 50, '{}', 'api',
                    'live-promise-' || :r || '-' || a, TIMESTAMPTZ '2026-10-27 10:00+00'
                FROM unnest(CAST(:ids AS bigint[])) a""",
            "arm": f"""
                INSERT INTO tasks (tenant_id, account_id, strategy, step, variant, channel,
                    template, purpose, fallback, local_date, not_before, not_after,
                    expires_at, status, attempt_count, reasons, created_at, updated_at)
                SELECT :t, f.account_id, 'default@file', 'standard.pre_' || :r, 'late_sms',
                    'sms', 'due_today', 'collection', '[]'::jsonb,
                    GREATEST(f.local_date - 1, DATE '2026-10-01'),
                    TIMESTAMPTZ '2026-10-01 14:00+00', TIMESTAMPTZ '2026-10-01 22:00+00',
                    TIMESTAMPTZ '2026-10-03 04:00+00', 'sent', 1, '[]'::jsonb,
                    TIMESTAMPTZ '2026-10-01 00:00+00', TIMESTAMPTZ '2026-10-01 00:00+00'
                FROM ({first}) f
                WHERE f.local_date >= DATE '2026-10-01'""",
        }[kind]
        conn.execute(sa.text(sql), params)


def _from_rows(conn: Any, tenant_id: int, since: datetime, until: datetime) -> dict[Any, int]:
    day = sa.func.date_trunc("day", sa.func.timezone("UTC", Attempt.at))
    return {
        (row[0], row[1], row[2]): int(row[3])
        for row in conn.execute(
            sa.select(day, Attempt.channel, Attempt.status, sa.func.count())
            .where(Attempt.tenant_id == tenant_id, Attempt.at >= since, Attempt.at < until)
            .group_by(day, Attempt.channel, Attempt.status)
        )
    }


def check(figures: list[dict[str, Any]]) -> None:
    """The kept counts and the kept month must say what the rows say."""
    by_name = {f["query"]: f["result"] for f in figures}
    counted = by_name[CEILING]
    for name in ("results, October: first read (keeps the month)", KEPT):
        assert by_name[name] == counted, f"{name}: the kept month differs from the count"
    assert by_name[LAST_READ] == by_name[CEILING_AFTER], "the kept month differs from the count"
    for f in figures:
        if "after" in f["query"] and "writes" in f["query"] and "(ceiling)" not in f["query"]:
            assert f["result"] is not None
    kept = by_name["contacts per day, channel, status: October"]
    rows = by_name["(ceiling) contacts per day, October, counted from the rows"]
    assert {(c.start.replace(tzinfo=None), c.channel, c.status): c.count for c in kept} == rows, (
        "the kept counts differ from the rows"
    )


def run(
    accounts: int,
    tasks: int,
    repeat: int,
    url: str,
    keep: bool,
    say: Callable[[str], None],
    live: Sequence[int] = (1_000, 10_000),
) -> dict[str, Any]:
    with _schema(url, keep) as database:
        store = Store.connect(database, pool_size=2)
        try:
            upgrade(store.engine)
            seeded = seed(store, accounts, tasks, say)
            say("timing the queries")
            timed = measure(store, seeded["tenant_id"], repeat, live)
            check(timed)
        finally:
            store.dispose()
    return {"accounts": accounts, "tasks_per_account": tasks, "seed": seeded, "queries": timed}


@contextmanager
def _schema(url: str, keep: bool) -> Iterator[str]:
    """A schema of its own: dropped afterwards, or kept (``--keep``) for EXPLAIN by hand."""
    if not keep:
        with fresh_database("postgres", url) as database:
            yield database
        return
    name = f"bench_keep_{secrets.token_hex(4)}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{name}"'))
    admin.dispose()
    print(f"schema {name} is kept: DROP SCHEMA {name} CASCADE when done", file=sys.stderr)
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options={quote(f'-csearch_path={name}')}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="orchestrator bench reporting",
        description=(
            "Seed a portfolio on PostgreSQL and time the results and the overview's reads "
            f"(target: each under {TARGET_SECONDS:g} s at 1M accounts)."
        ),
    )
    parser.add_argument("--accounts", type=int, default=1_000_000, help="default: 1,000,000")
    parser.add_argument(
        "--tasks", type=int, default=3, choices=(1, 2, 3), help="steps per account (default: 3)"
    )
    parser.add_argument("--repeat", type=int, default=5, help="runs of each query (default: 5)")
    parser.add_argument(
        "--postgres-url", default=DEFAULT_PG, help="a PostgreSQL server (default: %(default)s)"
    )
    parser.add_argument(
        "--live-writes",
        default=None,
        help=(
            "sizes of the rounds of writes into the month between reads, comma-separated "
            "(default: 1000,10000, or a tenth of --accounts when fewer)"
        ),
    )
    parser.add_argument("--keep", action="store_true", help="keep the schema afterwards")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)
    if args.accounts <= 0 or args.repeat <= 0:
        parser.error("--accounts and --repeat must be positive")
    try:
        live = (
            [s for s in (1_000, 10_000) if s <= args.accounts] or [max(1, args.accounts // 10)]
            if args.live_writes is None
            else [int(size) for size in args.live_writes.split(",") if size.strip()]
        )
    except ValueError:
        parser.error(f"--live-writes: a comma-separated list of counts, not {args.live_writes!r}")
    if any(size <= 0 or size > args.accounts for size in live):
        parser.error(f"--live-writes: each size from 1 to --accounts ({args.accounts:,})")
    console = Console(stderr=True)
    with console.status("starting") as status:
        figures = run(
            args.accounts,
            args.tasks,
            args.repeat,
            args.postgres_url,
            args.keep,
            status.update,
            live,
        )
    for query in figures["queries"]:
        query.pop("result")
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    seeded = figures["seed"]
    console.print(
        f"Seeded {figures['accounts']:,} accounts: "
        + ", ".join(f"{table} {rows:,}" for table, rows in seeded["rows"].items())
        + "; seconds: "
        + ", ".join(f"{step} {s}" for step, s in seeded["seconds"].items())
    )
    table = Table(title=f"Reporting reads (target: < {TARGET_SECONDS:g} s each)")
    table.add_column("query")
    table.add_column("median s", justify="right")
    table.add_column("slowest s", justify="right")
    table.add_column("answer")
    for query in figures["queries"]:
        table.add_row(
            query["query"], f"{query['median_s']:.3f}", f"{query['max_s']:.3f}", query["answer"]
        )
    Console().print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
