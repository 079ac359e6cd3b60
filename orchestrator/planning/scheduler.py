"""The scheduler: plans on a schedule and moves due tasks onto the queue.

Several scheduler processes may run (replicas, a rolling deploy); exactly one is active at a
time, holding a lock in Redis that expires unless renewed, so a dead holder is replaced within
one lock period. The lock saves work rather than guarding correctness: every state change the
scheduler makes is a compare-and-set in the store (a task is planned once by the store's
unique key, queued once by ``planned → queued``), so even two active schedulers could not
plan or queue a task twice.

Tasks due far in the future stay in the store; only those whose send time has come are queued.

Two kinds of time meet here. The leader lock lives in Redis, whose expiries are real seconds,
so the heartbeat runs on the wall clock. Everything the scheduler decides runs on the injected
clock: a pass wakes every ``sweep_every`` real seconds and plans when a planning run is due *on
that clock*. APScheduler only provides the wake-ups; it never sees a virtual instant, which
would be read as a wall-clock one (a clock ahead of real time would then never plan).
"""

from __future__ import annotations

import contextlib
import secrets
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import redis
import sqlalchemy as sa
from apscheduler.schedulers.background import BackgroundScheduler
from redis.exceptions import LockError
from redis.lock import Lock

from orchestrator import ledger
from orchestrator.clock import Clock, SystemClock
from orchestrator.logs import get_logger
from orchestrator.planning.portfolio import PortfolioPlanner
from orchestrator.planning.visits import expire_visits
from orchestrator.retention import (
    IDEMPOTENCY_TTL,
    apply_retention,
    expire_idempotency_records,
)
from orchestrator.store import kept_results
from orchestrator.store.db import Store
from orchestrator.store.rollup import fold_all
from orchestrator.store.tables import Tenant
from orchestrator.tasks import transitions

log = get_logger(__name__)


class LeaderLock:
    """A lock with expiry in Redis: held by one process, renewed while it lives.

    redis-py's :class:`~redis.lock.Lock` does the work (take with ``SET NX PX``, renew and
    release only while the stored token is ours); this names the one token a scheduler
    keeps for its whole life, so its log line and the lock's value say who leads.

    Parameters:
      client: Redis.
      key: the lock's key.
      ttl: how long the lock outlives its holder's last renewal.
    """

    def __init__(self, client: redis.Redis, key: str, ttl: timedelta) -> None:
        self.client = client
        self.key = key
        self.ttl_ms = int(ttl.total_seconds() * 1000)
        self.token = secrets.token_hex(8)
        # Not thread-local: the heartbeat thread holds it, the main thread releases it.
        self._lock = Lock(client, key, timeout=ttl.total_seconds(), thread_local=False)

    def hold(self) -> bool:
        """Take the lock if it is free, renew it if it is ours; ``True`` while we hold it."""
        if self._lock.owned():
            try:
                return self._lock.reacquire()
            except LockError:
                pass  # expired between the two calls: try to take it like anyone else
        return bool(self._lock.acquire(blocking=False, token=self.token))

    def release(self) -> None:
        """Let go of the lock if we still hold it (another process may have it by now)."""
        with contextlib.suppress(LockError):
            self._lock.release()

    def holder(self) -> str | None:
        value = self.client.get(self.key)
        if value is None:
            return None
        return value.decode() if isinstance(value, bytes) else str(value)


@dataclass(frozen=True, slots=True)
class SweepResult:
    queued: list[int]
    requeued: list[int]
    expired: int


def sweep(store: Store, now: datetime, *, limit: int = 1_000, stale: timedelta) -> SweepResult:
    """Queue tasks whose time has come, re-queue queued ones whose message may be lost, and
    expire tasks whose deadline passed unsent (and field visits with no outcome by theirs)."""
    with store.transaction() as conn:
        queued = transitions.queue_due(conn, now, limit=limit, skip_locked=not store.is_sqlite)
        # A queued task untouched for a while may have lost its message (a crash between
        # commit and enqueue, a Redis restart): queue it again; a duplicate is harmless.
        requeued = transitions.requeue_stale(conn, now, stale=stale)
        expired_rows = transitions.expire_overdue(conn, now)
        ledger.append(
            conn,
            (
                ledger.entry(
                    tenant_id=r.tenant_id,
                    account_id=r.account_id,
                    at=now,
                    kind="task.expired",
                    message=f"{r.step}: expired unsent, its window ended",
                    channel=r.channel,
                    task_id=r.id,
                )
                for r in expired_rows
            ),
        )
        # Field visits in the work queue with no outcome by their deadline (docs/channels.md).
        expired_visits = expire_visits(conn, now)
    return SweepResult(queued, requeued, len(expired_rows) + expired_visits)


