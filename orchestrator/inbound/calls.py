"""Call outcomes: how a call ended becomes what the compliance engine counts (a conversation
starts Regulation F's seven-day call pause), and a promise, dispute or cease request said on
the call becomes the account's event."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from channels.base import Report
from orchestrator import ledger
from orchestrator.domain import (
    CallOutcome,
    Channel,
    ContactKind,
    DeliveryStatus,
    EventType,
    TaskStatus,
)
from orchestrator.inbound.changes import Changed
from orchestrator.inbound.delivery import (
    TASK_AFTER,
    apply_delivery,
    invalidate,
    ledger_entry,
    move_status,
    record_sent,
)
from orchestrator.intake.accounts import record_provider_event
from orchestrator.logs import mask_text
from orchestrator.store.tables import Attempt
from orchestrator.tasks import transitions

_CALL_EVENTS = {
    CallOutcome.PROMISE_TO_PAY: EventType.PROMISE_TO_PAY,
    CallOutcome.DISPUTE: EventType.DISPUTE,
    CallOutcome.CEASE_REQUEST: EventType.CEASE_COMMUNICATION,
}
# Larger than any debt, and within the store's NUMERIC(20, 4).
_MAX_AMOUNT = Decimal(10) ** 15


# How much of a conversation a call was: a later report never weakens what an earlier one
# established (the stricter reading for the rules that count calls).
_CALL_WEIGHT = {
    ContactKind.NOT_CONNECTED.value: 0,
    ContactKind.ATTEMPT.value: 1,
    ContactKind.LIMITED_CONTENT.value: 2,
    ContactKind.CONVERSATION.value: 3,
}


def apply_call(
    conn: Connection, attempt: Any, report: Report, now: datetime, changed: Changed
) -> None:
    """How a call ended. Progress reports (ringing, in progress) only move its status."""
    outcome = report.call_outcome
    if outcome is None:
        apply_delivery(conn, attempt, report, now, changed)
        return
    kind = outcome.contact_kind
    status = report.status or (
        DeliveryStatus.UNDELIVERED
        if kind is ContactKind.NOT_CONNECTED
        else DeliveryStatus.DELIVERED
    )
    if move_status(conn, attempt, replace(report, status=status), now):
        record_sent(conn, attempt, report, now)
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
    transitions.report(
        conn,
        attempt.task_id,
        TASK_AFTER.get(status, TaskStatus.DELIVERED),
        now,
        moves_from=TaskStatus.DELIVERED,
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
        changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    if outcome is CallOutcome.WRONG_NUMBER:
        invalidate(
            conn, attempt, "wrong number (call outcome)", now, channels=(Channel.CALL, Channel.SMS)
        )
        notes.append(f"{mask_text(attempt.address)} is not the borrower's: marked invalid")
        changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    if kind is ContactKind.CONVERSATION:
        # A conversation locks calls for seven days: pending calls move past it now.
        changed.setdefault(attempt.tenant_id, set()).add(attempt.account_id)
    ledger.append(
        conn, [ledger_entry(attempt, now, f"call.{outcome.value}", "; ".join(notes), None)]
    )


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
