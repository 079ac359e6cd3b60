"""How long what we store for convenience is kept: stored ``Idempotency-Key`` answers.

An idempotency record holds a whole response (an account with its borrower's name, numbers
and addresses). It exists so a client that lost an answer can retry within a day or so; kept
for ever, it would be a second, unaccounted copy of personal data. Records older than their
time to live answer nothing (a retry after that is a new request) and the scheduler deletes
them. The ledger, the compliance record, is not touched here: it is kept as the law asks.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.tables import IdempotencyRecord

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
