"""How long personal data is kept: stored ``Idempotency-Key`` answers, the text of the
messages sent, and providers' payloads.

An idempotency record holds a whole response (an account with its borrower's name, numbers
and addresses). It exists so a client that lost an answer can retry within a day or so; kept
for ever, it would be a second, unaccounted copy of personal data. Records older than their
time to live answer nothing (a retry after that is a new request) and the scheduler deletes
them. The ledger, the compliance record, is not touched here: it is kept as the law asks.

Each tenant sets how long the text of its messages (``attempts.subject``/``body``) and the
providers' payloads about them are kept (``retention`` in its channel config, 90 and 30 days
by default): past that, the text and the payload are removed and the facts stay (who was
contacted on which channel when, with which outcome). A message still being sent keeps its
text until its outcome is known: it is what the reconciler asks the provider about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.domain import DeliveryStatus
from orchestrator.store.tables import Attempt, DeliveryReport, IdempotencyRecord

IDEMPOTENCY_TTL = timedelta(hours=24)


def expire_idempotency_records(
    conn: Connection, now: datetime, ttl: timedelta = IDEMPOTENCY_TTL
) -> int:
    """Delete the stored answers older than ``ttl``; how many were deleted."""
    return int(
        conn.execute(
            sa.delete(IdempotencyRecord).where(IdempotencyRecord.created_at < now - ttl)
        ).rowcount
    )


@dataclass(frozen=True, slots=True)
class RetentionRule:
    """How long one tenant's message texts and provider payloads are kept."""

    message_bodies: timedelta = timedelta(days=90)
    provider_payloads: timedelta = timedelta(days=30)


@dataclass(slots=True)
class Expired:
    """What one retention pass removed."""

    bodies: int = 0
    payloads: int = 0


def apply_retention(
    conn: Connection,
    now: datetime,
    rules: Mapping[int, RetentionRule],
    default: RetentionRule = RetentionRule(),
) -> Expired:
    """Remove message texts and provider payloads older than their tenant's rule.

    Parameters:
      rules: tenant id → its rule; a tenant not listed gets ``default``.
      default: also the rule for payloads about no attempt (inbound texts, unmatched
        reports), which belong to no tenant.
    """
    expired = Expired()
    tenants = [row.id for row in conn.execute(sa.select(Attempt.tenant_id.label("id")).distinct())]
    for tenant_id in tenants:
        rule = rules.get(tenant_id, default)
        expired.bodies += conn.execute(
            sa.update(Attempt)
            .where(
                Attempt.tenant_id == tenant_id,
                Attempt.at < now - rule.message_bodies,
                Attempt.status != DeliveryStatus.SENDING.value,
                sa.or_(Attempt.body.is_not(None), Attempt.subject.is_not(None)),
            )
            .values(subject=None, body=None)
        ).rowcount
        about = sa.select(Attempt.id).where(Attempt.tenant_id == tenant_id)
        expired.payloads += conn.execute(
            sa.update(DeliveryReport)
            .where(
                DeliveryReport.received_at < now - rule.provider_payloads,
                DeliveryReport.payload.is_not(None),
                DeliveryReport.attempt_id.in_(about),
            )
            .values(payload=None)
        ).rowcount
    expired.payloads += conn.execute(
        sa.update(DeliveryReport)
        .where(
            DeliveryReport.received_at < now - default.provider_payloads,
            DeliveryReport.payload.is_not(None),
            DeliveryReport.attempt_id.is_(None),
        )
        .values(payload=None)
    ).rowcount
    return expired
