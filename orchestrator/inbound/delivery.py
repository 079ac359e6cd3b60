"""Delivery reports: an attempt's status moves forward only, the task follows it, a dead or
opted-out address is marked at once, and a message the address can never take fails over to
the task's next route."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channels.base import Report
from orchestrator import ledger, outbox
from orchestrator.domain import (
    Channel,
    ContactKind,
    DeliveryStatus,
    EventType,
    TaskStatus,
)
from orchestrator.inbound.changes import Changed
from orchestrator.intake.accounts import record_provider_event
from orchestrator.logs import mask_text
from orchestrator.store.tables import Attempt, ContactPoint, Task
from orchestrator.store.types import address_lookup
from orchestrator.tasks import transitions

_FAILED = (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
TASK_AFTER = {
    DeliveryStatus.QUEUED: TaskStatus.SENT,
    DeliveryStatus.SENT: TaskStatus.SENT,
    DeliveryStatus.DELIVERED: TaskStatus.DELIVERED,
    DeliveryStatus.UNDELIVERED: TaskStatus.FAILED,
    DeliveryStatus.FAILED: TaskStatus.FAILED,
    DeliveryStatus.BOUNCED: TaskStatus.FAILED,
}


def _rank(status: str) -> int:
    try:
        return DeliveryStatus(status).rank
    except ValueError:
        return -1  # reserved / unknown: any report tells us more


def move_status(conn: Connection, attempt: Any, report: Report, now: datetime) -> bool:
    """Move the attempt to the report's status if that is forward; whether it moved.

    The check is in the UPDATE itself, not in what was read before: two reports applied at
    the same moment by two API workers (``sent`` and ``delivered``) then cannot move the
    status back whichever commits last — PostgreSQL re-checks the condition on the row it
    waited for.
    """
    status = report.status
    if status is None or _rank(status.value) <= _rank(attempt.status):
        return False
    at_or_beyond = [s.value for s in DeliveryStatus if s.rank >= status.rank]
    moved = conn.execute(
        sa.update(Attempt)
        .where(Attempt.id == attempt.id, Attempt.status.not_in(at_or_beyond))
        .values(
            status=status.value,
            provider_message_id=sa.func.coalesce(
                Attempt.provider_message_id, report.provider_message_id
            ),
            # The provider has the message: a reserved contact was made.
            contact_kind=sa.case(
                (Attempt.contact_kind == ContactKind.RESERVED.value, ContactKind.ATTEMPT.value),
                else_=Attempt.contact_kind,
            ),
            error_code=sa.func.coalesce(report.error_code, Attempt.error_code),
            lease_until=None,
            updated_at=now,
        )
    ).rowcount
    return bool(moved)


# Statuses in which the send itself is not in the ledger: the sender stopped (a crash)
# after the provider accepted the message and before recording it, or the reconciler could
# not ask the provider and recorded the outcome as unknown.
_UNRECORDED = frozenset({DeliveryStatus.SENDING.value, "unknown"})


def record_sent(conn: Connection, attempt: Any, report: Report, now: datetime) -> None:
    """A report about an attempt whose send was never recorded proves the provider accepted
    it: the ledger, the compliance record, gets its ``attempt.sent`` entry now (once)."""
    if attempt.status not in _UNRECORDED:
        return
    if ledger.sent_recorded(conn, attempt.account_id, attempt.id):
        return
    message_id = attempt.provider_message_id or report.provider_message_id
    ledger.append(
        conn,
        [
            ledger.for_attempt(
                attempt,
                at=attempt.at,
                kind=ledger.SENT,
                message=(
                    f"sent {attempt.channel} via {attempt.provider} to "
                    f"{mask_text(attempt.address)}"
                    + (f" ({message_id})" if message_id else "")
                    + f"; learnt from {attempt.provider}'s report at "
                    f"{now.isoformat().replace('+00:00', 'Z')}: the send was not recorded when "
                    "it was made"
                ),
            )
        ],
    )
    outbox.attempt_sent(conn, attempt.task_id, attempt.id, now)


def apply_delivery(
    conn: Connection, attempt: Any, report: Report, now: datetime, changed: Changed
) -> None:
    """A status report. The status moves forward only; what the report says about the
    address (dead, opted out) is a fact about the borrower and applies even when the status
    itself is late (an ``unsubscribe`` after ``delivered``, a bounce after a retry)."""
    status = report.status
    moves = move_status(conn, attempt, report, now)
    if moves:
        record_sent(conn, attempt, report, now)
    notes: list[str] = []
    task_status: TaskStatus | None = None
    if moves:
        assert status is not None
        notes.append(
            f"{attempt.channel} {status} ({attempt.provider}"
            + (f" {report.error_code})" if report.error_code else ")")
        )
        task_status = TASK_AFTER[status]
    if report.invalid_address and invalidate(
        conn, attempt, f"{attempt.provider} {report.error_code or status or 'report'}", now
    ):
        notes.append(f"{mask_text(attempt.address)} marked invalid")
        changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    if report.opted_out:
        record_provider_event(
            conn,
            attempt.account_id,
            EventType.OPT_OUT,
            Channel(attempt.channel),
            now,
            source="provider",
        )
        notes.append(f"opt-out on {attempt.channel} recorded")
        changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    # The address can never take this message (dead, or its owner opted out): the task
    # tries its next route rather than failing.
    unusable = report.invalid_address or report.opted_out
    if moves and status in _FAILED and unusable and _fail_over(conn, attempt, now):
        task_status = None
        notes.append("trying the next channel")
    if task_status is not None:
        closed = transitions.report(conn, attempt.task_id, task_status, now)
        if closed and task_status is TaskStatus.FAILED:
            outbox.message_failed(
                conn,
                attempt.task_id,
                f"{attempt.provider} reported {status}"
                + (f" ({report.error_code})" if report.error_code else ""),
                [],
                now,
            )
    if not notes:
        return  # late or repeated: a status never moves backwards, and nothing else to note
    what = status.value if moves and status else report.details.get("event") or "report"
    ledger.append(
        conn, [ledger_entry(attempt, now, f"delivery.{what}", "; ".join(notes), report.error_code)]
    )


def _fail_over(conn: Connection, attempt: Any, now: datetime) -> bool:
    """A refusal for good (a hard bounce, an opted-out recipient) on a task that has fallback
    routes left: plan the next one now (the sweeper queues it, dispatch re-checks every rule
    for the new channel)."""
    task = conn.execute(sa.select(Task).where(Task.id == attempt.task_id)).one()
    return transitions.fail_over(conn, task, now)


def invalidate(
    conn: Connection,
    attempt: Any,
    reason: str,
    now: datetime,
    *,
    channels: Sequence[Channel] | None = None,
) -> bool:
    """Mark the attempt's address dead on ``channels`` (its own by default); whether any
    contact point was newly marked."""
    wanted = [c.value for c in channels] if channels else [attempt.channel]
    marked = list(
        conn.execute(
            sa.update(ContactPoint)
            .where(
                ContactPoint.account_id == attempt.account_id,
                ContactPoint.channel.in_(wanted),
                address_lookup(ContactPoint.address_hash, attempt.address, conn.dialect),
                ContactPoint.invalid_at.is_(None),
            )
            .values(invalid_at=now, invalid_reason=reason[:200])
            .returning(ContactPoint.channel)
        ).scalars()
    )
    outbox.contact_point_invalid(
        conn, attempt.tenant_id, attempt.account_id, marked, attempt.address, reason[:200], now
    )
    return bool(marked)


def ledger_entry(
    attempt: Any, now: datetime, kind: str, message: str, error: str | None
) -> dict[str, Any]:
    """A ledger entry about ``attempt``, with the provider's error code when it gave one."""
    data = {"error_code": error} if error else None
    return ledger.for_attempt(attempt, at=now, kind=kind, message=message, data=data)