class Scheduler:
    """Runs planning and sweeping on a schedule while it holds the leader lock.

    Parameters:
      planner: plans the portfolio.
      enqueue: puts task ids on the send queue.
      plan_every: time between planning runs on the injected clock (on a clock running 288
        times as fast, fifteen minutes pass in about three real seconds).
      sweep_every: real time between passes; each pass sweeps, and plans when a planning run
        is due on the injected clock.
      lock_ttl: real time the leader lock outlives its holder's last renewal.
      stale_queued: time on the injected clock after which a queued task is queued again.
      reconcile: dispatch's reconciliation of sends left ambiguous
        (:meth:`orchestrator.dispatch.Reconciler.run`), called with the clock's instant
        each pass in a job of its own: its provider lookups may take seconds each when a
        provider is down, and a sweep waiting for them queued nothing meanwhile
        (APScheduler skips a job's runs while one is under way).
      idempotency_ttl: how long stored Idempotency-Key answers are kept.
      expire_every: time between deletions of expired answers, on the injected clock.
      lender_events: each pass's work on lender events (finding broken promises, posting
        due deliveries to the lenders' endpoints), called with the clock's instant in a job
        of its own, so a slow endpoint never delays a sweep.
      on_leadership: called with the new value each time this scheduler takes or loses the
        lead, at once (the process's heartbeat file is rewritten then, not seconds later).
    """

    def __init__(
        self,
        store: Store,
        client: redis.Redis,
        clock: Clock,
        planner: PortfolioPlanner,
        enqueue: Callable[[list[int]], None],
        *,
        namespace: str,
        plan_every: timedelta = timedelta(minutes=15),
        sweep_every: timedelta = timedelta(seconds=2),
        lock_ttl: timedelta = timedelta(seconds=15),
        stale_queued: timedelta = timedelta(minutes=5),
        idempotency_ttl: timedelta = IDEMPOTENCY_TTL,
        expire_every: timedelta = timedelta(hours=1),
        lender_events: Callable[[datetime], Any] | None = None,
        on_leadership: Callable[[bool], Any] | None = None,
        reconcile: Callable[[datetime], Any] | None = None,
    ) -> None:
        self.store = store
        self.clock = clock
        self.planner = planner
        self.enqueue = enqueue
        self.lock = LeaderLock(client, f"{namespace}:scheduler:leader", lock_ttl)
        self.plan_every = plan_every
        self.sweep_every = sweep_every
        self.stale_queued = stale_queued
        self.idempotency_ttl = idempotency_ttl
        self.expire_every = expire_every
        self.lender_events = lender_events
        self.on_leadership = on_leadership
        self.reconcile = reconcile
        self._next_expiry: datetime | None = None  # on the injected clock; None: at once
        self.leader = False
        self._plan_lock = threading.Lock()
        self._next_plan: datetime | None = None  # on the injected clock; None: at once
        self._aps = BackgroundScheduler(timezone="UTC")

    def heartbeat(self) -> None:
        was = self.leader
        try:
            self.leader = self.lock.hold()
        except redis.exceptions.RedisError as exc:
            # Without Redis we cannot know we are alone: step down until it answers again.
            self.leader = False
            log.warning("scheduler lock unavailable, standing by", error=str(exc))
        if self.leader != was:
            log.info("scheduler leadership", leader=self.leader, token=self.lock.token)
            if self.leader:
                self._next_plan = None  # a new leader plans at once
            if self.on_leadership is not None:
                self.on_leadership(self.leader)

    def plan_now(self) -> bool:
        """Plan now if we lead and no run is under way; ``True`` when a run was made."""
        if not self.leader or not self._plan_lock.acquire(blocking=False):
            return False
        try:
            now = self.clock.now()
            stats = self.planner.plan(now)
            self._next_plan = now + self.plan_every
            log.info("planned", at=now.isoformat(), accounts=stats.accounts, **stats.by_status)
            return True
        finally:
            self._plan_lock.release()

    def plan_if_due(self) -> bool:
        """Plan when the injected clock says a run is due: at once on taking the lead, then
        every ``plan_every`` of that clock's time."""
        if self._next_plan is not None and self.clock.now() < self._next_plan:
            return False
        return self.plan_now()

    def sweep_now(self) -> SweepResult | None:
        if not self.leader:
            return None
        now = self.clock.now()
        result = sweep(self.store, now, stale=self.stale_queued)
        self.enqueue(result.queued + result.requeued)
        if result.queued or result.requeued or result.expired:
            log.info(
                "swept",
                queued=len(result.queued),
                requeued=len(result.requeued),
                expired=result.expired,
            )
        return result

    def expire_now(self) -> int:
        """Delete stored answers past their time to live, and message texts and provider
        payloads past their tenant's retention (personal data kept no longer than needed);
        how many answers were deleted."""
        if not self.leader:
            return 0
        now = self.clock.now()
        with self.store.transaction() as conn:
            expired = expire_idempotency_records(conn, now, self.idempotency_ttl)
        if expired:
            log.info("idempotency records expired", count=expired)
        config = self.planner.config()
        with self.store.transaction() as conn:
            rules = {
                row.id: config.channels_for(row.slug).retention.rule()
                for row in conn.execute(sa.select(Tenant.id, Tenant.slug))
            }
            removed = apply_retention(conn, now, rules, config.channels_for("").retention.rule())
        if removed.bodies or removed.payloads:
            log.info("retention applied", bodies=removed.bodies, payloads=removed.payloads)
        return expired

    def expire_if_due(self) -> int | None:
        """Delete expired answers when the injected clock says a pass is due (every
        ``expire_every``); ``None`` when none was due or we do not lead."""
        now = self.clock.now()
        if not self.leader or (self._next_expiry is not None and now < self._next_expiry):
            return None
        expired = self.expire_now()
        self._next_expiry = now + self.expire_every
        return expired

    def rollup_now(self) -> int:
        """Fold the counts written since the last pass into the overview's totals
        (``store/rollup.py``), and the writes since into the kept months of results
        (``store/kept_results.py``: the accounts written to recounted), and keep the current
        month of every tenant (built when it is not yet kept), if we lead; how many changes
        were folded."""
        if not self.leader:
            return 0
        kept_results.fold_all(self.store)
        kept_results.keep_current(self.store, self.clock.now())
        return fold_all(self.store)

    def lender_events_now(self) -> bool:
        """Run the lender events' pass if we lead; whether it ran."""
        if not self.leader or self.lender_events is None:
            return False
        self.lender_events(self.clock.now())
        return True

    def reconcile_now(self) -> bool:
        """Run dispatch's reconciliation pass if we lead; whether it ran."""
        if not self.leader or self.reconcile is None:
            return False
        self.reconcile(self.clock.now())
        return True

    def start(self) -> None:
        self.heartbeat()
        every = self.lock.ttl_ms / 3000
        # A renewal that wakes late still runs: APScheduler would otherwise skip a run more
        # than a second late (its default grace), and on a loaded machine two or three
        # skipped renewals let the lock lapse under a live leader.
        self._aps.add_job(
            self.heartbeat,
            "interval",
            seconds=every,
            id="heartbeat",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._aps.add_job(
            self.sweep_now,
            "interval",
            seconds=self.sweep_every.total_seconds(),
            id="sweep",
            max_instances=1,
            coalesce=True,
        )
        # Its own job, so a long planning run never delays a sweep; it asks the injected
        # clock whether a run is due.
        self._aps.add_job(
            self.plan_if_due,
            "interval",
            seconds=self.sweep_every.total_seconds(),
            id="plan",
            max_instances=1,
            coalesce=True,
            next_run_time=SystemClock().now(),  # a wake-up, on the wall clock APScheduler runs on
        )
        self._aps.add_job(
            self.expire_if_due,
            "interval",
            seconds=self.sweep_every.total_seconds(),
            id="expire",
            max_instances=1,
            coalesce=True,
        )
        self._aps.add_job(
            self.rollup_now,
            "interval",
            seconds=self.sweep_every.total_seconds(),
            id="rollup",
            max_instances=1,
            coalesce=True,
        )
        if self.reconcile is not None:
            # Its own job: a pass waiting on providers' lookups never delays a sweep.
            self._aps.add_job(
                self.reconcile_now,
                "interval",
                seconds=self.sweep_every.total_seconds(),
                id="reconcile",
                max_instances=1,
                coalesce=True,
            )
        if self.lender_events is not None:
            self._aps.add_job(
                self.lender_events_now,
                "interval",
                seconds=self.sweep_every.total_seconds(),
                id="lender_events",
                max_instances=1,
                coalesce=True,
            )
        self._aps.start()

    def stop(self) -> None:
        """Stop and hand the lock over at once; safe to call twice."""
        if self._aps.running:
            self._aps.shutdown(wait=True)
        if self.leader:
            self.lock.release()
            self.leader = False

    def run_forever(self) -> None:
        """Run until SIGINT/SIGTERM, then hand the lock over at once."""
        stop = threading.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
        self.start()
        stop.wait()
        self.stop()
