"""Applying what providers report: delivery statuses, call outcomes and borrowers' replies.

Every report is stored once (``delivery_reports``, keyed by the adapter's dedupe key within
the route it came on), so a replayed webhook changes nothing. A report is only ever a replay
of one that came on the same route (whose credentials signed it) and that also matched, or
also did not match, something we know: a report that concerned nothing, early, misrouted or
forged with a tenant's own credentials, can never make the genuine one a duplicate.

An attempt's status only moves forward (queued → sent → delivered / undelivered / failed /
bounced): a late ``sent`` never overwrites ``delivered``, whatever order the reports arrive
in. Call outcomes become the facts the compliance engine
counts (a conversation starts Regulation F's 7-day call pause); a STOP becomes an opt-out at
once, cancelling what it forbids.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channels.base import Report, ReportKind
from orchestrator import ledger
from orchestrator.accounts import record_provider_event
from orchestrator.domain import (
    CallOutcome,
    Channel,
    ContactKind,
    DeliveryStatus,
    EventType,
    Purpose,
    TaskStatus,
)
from orchestrator.logs import mask_text
from orchestrator.metrics import DELIVERY_REPORTS
from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import Account, Attempt, ContactPoint, DeliveryReport, Task

AccountsChanged = Callable[[Connection, int, set[int], datetime], None]

_FAILED = (DeliveryStatus.UNDELIVERED, DeliveryStatus.FAILED, DeliveryStatus.BOUNCED)
_TASK_AFTER = {
    DeliveryStatus.QUEUED: TaskStatus.SENT,
    DeliveryStatus.SENT: TaskStatus.SENT,
    DeliveryStatus.DELIVERED: TaskStatus.DELIVERED,
    DeliveryStatus.UNDELIVERED: TaskStatus.FAILED,
    DeliveryStatus.FAILED: TaskStatus.FAILED,
    DeliveryStatus.BOUNCED: TaskStatus.FAILED,
}
_CALL_EVENTS = {
    CallOutcome.PROMISE_TO_PAY: EventType.PROMISE_TO_PAY,
    CallOutcome.DISPUTE: EventType.DISPUTE,
    CallOutcome.CEASE_REQUEST: EventType.CEASE_COMMUNICATION,
}
CONFIRMATION_STEP = "system.opt_out_confirmation"
# Larger than any debt, and within the store's NUMERIC(20, 4).
_MAX_AMOUNT = Decimal(10) ** 15


@dataclass(slots=True)
class Applied:
    """What one webhook's reports did.

    Parameters:
      fresh: the reports seen for the first time (a replay's are not): only these may
        answer the provider with a message to the borrower (a TwiML opt-out confirmation).
      unmatched: new reports that concern no attempt or account we know (stored, harmless).
      changed: tenant id → accounts whose events or contact points changed (re-planned).
    """

    fresh: list[Report] = field(default_factory=list)
    duplicates: int = 0
    unmatched: int = 0
    changed: dict[int, set[int]] = field(default_factory=dict)

    @property
    def new(self) -> int:
        return len(self.fresh)


def apply_reports(
    conn: Connection,
    provider: str,
    reports: Sequence[Report],
    *,
    now: datetime,
    route: str,
    tenants: Sequence[int] | None,
    replies_inline: bool,
    accounts_changed: AccountsChanged,
) -> Applied:
    """Apply ``reports`` from ``provider`` inside the caller's transaction.

    Parameters:
      route: the webhook route the reports came on: ``""`` for the global one (the
        platform's provider accounts), else the tenant's slug (its own accounts). Dedupe
        keys are the provider's and so only unique per provider account: one route's keys
        never collide with another's.
      tenants: whose accounts an inbound message may concern (those using this provider
        account); ``None`` for every tenant.
      replies_inline: the provider's webhook answer reaches the borrower (Twilio), so no
        separate opt-out confirmation is sent.
      accounts_changed: re-plans accounts whose events changed (holds stop what they forbid).
    """
    applied = Applied()
    for report in reports:
        DELIVERY_REPORTS.labels(provider, report.kind.value).inc()
        attempt: Any = None
        accounts: list[Any] = []
        if report.kind is ReportKind.INBOUND:
            accounts = _accounts_for(conn, report, tenants)
            matched = bool(accounts)
        else:
            attempt = _attempt_for(conn, provider, report, tenants)
            matched = attempt is not None
        stored = conn.execute(
            dialect_insert(conn, DeliveryReport)
            .values(
                provider=provider,
                route=route,
                dedupe_key=report.dedupe_key[:200],
                matched=matched,
                kind=report.kind.value,
                attempt_id=attempt.id if attempt is not None else None,
                status=report.status.value if report.status else None,
                payload=_payload(report),
                received_at=now,
            )
            .on_conflict_do_nothing(index_elements=["provider", "route", "dedupe_key", "matched"])
            .returning(DeliveryReport.id)
        ).scalar()
        if stored is None:
            applied.duplicates += 1
            continue
        applied.fresh.append(report)
        if accounts:
            _inbound(conn, provider, report, now, accounts, replies_inline, applied)
        elif not matched:
            applied.unmatched += 1
        elif report.kind is ReportKind.CALL:
            _call(conn, attempt, report, now, applied)
        else:
            _delivery(conn, attempt, report, now, applied)
    for tenant_id, ids in applied.changed.items():
        accounts_changed(conn, tenant_id, ids, now)
    return applied


def _attempt_for(
    conn: Connection, provider: str, report: Report, tenants: Sequence[int] | None
) -> Any:
    """The attempt a report is about: by our ref, else by the provider's message id; only
    an attempt sent through this provider, and on a tenant's route only that tenant's (a
    lender holding its own provider credentials can sign anything on its route)."""
    scope = [Attempt.provider == provider]
    if tenants is not None:
        scope.append(Attempt.tenant_id.in_(tenants))
    if report.attempt_ref:
        found = conn.execute(
            sa.select(Attempt).where(Attempt.ref == report.attempt_ref, *scope)
        ).first()
        if found is not None:
            return found
    if report.provider_message_id:
        return conn.execute(
            sa.select(Attempt).where(
                Attempt.provider_message_id == report.provider_message_id, *scope
            )
        ).first()
    return None


def _rank(status: str) -> int:
    try:
        return DeliveryStatus(status).rank
    except ValueError:
        return -1  # reserved / unknown: any report tells us more


def _move_status(conn: Connection, attempt: Any, report: Report, now: datetime) -> bool:
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


def _record_sent(conn: Connection, attempt: Any, report: Report, now: datetime) -> None:
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


def _delivery(
    conn: Connection, attempt: Any, report: Report, now: datetime, applied: Applied
) -> None:
    """A status report. The status moves forward only; what the report says about the
    address (dead, opted out) is a fact about the borrower and applies even when the status
    itself is late (an ``unsubscribe`` after ``delivered``, a bounce after a retry)."""
    status = report.status
    moves = _move_status(conn, attempt, report, now)
    if moves:
        _record_sent(conn, attempt, report, now)
    notes: list[str] = []
    task_status: TaskStatus | None = None
    if moves:
        assert status is not None
        notes.append(
            f"{attempt.channel} {status} ({attempt.provider}"
            + (f" {report.error_code})" if report.error_code else ")")
        )
        task_status = _TASK_AFTER[status]
    if report.invalid_address and _invalidate(
        conn, attempt, f"{attempt.provider} {report.error_code or status or 'report'}", now
    ):
        notes.append(f"{mask_text(attempt.address)} marked invalid")
        applied.changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
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
        applied.changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    # The address can never take this message (dead, or its owner opted out): the task
    # tries its next route rather than failing.
    unusable = report.invalid_address or report.opted_out
    if moves and status in _FAILED and unusable and _fail_over(conn, attempt, now):
        task_status = None
        notes.append("trying the next channel")
    if task_status is not None:
        conn.execute(
            sa.update(Task)
            .where(Task.id == attempt.task_id, Task.status.in_(_before(task_status)))
            .values(status=task_status.value, updated_at=now)
        )
    if not notes:
        return  # late or repeated: a status never moves backwards, and nothing else to note
    what = status.value if moves and status else report.details.get("event") or "report"
    ledger.append(
        conn, [_entry(attempt, now, f"delivery.{what}", "; ".join(notes), report.error_code)]
    )


def _before(status: TaskStatus) -> list[str]:
    """Task statuses a report may move on from (never back from a final one)."""
    order = [TaskStatus.SENDING, TaskStatus.UNKNOWN, TaskStatus.SENT]
    if status is TaskStatus.SENT:
        return [s.value for s in order[:2]]
    return [s.value for s in order]


def _fail_over(conn: Connection, attempt: Any, now: datetime) -> bool:
    """A refusal for good (a hard bounce, an opted-out recipient) on a task that has fallback
    routes left: plan the next one now (the sweeper queues it, dispatch re-checks every rule
    for the new channel)."""
    task = conn.execute(sa.select(Task).where(Task.id == attempt.task_id)).one()
    if not task.fallback or task.expires_at <= now:
        return False
    (channel, template), *rest = task.fallback
    return bool(
        conn.execute(
            sa.update(Task)
            .where(
                Task.id == task.id,
                Task.status.in_([TaskStatus.SENT.value, TaskStatus.SENDING.value]),
            )
            .values(
                status=TaskStatus.PLANNED.value,
                channel=channel,
                template=template,
                fallback=rest,
                not_before=now,
                not_after=task.expires_at,
                updated_at=now,
            )
        ).rowcount
    )


# How much of a conversation a call was: a later report never weakens what an earlier one
# established (the stricter reading for the rules that count calls).
_CALL_WEIGHT = {
    ContactKind.NOT_CONNECTED.value: 0,
    ContactKind.ATTEMPT.value: 1,
    ContactKind.LIMITED_CONTENT.value: 2,
    ContactKind.CONVERSATION.value: 3,
}


def _call(conn: Connection, attempt: Any, report: Report, now: datetime, applied: Applied) -> None:
    """How a call ended. Progress reports (ringing, in progress) only move its status."""
    outcome = report.call_outcome
    if outcome is None:
        _delivery(conn, attempt, report, now, applied)
        return
    kind = outcome.contact_kind
    status = report.status or (
        DeliveryStatus.UNDELIVERED
        if kind is ContactKind.NOT_CONNECTED
        else DeliveryStatus.DELIVERED
    )
    if _move_status(conn, attempt, replace(report, status=status), now):
        _record_sent(conn, attempt, report, now)
    # The outcome is taken unless a stronger one is already recorded (checked in the UPDATE,
    # like the status, so concurrent reports cannot weaken it either).
    stronger = [k for k, weight in _CALL_WEIGHT.items() if weight > _CALL_WEIGHT[kind.value]]
    took = conn.execute(
        sa.update(Attempt)
        .where(
            Attempt.id == attempt.id,
            sa.or_(Attempt.call_outcome.is_(None), Attempt.contact_kind.not_in(stronger)),
        )
        .values(call_outcome=outcome.value, contact_kind=kind.value, updated_at=now)
    ).rowcount
    conn.execute(
        sa.update(Task)
        .where(Task.id == attempt.task_id, Task.status.in_(_before(TaskStatus.DELIVERED)))
        .values(status=_TASK_AFTER.get(status, TaskStatus.DELIVERED).value, updated_at=now)
    )
    counted = (
        kind
        if took
        else ContactKind(
            conn.execute(
                sa.select(Attempt.contact_kind).where(Attempt.id == attempt.id)
            ).scalar_one()
        )
    )
    notes = [
        f"call ended: {outcome.value.replace('_', ' ')} — counted as "
        f"{counted.value.replace('_', ' ')}"
    ]
    event = _CALL_EVENTS.get(outcome)
    if event is not None:
        until, amount = _promise(report.details)
        promise = event is EventType.PROMISE_TO_PAY
        record_provider_event(
            conn,
            attempt.account_id,
            event,
            None,
            now,
            source="call",
            amount=amount if promise else None,
            # A promise with no readable date still pauses collection, for the rule pack's
            # grace period from now: losing the promise would be worse.
            until=(until or now) if promise else None,
        )
        notes.append(f"{event.value.replace('_', ' ')} recorded")
        if promise and until is None:
            notes.append("no readable promised date: paused for the grace period from today")
        applied.changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    if outcome is CallOutcome.WRONG_NUMBER:
        _invalidate(
            conn, attempt, "wrong number (call outcome)", now, channels=(Channel.CALL, Channel.SMS)
        )
        notes.append(f"{mask_text(attempt.address)} is not the borrower's: marked invalid")
        applied.changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    if kind is ContactKind.CONVERSATION:
        # A conversation locks calls for seven days: pending calls move past it now.
        applied.changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    ledger.append(conn, [_entry(attempt, now, f"call.{outcome.value}", "; ".join(notes), None)])


def _promise(details: Any) -> tuple[date | None, Decimal | None]:
    """The promised date and amount a dialer reported. Unreadable values (a date that is not
    ISO 8601, an amount that is not a plausible positive number) are left out: the promise itself is
    still recorded."""
    until = amount = None
    text = details.get("promise_date") or details.get("date")
    if text:
        try:
            until = date.fromisoformat(str(text))
        except ValueError:
            until = None
    raw_amount = details.get("promise_amount") or details.get("amount")
    if raw_amount:
        try:
            amount = Decimal(str(raw_amount))
        except InvalidOperation:
            amount = None
        if amount is not None and not (amount.is_finite() and 0 < amount < _MAX_AMOUNT):
            amount = None
    return until, amount


def _accounts_for(conn: Connection, report: Report, tenants: Sequence[int] | None) -> list[Any]:
    """The accounts an inbound message concerns: those with its sender's number, on a
    tenant's route only that tenant's."""
    if not report.sender:
        return []
    query = (
        sa.select(Account.id, Account.tenant_id)
        .join(ContactPoint, ContactPoint.account_id == Account.id)
        .where(ContactPoint.channel == Channel.SMS.value, ContactPoint.address == report.sender)
    )
    if tenants is not None:
        query = query.where(Account.tenant_id.in_(tenants))
    return list(conn.execute(query.distinct()).all())


def _inbound(
    conn: Connection,
    provider: str,
    report: Report,
    now: datetime,
    accounts: Sequence[Any],
    replies_inline: bool,
    applied: Applied,
) -> None:
    intent = report.details.get("intent", "opt_out" if report.opted_out else "other")
    for account in accounts:
        if report.opted_out:
            record_provider_event(
                conn, account.id, EventType.OPT_OUT, Channel.SMS, now, source="inbound"
            )
            message = f"the borrower replied to stop texts ({provider}): SMS opt-out recorded"
            if not replies_inline:
                _plan_confirmation(conn, account, now)
                message += "; one confirmation text planned"
            applied.changed.setdefault(account.tenant_id, set()).add(account.id)
        elif intent == "opt_in":
            record_provider_event(
                conn, account.id, EventType.OPT_IN, Channel.SMS, now, source="inbound"
            )
            message = f"the borrower replied to resume texts ({provider}): SMS opt-in recorded"
            applied.changed.setdefault(account.tenant_id, set()).add(account.id)
        else:
            message = (
                f"the borrower replied by SMS ({provider}, {intent}); the text itself is not "
                "kept (the provider holds it under the message's id)"
            )
        ledger.append(
            conn,
            [
                ledger.entry(
                    tenant_id=account.tenant_id,
                    account_id=account.id,
                    at=now,
                    kind=f"inbound.{intent}",
                    message=message,
                    channel=Channel.SMS.value,
                )
            ],
        )


def _plan_confirmation(conn: Connection, account: Any, now: datetime) -> None:
    """The one confirmation an opt-out is owed (CTIA 5.1.2), when the provider cannot answer
    inline: a task with its own purpose, which the opt-out hold lets through and nothing
    else."""
    conn.execute(
        dialect_insert(conn, Task)
        .values(
            tenant_id=account.tenant_id,
            account_id=account.id,
            strategy="system",
            step=CONFIRMATION_STEP,
            variant="",
            channel=Channel.SMS.value,
            template="opt_out_confirmation",
            purpose=Purpose.OPT_OUT_CONFIRMATION.value,
            fallback=[],
            local_date=now.date(),
            not_before=now,
            not_after=now + timedelta(hours=12),
            expires_at=now + timedelta(days=1),
            status=TaskStatus.PLANNED.value,
            reasons=[],
            created_at=now,
            updated_at=now,
        )
        .on_conflict_do_nothing(index_elements=["tenant_id", "account_id", "step", "local_date"])
    )


def _invalidate(
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
    changed = conn.execute(
        sa.update(ContactPoint)
        .where(
            ContactPoint.account_id == attempt.account_id,
            ContactPoint.channel.in_(wanted),
            ContactPoint.address == attempt.address,
            ContactPoint.invalid_at.is_(None),
        )
        .values(invalid_at=now, invalid_reason=reason[:200])
    ).rowcount
    return bool(changed)


def _entry(
    attempt: Any, now: datetime, kind: str, message: str, error: str | None
) -> dict[str, Any]:
    data = {"error_code": error} if error else None
    return ledger.for_attempt(attempt, at=now, kind=kind, message=message, data=data)


def _payload(report: Report) -> dict[str, Any]:
    return {
        "attempt_ref": report.attempt_ref,
        "provider_message_id": report.provider_message_id,
        "status": report.status.value if report.status else None,
        "call_outcome": report.call_outcome.value if report.call_outcome else None,
        "error_code": report.error_code,
        "invalid_address": report.invalid_address,
        "opted_out": report.opted_out,
        "sender": mask_text(report.sender) if report.sender else None,
        # A borrower's free text may say anything (health, family, other people's numbers):
        # we keep what we acted on, the intent in ``details``, and how long the text was.
        "text_chars": len(report.text) if report.text is not None else None,
        "occurred_at": report.occurred_at.isoformat() if report.occurred_at else None,
        "details": dict(report.details),
    }
