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
"never seen" and let the task be sent again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from channels.base import OutboundMessage, Receipt
from orchestrator import ledger, outbox
from orchestrator.dispatch.needs import CurrentConfig, DispatchNeeds
from orchestrator.dispatch.pool import ProviderPool
from orchestrator.dispatch.reserve import ABANDONED
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, TaskStatus
from orchestrator.errors import ProviderError
from orchestrator.isolation import tenant_failed
from orchestrator.logs import get_logger
from orchestrator.store.tables import Attempt, Tenant
from orchestrator.tasks import transitions

log = get_logger(__name__)
UNKNOWN = "unknown"


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
        self.config: CurrentConfig = services.config
        self.pool = pool
        self.enqueue = enqueue

    def run(self, now: datetime, *, limit: int = 200) -> dict[str, int]:
        """One pass over expired leases; returns how each was resolved."""
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
        for row in rows:
            try:
                outcome = self._resolve(row, now)
            except Exception as exc:  # noqa: BLE001 - any failure, recorded and alerted
                # One tenant's broken state (its config, one of its rows) must not leave
                # every other tenant's interrupted sends unresolved: the lease stays
                # expired, so the next pass tries this one again.
                tenant_failed("reconcile", row.slug, exc)
                outcome = "failed"
            counts[outcome] = counts.get(outcome, 0) + 1
        if counts:
            log.info("reconciled", **counts)
        return counts

    def _resolve(self, attempt: Any, now: datetime) -> str:
        if attempt.body is None:
            return self._release(attempt, now, "it was never handed to the provider")
        provider = self.pool.named(attempt.slug, attempt.provider)
        if provider is not None and provider.adapter.can_look_up:
            try:
                receipt = provider.adapter.lookup(_message(attempt))
            except ProviderError as exc:
                log.warning(
                    "lookup failed; trying again later", provider=attempt.provider, error=str(exc)
                )
                return "lookup_failed"
            if receipt is None:
                return self._release(attempt, now, f"{attempt.provider} has no record of it")
            return self._confirm(attempt, receipt, now)
        policy = self.config.get().channels_for(attempt.slug).dispatch
        if now - attempt.at < timedelta(seconds=policy.unknown_after_seconds):
            return "waiting_for_report"
        return self._unknown(attempt, now)

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
