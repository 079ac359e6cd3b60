"""Broken promises: a promise to pay whose date passed without the payments that cover it.

Nothing records a promise breaking, so a pass looks for them: promises whose ``until``
passed within the last :data:`LOOKBACK` (so a scheduler that was down catches up), of
tenants with an endpoint. A promise with an amount is broken when the payments recorded
between the promise and its date add up to less; one without an amount, when there was no
payment at all. Each is reported once (the event's key is the promise's id), however often
the pass runs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import outbox
from orchestrator.store.db import Store
from orchestrator.store.tables import AccountEvent, LenderEvent, WebhookEndpoint

LOOKBACK = timedelta(days=3)


def report_broken(conn: Connection, now: datetime, *, lookback: timedelta = LOOKBACK) -> int:
    """Emit ``promise.broken`` for promises broken since ``now - lookback``; how many."""
    tenants = (
        sa.select(WebhookEndpoint.tenant_id).where(WebhookEndpoint.deleted_at.is_(None)).distinct()
    )
    reported = sa.select(LenderEvent.key).where(
        LenderEvent.tenant_id == AccountEvent.tenant_id,
        LenderEvent.key
        == sa.literal(outbox.PROMISE_BROKEN + ":") + sa.cast(AccountEvent.id, sa.String),
    )
    promises = conn.execute(
        sa.select(AccountEvent)
        .where(
            AccountEvent.type == "promise_to_pay",
            AccountEvent.until.is_not(None),
            AccountEvent.until <= now,
            AccountEvent.until > now - lookback,
            AccountEvent.tenant_id.in_(tenants),
            ~sa.exists(reported),
        )
        .order_by(AccountEvent.until, AccountEvent.id)
    ).all()
    count = 0
    for promise in promises:
        paid = _paid(conn, promise)
        promised = promise.amount
        if (promised is None and paid) or (promised is not None and paid >= promised):
            continue
        emitted = outbox.emit(
            conn,
            promise.tenant_id,
            promise.account_id,
            outbox.PROMISE_BROKEN,
            {
                "promise": outbox.account_event_data(dict(promise._mapping))["event"],
                "paid": outbox.money(paid),
            },
            now,
            key=f"{outbox.PROMISE_BROKEN}:{promise.id}",
        )
        count += emitted is not None
    return count


def _paid(conn: Connection, promise: Any) -> Decimal:
    amounts = conn.execute(
        sa.select(AccountEvent.amount).where(
            AccountEvent.account_id == promise.account_id,
            AccountEvent.type == "payment",
            AccountEvent.at >= promise.at,
            AccountEvent.at <= promise.until,
        )
    ).scalars()
    return sum((a for a in amounts if a is not None), Decimal(0))


class BrokenPromises:
    """Runs :func:`report_broken` at most every ``every`` of the injected clock's time.

    Parameters:
      store: the store.
      every: time between passes, on the clock the caller's instants come from.
    """

    def __init__(self, store: Store, every: timedelta = timedelta(minutes=5)) -> None:
        self.store = store
        self.every = every
        self._next: datetime | None = None

    def check_if_due(self, now: datetime) -> int | None:
        """Report broken promises if a pass is due; how many (``None``: not due)."""
        if self._next is not None and now < self._next:
            return None
        with self.store.transaction() as conn:
            found = report_broken(conn, now)
        self._next = now + self.every
        return found
