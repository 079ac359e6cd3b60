"""Applying what providers report: each report stored once, then handed to what it is about.

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

import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from opentelemetry import trace
from sqlalchemy.engine import Connection

from channels.base import Report, ReportKind
from orchestrator import ledger, tracing
from orchestrator.domain import (
    Channel,
)
from orchestrator.inbound.calls import apply_call
from orchestrator.inbound.changes import Changed
from orchestrator.inbound.delivery import apply_delivery
from orchestrator.inbound.replies import apply_reply
from orchestrator.logs import mask_text
from orchestrator.metrics import DELIVERY_REPORTS, WEBHOOK_LAG
from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import Account, Attempt, ContactPoint, DeliveryReport
from orchestrator.store.types import address_lookup

AccountsChanged = Callable[[Connection, int, set[int], datetime], None]


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
    changed: Changed = field(default_factory=dict)

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
    received = time.monotonic()
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
            apply_reply(conn, provider, report, now, accounts, replies_inline, applied.changed)
        elif not matched:
            applied.unmatched += 1
        else:
            with _in_send_trace(conn, attempt, provider, report):
                if report.kind is ReportKind.CALL:
                    apply_call(conn, attempt, report, now, applied.changed)
                else:
                    apply_delivery(conn, attempt, report, now, applied.changed)
    for tenant_id, ids in applied.changed.items():
        accounts_changed(conn, tenant_id, ids, now)
    _observe_lag(provider, applied.fresh, now, time.monotonic() - received)
    return applied


@contextmanager
def _in_send_trace(conn: Connection, attempt: Any, provider: str, report: Report) -> Iterator[None]:
    """A ``webhook.apply`` span in the trace the attempt's task was planned and sent in
    (its first ledger entry has the id: a report can arrive before the sender recorded
    ``attempt.sent``), linked to the webhook request's own span, so the report's ledger
    entries carry the task's trace id. Without tracing, nothing is looked up."""
    request = trace.get_current_span()
    if not request.is_recording():
        yield
        return
    sent_in = ledger.task_trace_ids(conn, [(attempt.account_id, attempt.task_id)]).get(
        attempt.task_id
    )
    parent = None
    if sent_in is not None:
        remote = trace.SpanContext(
            trace_id=int(sent_in, 16),
            span_id=random.getrandbits(64) or 1,
            is_remote=True,
            trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
        )
        parent = trace.set_span_in_context(trace.NonRecordingSpan(remote))
    with tracing.tracer().start_as_current_span(
        "webhook.apply",
        context=parent,
        links=[trace.Link(request.get_span_context())],
        attributes={
            "orchestrator.provider": provider,
            "orchestrator.report": report.kind.value,
            "orchestrator.attempt_id": attempt.id,
        },
    ):
        yield


def _observe_lag(provider: str, fresh: Sequence[Report], now: datetime, applying: float) -> None:
    """Webhook lag: from the provider's event (its own time, on the same clock as ``now``)
    to now, or, for a report without one, the time it took us from receipt to applied."""
    for report in fresh:
        if report.occurred_at is not None:
            lag = max(0.0, (now - report.occurred_at).total_seconds())
            WEBHOOK_LAG.labels(provider, "event").observe(lag)
        else:
            WEBHOOK_LAG.labels(provider, "received").observe(applying)


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


def _accounts_for(conn: Connection, report: Report, tenants: Sequence[int] | None) -> list[Any]:
    """The accounts an inbound message concerns: those with its sender's address on the
    report's channel (an SMS number unless the report says otherwise; by its keyed hash: the
    addresses are sealed), on a tenant's route only that tenant's."""
    if not report.sender:
        return []
    channel = report.channel or Channel.SMS
    query = (
        sa.select(Account.id, Account.tenant_id)
        .join(ContactPoint, ContactPoint.account_id == Account.id)
        .where(
            ContactPoint.channel == channel.value,
            address_lookup(ContactPoint.address_hash, report.sender, conn.dialect),
        )
    )
    if tenants is not None:
        query = query.where(Account.tenant_id.in_(tenants))
    return list(conn.execute(query.distinct()).all())


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
