"""Reconciling sends a crash or a silent provider left ambiguous.

An attempt still ``sending`` after its lease may or may not have reached the provider. Never
resent blindly (at most one send per task, invariant 4), it is resolved by evidence:

- no message body recorded: it was never handed over; release it and send again;
- the provider can be asked, as configured (``can_look_up``, then ``lookup``): it saw the
  message (sent) or it did not (send again, safely);
- otherwise wait for the provider's own report (a webhook moves the attempt forward); if none
  comes within ``unknown_after_seconds``, the outcome is recorded as unknown and the task is
  not resent. A contact that may have happened counts against the caps either way.

The lease (``dispatch.lease_seconds``) must outlast any request a provider may still be
taking when we stop waiting for it (the adapters' timeouts are seconds; the default lease is
two minutes): a lookup made while the provider is still processing the request could answer
"never seen" and let the task be sent again. Dispatch holds its side of that: no request of
a send is written to the wire, nor waited for, past its lease less a margin
(``sending._seconds_left``, :func:`channels.transport.deadline`).

A pass never waits long on providers, and one provider's outage holds up no one else: it
runs in a job of its own (the scheduler's ``reconcile``, not its sweep), within a time
budget (:data:`BUDGET`, real seconds: no lookup starts after it, and each is bounded by
its provider's timeout), with each provider's lookups in a thread of their own. A lookup
that fails (the provider down, timing out) is not asked again at once: the attempt's
``lease_until`` is moved on by a backoff that grows with the time since its lease ended
(:func:`backoff`), so attempts whose provider keeps failing leave the head of the queue to
the others, and are asked again later — never resent without the provider's "no record of
it"."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import wait as wait_for
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from channels.base import OutboundMessage, Receipt
from orchestrator import ledger, outbox
from orchestrator.clock import speed_of
from orchestrator.dispatch.needs import CurrentConfig, DispatchNeeds
from orchestrator.dispatch.pool import ProviderPool
from orchestrator.dispatch.reserve import ABANDONED, lease_of
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, TaskStatus
from orchestrator.errors import ProviderError
from orchestrator.isolation import tenant_failed
from orchestrator.logs import get_logger
from orchestrator.store.tables import Attempt, Tenant
from orchestrator.tasks import transitions

log = get_logger(__name__)
UNKNOWN = "unknown"
BUDGET = 10.0
"""Real seconds a pass spends on lookups at most; the rest wait for the next pass."""
THREADS = 8
"""Providers looked up at once in a pass (one thread each)."""
BACKOFF_MIN = 2.0
BACKOFF_MAX = 900.0
"""Real seconds before an attempt whose lookup failed is looked up again: half the time
since its lease ended, within these bounds."""


def backoff(overdue: timedelta, speed: float) -> timedelta:
    """How long after a failed lookup an attempt whose lease ended ``overdue`` ago is looked
    up again, on a clock running ``speed`` times as fast as real time: half that, at least
    :data:`BACKOFF_MIN` and at most :data:`BACKOFF_MAX` real seconds. Computed from the
    attempt's own times, nothing more needs storing: a lookup failing just after the lease is
    tried again within seconds, one failing for an hour every quarter of an hour."""
    low = timedelta(seconds=BACKOFF_MIN * speed)
    high = timedelta(seconds=BACKOFF_MAX * speed)
    return min(max(overdue / 2, low), high)


class Reconciler:
    """Parameters:
    services: the store and the configuration.
    pool: the providers (for ``lookup``).
    enqueue: puts a task back on the send queue.
    """

    def __init__(
        self, services: DispatchNeeds, pool: ProviderPool, enqueue: Callable[[int], None]
    ) -> None:
        self.store = services.store
        self.clock = services.clock
        self.config: CurrentConfig = services.config
        self.pool = pool
        self.enqueue = enqueue

    def run(self, now: datetime, *, limit: int = 200, budget: float = BUDGET) -> dict[str, int]:
        """One pass over expired leases, the longest expired first; returns how each was
        resolved. Lookups take at most ``budget`` real seconds (those left over count as
        ``deferred``, and are looked up next pass), one thread per provider."""
        store = self.store
        with store.snapshot() as conn:
            rows = conn.execute(
                sa.select(Attempt, Tenant.slug)
                .join(Tenant, Tenant.id == Attempt.tenant_id)
                .where(
                    Attempt.status == DeliveryStatus.SENDING.value,
                    Attempt.lease_until < now,
                )
                .order_by(Attempt.lease_until)
                .limit(limit)
            ).all()
        counts: dict[str, int] = {}
        by_provider: dict[str, list[Any]] = {}
        for row in rows:
            if row.body is not None and self._can_look_up(row):
                by_provider.setdefault(row.provider, []).append(row)
            else:
                # No provider to ask: settled from the store alone, at once.
                self._count(counts, self._resolve_one(row, now))
        if by_provider:
            deadline = time.monotonic() + budget
            executor = ThreadPoolExecutor(
                min(len(by_provider), THREADS), thread_name_prefix="reconcile-lookup"
            )
            try:
                futures = {
                    executor.submit(self._look_up_all, group, now, deadline): len(group)
                    for group in by_provider.values()
                }
                # A lookup starts only within the budget and ends within its provider's
                # timeout (httpx's phases: up to four of them), a second more for the
                # store's writes. A thread still busy then is not waited for: the sweep is
                # not held up, and its settlements are compare-and-sets, safe beside the
                # next pass's.
                longest = max(self._timeout_of(group[0]) for group in by_provider.values())
                done, late = wait_for(futures, timeout=budget + 4 * longest + 1.0)
                for future in done:
                    for outcome, n in future.result().items():
                        counts[outcome] = counts.get(outcome, 0) + n
                if late:
                    counts["deferred"] = counts.get("deferred", 0) + sum(futures[f] for f in late)
            finally:
                executor.shutdown(wait=False)
        if counts:
            log.info("reconciled", **counts)
        return counts

    def _look_up_all(self, rows: Sequence[Any], now: datetime, deadline: float) -> dict[str, int]:
        """One provider's attempts, in turn, while the pass's budget lasts: those it leaves
        are ``deferred`` (their leases unchanged: they come first next pass). A lookup
        started is bounded by the provider's own timeout."""
        counts: dict[str, int] = {}
        for row in rows:
            if time.monotonic() >= deadline:
                self._count(counts, "deferred")
                continue
            self._count(counts, self._resolve_one(row, now))
        return counts

    def _timeout_of(self, attempt: Any) -> float:
        """The provider's timeout (real seconds): what one lookup may take."""
        try:
            provider = self.pool.named(attempt.slug, attempt.provider)
        except Exception:  # noqa: BLE001 - its lookups fail and are reported one by one
            provider = None
        settings = provider.config.settings if provider is not None else {}
        return float(settings.get("timeout_seconds", 10.0))

    def _resolve_one(self, row: Any, now: datetime) -> str:
        try:
            return self._resolve(row, now)
        except Exception as exc:  # noqa: BLE001 - any failure, recorded and alerted
            # One tenant's broken state (its config, one of its rows) must not leave
            # every other tenant's interrupted sends unresolved: the lease stays
            # expired, so the next pass tries this one again.
            tenant_failed("reconcile", row.slug, exc)
            return "failed"

    @staticmethod
    def _count(counts: dict[str, int], outcome: str) -> None:
        counts[outcome] = counts.get(outcome, 0) + 1

    def _can_look_up(self, attempt: Any) -> bool:
        try:
            provider = self.pool.named(attempt.slug, attempt.provider)
        except Exception:  # noqa: BLE001 - resolved (and reported) one by one instead
            return False
        return provider is not None and bool(provider.adapter.can_look_up)

    def _resolve(self, attempt: Any, now: datetime) -> str:
        if attempt.body is None:
            return self._release(attempt, now, "it was never handed to the provider")
        provider = self.pool.named(attempt.slug, attempt.provider)
        if provider is not None and provider.adapter.can_look_up:
            try:
                receipt = provider.adapter.lookup(_message(attempt))
            except ProviderError as exc:
                return self._back_off(attempt, now, exc)
            if receipt is None:
                return self._release(attempt, now, f"{attempt.provider} has no record of it")
            return self._confirm(attempt, receipt, now)
        policy = self.config.get().channels_for(attempt.slug).dispatch
        if now - attempt.at < timedelta(seconds=policy.unknown_after_seconds):
            return "waiting_for_report"
        return self._unknown(attempt, now)

    def _back_off(self, attempt: Any, now: datetime, error: ProviderError) -> str:
        """The lookup failed: ask again after :func:`backoff` (the attempt's lease moved on,
        if it is still unresolved). A later lease only ever delays the reconciler: the send
        itself keeps the lease it was reserved with."""
        policy = self.config.get().channels_for(attempt.slug).dispatch
        ended = attempt.at + lease_of(policy, self.clock)
        after = now + backoff(now - ended, speed_of(self.clock))
        with self.store.transaction() as conn:
            conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == attempt.id, Attempt.status == DeliveryStatus.SENDING.value)
                .values(lease_until=after)
            )
        log.warning(
            "lookup failed; trying again later",
            provider=attempt.provider,
            error=str(error),
            attempt=attempt.id,
            after=after.isoformat(),
        )
        return "lookup_failed"

    def _release(self, attempt: Any, now: datetime, why: str) -> str:
        settled = self._settle(
            attempt,
            now,
            {
                "status": DeliveryStatus.FAILED.value,
                "contact_kind": ContactKind.FAILED.value,  # it never reached anyone
                "error_code": ABANDONED,
                "error_message": why,
            },
            TaskStatus.QUEUED,
            "attempt.released",
            f"interrupted send released: {why}; sending again",
        )
        if not settled:
            return "resolved_meanwhile"
        self.enqueue(attempt.task_id)
        return "resent"

    def _confirm(self, attempt: Any, receipt: Receipt, now: datetime) -> str:
        settled = self._settle(
            attempt,
            now,
            {
                "status": receipt.status.value,
                "provider_message_id": receipt.provider_message_id,
                "contact_kind": ContactKind.ATTEMPT.value,
            },
            TaskStatus.SENT,
            ledger.SENT,
            f"interrupted send confirmed by {attempt.provider} ({receipt.provider_message_id})",
        )
        return "confirmed" if settled else "resolved_meanwhile"

    def _unknown(self, attempt: Any, now: datetime) -> str:
        settled = self._settle(
            attempt,
            now,
            # It may have happened: it counts against the caps.
            {"status": UNKNOWN, "contact_kind": ContactKind.ATTEMPT.value},
            TaskStatus.UNKNOWN,
            "attempt.unknown",
            f"outcome unknown: {attempt.provider} cannot be asked and sent no report; "
            "not resent, so the borrower is contacted at most once",
        )
        return UNKNOWN if settled else "resolved_meanwhile"

    def _settle(
        self,
        attempt: Any,
        now: datetime,
        values: dict[str, Any],
        task_status: TaskStatus,
        kind: str,
        message: str,
    ) -> bool:
        """Resolve an attempt still ``sending`` and its task, with a ledger entry, in one
        transaction; ``False`` when a report or another pass resolved it meanwhile."""
        with self.store.transaction() as conn:
            settled = conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == attempt.id, Attempt.status == DeliveryStatus.SENDING.value)
                .values(**values, lease_until=None, updated_at=now)
            ).rowcount
            if not settled:
                return False
            transitions.settle(conn, attempt.task_id, task_status, now)
            ledger.append(conn, [ledger.for_attempt(attempt, at=now, kind=kind, message=message)])
            if kind == ledger.SENT:
                outbox.attempt_sent(conn, attempt.task_id, attempt.id, now)
        return True


def _message(attempt: Any) -> OutboundMessage:
    return OutboundMessage(
        attempt_ref=attempt.ref,
        idempotency_key=f"task-{attempt.task_id}",
        channel=Channel(attempt.channel),
        to=attempt.address,
        body=attempt.body or "",
        subject=attempt.subject,
        tags={"reserved_at": attempt.at.isoformat()},
    )
