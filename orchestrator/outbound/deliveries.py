"""A tenant's deliveries, for the API: listed newest first with their attempts, and
replayed (one or many) with a fresh retry schedule."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from orchestrator.outbound.delivery import PENDING
from orchestrator.store.tables import (
    Account,
    LenderEvent,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)

STATUSES = ("pending", "delivered", "dead", "cancelled")


def _query() -> Any:
    return (
        sa.select(
            WebhookDelivery.id,
            WebhookDelivery.ref,
            WebhookDelivery.status,
            WebhookDelivery.attempts,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.last_status_code,
            WebhookDelivery.last_error,
            WebhookDelivery.delivered_at,
            WebhookDelivery.created_at,
            WebhookDelivery.updated_at,
            WebhookEndpoint.ref.label("endpoint"),
            LenderEvent.ref.label("event"),
            LenderEvent.type.label("event_type"),
            Account.external_id,
        )
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .join(LenderEvent, LenderEvent.id == WebhookDelivery.event_id)
        .join(Account, Account.id == WebhookDelivery.account_id)
    )


def listed(
    conn: Connection,
    tenant_id: int,
    *,
    status: str | None = None,
    endpoint_ref: str | None = None,
    event_ref: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[Row[Any]]:
    """The tenant's deliveries, newest first, filtered."""
    query = _query().where(WebhookDelivery.tenant_id == tenant_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    if endpoint_ref is not None:
        query = query.where(WebhookEndpoint.ref == endpoint_ref)
    if event_ref is not None:
        query = query.where(LenderEvent.ref == event_ref)
    if since is not None:
        query = query.where(WebhookDelivery.created_at >= since)
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    return list(conn.execute(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def find(conn: Connection, tenant_id: int, ref: str) -> Row[Any] | None:
    return conn.execute(
        _query().where(WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.ref == ref)
    ).first()


def attempts_of(conn: Connection, delivery_ids: Sequence[int]) -> dict[int, list[Row[Any]]]:
    """Each delivery's attempts, oldest first."""
    found: dict[int, list[Row[Any]]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    for row in conn.execute(
        sa.select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.id)
    ):
        found[row.delivery_id].append(row)
    return found


def replay(
    conn: Connection, tenant_id: int, delivery_ids: Sequence[int], now: datetime
) -> list[str]:
    """Deliver these deliveries of the tenant again, now, with a fresh retry schedule (their
    past attempts stay listed; receivers see the same ``webhook-id``). Skipped: those in
    flight (leased) and those of a deleted endpoint. The refs replayed."""
    if not delivery_ids:
        return []
    live = sa.select(WebhookEndpoint.id).where(
        WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
    )
    return list(
        conn.execute(
            sa.update(WebhookDelivery)
            .where(
                WebhookDelivery.tenant_id == tenant_id,
                WebhookDelivery.id.in_(delivery_ids),
                WebhookDelivery.endpoint_id.in_(live),
                sa.or_(
                    WebhookDelivery.status != PENDING,
                    WebhookDelivery.lease_until.is_(None),
                    WebhookDelivery.lease_until < now,
                ),
            )
            .values(
                status=PENDING,
                attempts=0,
                next_attempt_at=now,
                lease_until=None,
                delivered_at=None,
                updated_at=now,
            )
            .returning(WebhookDelivery.ref)
        ).scalars()
    )


def ids_of(conn: Connection, tenant_id: int, refs: Sequence[str]) -> dict[str, int]:
    """The tenant's deliveries among ``refs``: ref → id (another tenant's are not found)."""
    return {
        row.ref: row.id
        for row in conn.execute(
            sa.select(WebhookDelivery.ref, WebhookDelivery.id).where(
                WebhookDelivery.tenant_id == tenant_id, WebhookDelivery.ref.in_(list(refs))
            )
        )
    }


def selected(
    conn: Connection,
    tenant_id: int,
    *,
    status: str,
    endpoint_ref: str | None,
    since: datetime | None,
    limit: int,
) -> list[int]:
    """Ids of the tenant's deliveries in ``status`` (of one endpoint, since an instant),
    oldest first, at most ``limit``: what a bulk replay takes."""
    return [
        row.id
        for row in reversed(
            listed(
                conn, tenant_id, status=status, endpoint_ref=endpoint_ref, since=since, limit=limit
            )
        )
    ]


def refs_of(conn: Connection, delivery_ids: Sequence[int]) -> list[str]:
    """The refs of these deliveries, in the order given."""
    found = {
        row.id: row.ref
        for row in conn.execute(
            sa.select(WebhookDelivery.id, WebhookDelivery.ref).where(
                WebhookDelivery.id.in_(list(delivery_ids))
            )
        )
    }
    return [found[i] for i in delivery_ids if i in found]
