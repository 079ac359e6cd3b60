"""Planning a portfolio from the store, in batches, and re-planning accounts when events arrive.

The planner's decisions are pure (:mod:`orchestrator.planning.planner`); this module feeds
it chunks of accounts (with their facts, history and existing tasks, each read with one query
per chunk) and writes the tasks it plans. A task is unique per (tenant, account, step, step
date): the store enforces it, so planning twice, or from two processes at once, plans each step
once.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import ledger, tracing
from orchestrator.compliance import AccountFacts
from orchestrator.compliance.localtime import zone
from orchestrator.compliance.pack import NoticeRule
from orchestrator.configuration.source import ConfigSet
from orchestrator.configuration.strategies import Strategy
from orchestrator.domain import ContactKind, Purpose, TaskStatus
from orchestrator.isolation import tenant_failed
from orchestrator.metrics import PLANNING_RUNS
from orchestrator.planning.facts import ACCOUNT_COLUMNS, PENDING, Loaded, load
from orchestrator.planning.notices import RECORD_MISSED, FirstContact, plan_notices
from orchestrator.planning.planner import (
    DueStep,
    PlannedContact,
    PlanningAccount,
    due_steps,
    plan_account,
    step_key,
)
from orchestrator.planning.routing import choose_route
from orchestrator.store.db import Store, id_in, insert_rows
from orchestrator.store.tables import Account, Attempt, Task, Tenant
from orchestrator.store.tables import AccountEvent as EventRow
from orchestrator.tasks import decide_task, revise, routes_of, transitions

CHUNK = 5_000
# Every time zone's local date is within a day of the UTC date.
_ZONE_SKEW = 1


@dataclass(slots=True)
class PlanStats:
    accounts: int = 0
    considered: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    failed_tenants: list[str] = field(default_factory=list)

    def add(self, status: str, count: int = 1) -> None:
        self.by_status[status] = self.by_status.get(status, 0) + count

    @property
    def planned(self) -> int:
        return self.by_status.get(TaskStatus.PLANNED.value, 0)


class PortfolioPlanner:
    """Plans every tenant's accounts whose strategy has a step due.

    Parameters:
      store: the store.
      config: returns the current configuration (strategies, rule packs, and so how far
        back contact history is read): called per run, so a new valid version is picked up
        without a restart.
    """

    def __init__(
        self,
        store: Store,
        config: Callable[[], ConfigSet],
        *,
        chunk: int = CHUNK,
    ) -> None:
        self.store = store
        self.config = config
        self.chunk = chunk

    def plan(self, now: datetime, *, progress: Callable[[int], None] | None = None) -> PlanStats:
        """One planning run over every tenant, each chunk in its own transaction, in a
        ``planning.run`` span and timed (``orchestrator_planning_run_seconds``)."""
        started = time.perf_counter()
        result = "error"
        with tracing.tracer().start_as_current_span("planning.run") as span:
            try:
                stats = self._plan(now, progress)
                result = "failed" if stats.failed_tenants else "ok"
                span.set_attribute("orchestrator.accounts", stats.accounts)
                span.set_attribute("orchestrator.failed_tenants", len(stats.failed_tenants))
                return stats
            finally:
                PLANNING_RUNS.labels(result).observe(time.perf_counter() - started)

    def _plan(self, now: datetime, progress: Callable[[int], None] | None) -> PlanStats:
        config = self.config()
        stats = PlanStats()
        with self.store.snapshot() as conn:
            tenants = conn.execute(sa.select(Tenant.id, Tenant.slug)).all()
        for tenant in tenants:
            broken = config.suspended.get(tenant.slug)
            if broken is not None:
                tenant_failed("plan", tenant.slug, broken)
                stats.failed_tenants.append(tenant.slug)
                continue
            try:
                self._plan_tenant(tenant.id, tenant.slug, now, config, stats, progress)
            except Exception as exc:  # noqa: BLE001 - any failure, recorded and alerted
                # One tenant's broken state (its config, its data) must not stop the others:
                # what it committed so far stays, the rest waits for the next run.
                tenant_failed("plan", tenant.slug, exc)
                stats.failed_tenants.append(tenant.slug)
        return stats

    def _plan_tenant(
        self,
        tenant_id: int,
        slug: str,
        now: datetime,
        config: ConfigSet,
        stats: PlanStats,
        progress: Callable[[int], None] | None,
    ) -> None:
        """One tenant's planning run, chunk by chunk."""
        strategy = config.strategy_for(slug)
        dates = candidate_due_dates(strategy.day_offsets(), strategy.catch_up_days, now)
        after = 0
        while True:
            with self.store.transaction() as conn:
                rows = conn.execute(
                    sa.select(*ACCOUNT_COLUMNS)
                    .where(
                        Account.tenant_id == tenant_id,
                        Account.due_date.in_(dates),
                        Account.id > after,
                        # Erased accounts are never contacted again (intake/erasure.py).
                        Account.erased_at.is_(None),
                    )
                    .order_by(Account.id)
                    .limit(self.chunk)
                ).all()
                if not rows:
                    break
                self._plan_rows(conn, slug, rows, now, config, stats, busy_only=True)
            after = rows[-1].id
            if progress is not None:
                progress(len(rows))
        notices = _notice_rules(config, slug)
        if notices:
            # Triggers that arrived without a re-plan (a first contact made by dispatch, an
            # event in an import): their notices are planned here.
            with self.store.transaction() as conn:
                ids = _notice_candidates(conn, tenant_id, now, notices)
                for start in range(0, len(ids), self.chunk):
                    rows = conn.execute(
                        sa.select(*ACCOUNT_COLUMNS).where(
                            id_in(conn, Account.id, ids[start : start + self.chunk])
                        )
                    ).all()
                    self._plan_rows(conn, slug, rows, now, config, stats, notices_only=True)

    def plan_accounts(
        self, conn: Connection, tenant_id: int, account_ids: Iterable[int], now: datetime
    ) -> PlanStats:
        """Plan these accounts now, inside the caller's transaction (new accounts, events),
        in a ``planning.accounts`` span (a child of the request's that changed them)."""
        ids = sorted(set(account_ids))
        with tracing.tracer().start_as_current_span(
            "planning.accounts", attributes={"orchestrator.accounts": len(ids)}
        ):
            return self._plan_accounts(conn, tenant_id, ids, now)

    def _plan_accounts(
        self, conn: Connection, tenant_id: int, ids: list[int], now: datetime
    ) -> PlanStats:
        stats = PlanStats()
        if not ids:
            return stats
        config = self.config()
        slug = conn.execute(sa.select(Tenant.slug).where(Tenant.id == tenant_id)).scalar_one()
        if slug in config.suspended:
            # Stored, not planned: the scheduled run plans it once the config is fixed.
            tenant_failed("plan", slug, config.suspended[slug])
            return stats
        for start in range(0, len(ids), self.chunk):
            rows = conn.execute(
                sa.select(*ACCOUNT_COLUMNS).where(
                    id_in(conn, Account.id, ids[start : start + self.chunk]),
                    Account.erased_at.is_(None),
                )
            ).all()
            loaded = self._plan_rows(conn, slug, rows, now, config, stats)
            self._revise_pending(conn, slug, loaded, now, config, stats)
        return stats

    def _plan_rows(
        self,
        conn: Connection,
        tenant: str,
        rows: Sequence[Any],
        now: datetime,
        config: ConfigSet,
        stats: PlanStats,
        *,
        busy_only: bool = False,
        notices_only: bool = False,
    ) -> dict[int, Loaded]:
        """Plan ``rows``; with ``busy_only``, read facts and history only for the accounts
        with a due step that has no task yet (the rest have nothing to plan); with
        ``notices_only``, plan only the notices the law requires."""
        strategy = config.strategy_for(tenant)
        earliest = now.date() - timedelta(days=strategy.catch_up_days + _ZONE_SKEW)
        stats.accounts += len(rows)
        steps: dict[int, list[DueStep]] = {}
        if busy_only:
            rows, steps = _with_unplanned_steps(conn, rows, strategy, now, earliest)
        loaded = load(conn, rows, since=now - config.lookback_for(tenant), tasks_since=earliest)
        planned: list[tuple[Loaded, PlannedContact]] = []
        firsts = first_contacts(conn, list(loaded)) if _needs_first(config, tenant) else {}
        for item in loaded.values():
            row = item.row
            account = PlanningAccount(
                row.id, row.external_id, item.facts, row.due_date, row.product, row.risk_score
            )
            existing = {(t.step, t.local_date) for t in item.tasks}
            contacts = (
                []
                if notices_only
                else plan_account(
                    account,
                    strategy=strategy,
                    pack=config.pack_for(row.jurisdiction, tenant),
                    history=item.history,
                    existing=existing,
                    now=now,
                    due=steps.get(row.id),
                )
            )
            planned.extend((item, contact) for contact in contacts)
            pack = config.pack_for(row.jurisdiction, tenant)
            if pack.notices:
                notices = plan_notices(
                    account,
                    pack=pack,
                    history=item.history,
                    first=firsts.get(row.id),
                    existing=existing,
                    now=now,
                )
                planned.extend((item, contact) for contact in notices)
        stats.considered += len(planned)
        if planned:
            for status, count in _write_tasks(
                conn, strategy_tag(config, tenant), planned, now
            ).items():
                stats.add(status, count)
        return loaded

    def _revise_pending(
        self,
        conn: Connection,
        tenant: str,
        loaded: dict[int, Loaded],
        now: datetime,
        config: ConfigSet,
        stats: PlanStats,
    ) -> None:
        """Re-check pending tasks against fresh facts: cancel what a hold now forbids, move
        what a window or cap now delays."""
        entries = []
        for item in loaded.values():
            pack = config.pack_for(item.row.jurisdiction, tenant)
            for task in item.tasks:
                if task.status not in PENDING:
                    continue
                others = [c for c in item.history if not _is_reservation_of(c, task)]
                at = max(task.not_before, now)
                decision = decide_task(
                    now=now,
                    expires_at=task.expires_at,
                    at=at,
                    route=partial(
                        choose_route,
                        item.facts,
                        others,
                        routes_of(task),
                        at,
                        task.expires_at,
                        pack,
                        purpose=Purpose(task.purpose),
                    ),
                )
                revision = revise(task, decision, now=now, cancelled=TaskStatus.CANCELLED.value)
                if revision is None:
                    continue
                if not transitions.revise(conn, task.id, revision.values, now):
                    continue  # dispatch claimed it meanwhile; it re-checks at send time
                update = revision.values
                message = revision.message
                stats.add(f"revised.{update.get('status', 'rescheduled')}")
                entries.append(
                    ledger.entry(
                        tenant_id=item.row.tenant_id,
                        account_id=item.row.id,
                        at=now,
                        kind=f"task.{update.get('status', 'rescheduled')}",
                        message=message,
                        channel=update.get("channel", task.channel),
                        rules=update.get("reasons", []),
                        task_id=task.id,
                    )
                )
        ledger.append(conn, entries)


