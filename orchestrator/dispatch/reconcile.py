"""Reconciling sends a crash or a silent provider left ambiguous.

An attempt still ``sending`` after its lease may or may not have reached the provider. Never
resent blindly (at most one send per task, invariant 4), it is resolved by evidence:

- no message body recorded: it was never handed over; release it and send again;
- the provider can be asked (``lookup``): it saw the message (sent) or it did not (send
  again, safely);
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
from orchestrator import ledger
from orchestrator.dispatch.pool import ProviderPool
from orchestrator.dispatch.reserve import ABANDONED
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, TaskStatus
from orchestrator.errors import ProviderError
from orchestrator.logs import get_logger
from orchestrator.services import Services
from orchestrator.store.tables import Attempt, Task, Tenant

log = get_logger(__name__)
UNKNOWN = "unknown"


class Reconciler:
    """Parameters:
    services: store, clock, configuration.
    pool: the providers (for ``lookup``).
    enqueue: puts a task back on the send queue.
    """

    def __init__(
        self, services: Services, pool: ProviderPool, enqueue: Callable[[int], None]
    ) -> None:
        self.services = services
        self.pool = pool
        self.enqueue = enqueue

    def run(self, now: datetime, *, limit: int = 200) -> dict[str, int]:
        """One pass over expired leases; returns how each was resolved."""
        store = self.services.store
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
            outcome = self._resolve(row, now)
            counts[outcome] = counts.get(outcome, 0) + 1
        if counts:
            log.info("reconciled", **counts)
        return counts

    def _resolve(self, attempt: Any, now: datetime) -> str:
        if attempt.body is None:
            return self._release(attempt, now, "it was never handed to the provider")
        provider = self.pool.named(attempt.slug, attempt.provider)
        if provider is not None and provider.adapter.supports_lookup:
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
        policy = self.services.config.get().channels_for(attempt.slug).dispatch
        if now - attempt.at < timedelta(seconds=policy.unknown_after_seconds):
            return "waiting_for_report"
        return self._unknown(attempt, now)

    def _release(self, attempt: Any, now: datetime, why: str) -> str:
        with self.services.store.transaction() as conn:
            released = conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == attempt.id, Attempt.status == DeliveryStatus.SENDING.value)
                .values(
                    status=DeliveryStatus.FAILED.value,
                    contact_kind=ContactKind.FAILED.value,
                    error_code=ABANDONED,
                    error_message=why,
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
            if not released:
                return "resolved_meanwhile"
            conn.execute(
                sa.update(Task)
                .where(Task.id == attempt.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.QUEUED.value, lease_until=None, updated_at=now)
            )
            ledger.append(
                conn,
                [
                    _entry(
                        attempt,
                        now,
                        "attempt.released",
                        f"interrupted send released: {why}; sending again",
                    )
                ],
            )
        self.enqueue(attempt.task_id)
        return "resent"

    def _confirm(self, attempt: Any, receipt: Receipt, now: datetime) -> str:
        with self.services.store.transaction() as conn:
            confirmed = conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == attempt.id, Attempt.status == DeliveryStatus.SENDING.value)
                .values(
                    status=receipt.status.value,
                    provider_message_id=receipt.provider_message_id,
                    contact_kind=ContactKind.ATTEMPT.value,
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
            if not confirmed:
                return "resolved_meanwhile"
            conn.execute(
                sa.update(Task)
                .where(Task.id == attempt.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.SENT.value, lease_until=None, updated_at=now)
            )
            ledger.append(
                conn,
                [
                    _entry(
                        attempt,
                        now,
                        "attempt.sent",
                        f"interrupted send confirmed by {attempt.provider} "
                        f"({receipt.provider_message_id})",
                    )
                ],
            )
        return "confirmed"

    def _unknown(self, attempt: Any, now: datetime) -> str:
        with self.services.store.transaction() as conn:
            marked = conn.execute(
                sa.update(Attempt)
                .where(Attempt.id == attempt.id, Attempt.status == DeliveryStatus.SENDING.value)
                .values(
                    status=UNKNOWN,
                    contact_kind=ContactKind.ATTEMPT.value,  # it may have happened: it counts
                    lease_until=None,
                    updated_at=now,
                )
            ).rowcount
            if not marked:
                return "resolved_meanwhile"
            conn.execute(
                sa.update(Task)
                .where(Task.id == attempt.task_id, Task.status == TaskStatus.SENDING.value)
                .values(status=TaskStatus.UNKNOWN.value, lease_until=None, updated_at=now)
            )
            ledger.append(
                conn,
                [
                    _entry(
                        attempt,
                        now,
                        "attempt.unknown",
                        f"outcome unknown: {attempt.provider} cannot be asked and sent no report; "
                        "not resent, so the borrower is contacted at most once",
                    )
                ],
            )
        return UNKNOWN


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


def _entry(attempt: Any, now: datetime, kind: str, message: str) -> dict[str, Any]:
    return ledger.entry(
        tenant_id=attempt.tenant_id,
        account_id=attempt.account_id,
        at=now,
        kind=kind,
        message=message,
        channel=attempt.channel,
        task_id=attempt.task_id,
        attempt_id=attempt.id,
    )