def _with_unplanned_steps(
    conn: Connection, rows: Sequence[Any], strategy: Strategy, now: datetime, earliest: date
) -> tuple[list[Any], dict[int, list[DueStep]]]:
    """The rows with a step due on their local date (or missed within the catch-up days)
    that has no task yet, and those steps: one light query for the tasks, no facts or
    history read."""
    due: dict[int, list[DueStep]] = {}
    offsets = strategy.day_offsets()
    lateness = range(strategy.catch_up_days + 1)
    today_in: dict[str, date] = {}
    for row in rows:
        primary = row.zones.split(" ", 1)[0]
        today = today_in.get(primary)
        if today is None:
            today = today_in[primary] = now.astimezone(zone(primary)).date()
        if not any((today - row.due_date).days - late in offsets for late in lateness):
            continue  # no step on any day it could be planned for: the common case
        facts = AccountFacts(
            row.jurisdiction, tuple(row.zones.split()), row.amount_due, row.currency
        )
        account = PlanningAccount(
            row.id, row.external_id, facts, row.due_date, row.product, row.risk_score
        )
        steps = due_steps(account, strategy, today)
        if steps:
            due[row.id] = steps
    if due:
        planned: dict[int, set[tuple[str, date]]] = {}
        for task in conn.execute(
            sa.select(Task.account_id, Task.step, Task.local_date).where(
                id_in(conn, Task.account_id, list(due)), Task.local_date >= earliest
            )
        ):
            planned.setdefault(task.account_id, set()).add((task.step, task.local_date))
        for account_id, have in planned.items():
            left = [
                (segment, variant, step, day)
                for segment, variant, step, day in due[account_id]
                if (step_key(segment, step), day) not in have
            ]
            if left:
                due[account_id] = left
            else:
                del due[account_id]
    return [row for row in rows if row.id in due], due


_COUNTED = (
    ContactKind.ATTEMPT.value,
    ContactKind.CONVERSATION.value,
    ContactKind.LIMITED_CONTENT.value,
    ContactKind.RESERVED.value,
)


def _notice_rules(config: ConfigSet, tenant: str) -> list[NoticeRule]:
    """The notice rules of every pack that may apply to the tenant."""
    packs = [*config.rules.packs.values()]
    overlay = config.tenant_overlays.get(tenant)
    if overlay is not None:
        packs.append(overlay)
    return [n for p in packs for n in p.notices]


def _needs_first(config: ConfigSet, tenant: str) -> bool:
    """Whether any pack that may apply to the tenant has a notice on the first contact."""
    return any(n.trigger == "initial_communication" for n in _notice_rules(config, tenant))


def first_contacts(conn: Connection, ids: list[int]) -> dict[int, FirstContact]:
    """Each account's first contact made about the debt (the initial communication)."""
    if not ids:
        return {}
    first = (
        sa.select(Attempt.account_id, sa.func.min(Attempt.id).label("id"))
        .where(id_in(conn, Attempt.account_id, ids), Attempt.contact_kind.in_(_COUNTED))
        .group_by(Attempt.account_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(Attempt.account_id, Attempt.at, Task.purpose)
        .join(first, first.c.id == Attempt.id)
        .join(Task, Task.id == Attempt.task_id)
    )
    return {r.account_id: FirstContact(r.at, Purpose(r.purpose)) for r in rows}


def _notice_candidates(
    conn: Connection, tenant_id: int, now: datetime, rules: list[NoticeRule]
) -> list[int]:
    """Accounts with a trigger recent enough for a notice to be planned
    (:func:`~orchestrator.planning.notices.plan_notices` decides which): a trigger event,
    or a first contact made on an account that has no such notice yet."""
    since = now - max(r.within for r in rules) - RECORD_MISSED
    found: set[int] = set()
    events = {r.trigger for r in rules} - {"initial_communication"}
    if events:
        found.update(
            conn.execute(
                sa.select(EventRow.account_id)
                .where(
                    EventRow.tenant_id == tenant_id,
                    EventRow.type.in_(sorted(events)),
                    EventRow.at >= since,
                    EventRow.at <= now,
                )
                .distinct()
            ).scalars()
        )
    purposes = sorted({r.purpose.value for r in rules if r.trigger == "initial_communication"})
    if purposes:
        noticed = sa.exists().where(
            Task.account_id == Attempt.account_id, Task.purpose.in_(purposes)
        )
        found.update(
            conn.execute(
                sa.select(Attempt.account_id)
                .where(
                    Attempt.tenant_id == tenant_id,
                    Attempt.at >= since,
                    Attempt.contact_kind.in_(_COUNTED),
                    ~noticed,
                )
                .distinct()
            ).scalars()
        )
    return sorted(found)


def _is_reservation_of(contact: Any, task: Any) -> bool:
    return bool(contact.at == task.not_before and contact.channel.value == task.channel)


def strategy_tag(config: ConfigSet, tenant: str) -> str:
    return f"{config.strategy_for(tenant).name}@{config.version}"


def candidate_due_dates(offsets: Iterable[int], catch_up: int, now: datetime) -> list[date]:
    """Due dates for which some step may be due today in some time zone: only those accounts
    are read (the rest have nothing to plan today)."""
    today = now.date()
    return sorted(
        {
            today + timedelta(days=skew) - timedelta(days=late + offset)
            for skew in range(-_ZONE_SKEW, _ZONE_SKEW + 1)
            for late in range(catch_up + 1)
            for offset in offsets
        }
    )


def _write_tasks(
    conn: Connection, strategy: str, planned: Sequence[tuple[Loaded, PlannedContact]], now: datetime
) -> dict[str, int]:
    rows = []
    for item, contact in planned:
        rows.append(
            {
                "tenant_id": item.row.tenant_id,
                "account_id": item.row.id,
                "strategy": strategy,
                "step": contact.step,
                "variant": contact.variant,
                "channel": contact.channel.value,
                "template": contact.template,
                "purpose": contact.purpose.value,
                "fallback": [[c.value, t] for c, t in contact.fallback],
                "local_date": contact.step_date,
                "not_before": contact.not_before,
                "not_after": contact.not_after,
                "expires_at": contact.expires_at,
                "status": contact.status.value,
                "reasons": [r.rule_id for r in contact.reasons],
                "created_at": now,
                "updated_at": now,
            }
        )
    inserted = insert_rows(
        conn,
        Task,
        rows,
        skip_conflicts_on=("tenant_id", "account_id", "step", "local_date"),
        returning=(Task.id, Task.account_id, Task.step, Task.local_date),
    )
    by_key = {(item.row.id, c.step, c.step_date): (item, c) for item, c in planned}
    counts: dict[str, int] = {}
    entries = []
    for task in inserted:
        item, contact = by_key[(task.account_id, task.step, task.local_date)]
        counts[contact.status.value] = counts.get(contact.status.value, 0) + 1
        entries.append(
            ledger.entry(
                tenant_id=item.row.tenant_id,
                account_id=item.row.id,
                at=now,
                kind=f"task.{contact.status.value}",
                message=f"{contact.step}: {contact.explanation}",
                channel=contact.channel.value,
                rules=[r.rule_id for r in contact.reasons],
                task_id=task.id,
                data={"variant": contact.variant} if contact.variant else None,
            )
        )
    ledger.append(conn, entries)
    return counts
