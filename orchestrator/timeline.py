"""An account's timeline: its ledger, newest first, a page at a time."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.tables import Attempt, LedgerEntry


def timeline(
    conn: Connection, account_id: int, *, limit: int, before: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of ledger entries and the cursor of the next page (``None`` at the end).

    Entries are ordered by the instant they describe, then by the order they were written.
    """
    query = (
        sa.select(LedgerEntry, Attempt.ref, Attempt.status.label("attempt_status"))
        .outerjoin(Attempt, Attempt.id == LedgerEntry.attempt_id)
        .where(LedgerEntry.account_id == account_id)
        .order_by(LedgerEntry.at.desc(), LedgerEntry.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        at, entry_id = _cursor(before)
        query = query.where(
            sa.or_(
                LedgerEntry.at < at,
                sa.and_(LedgerEntry.at == at, LedgerEntry.id < entry_id),
            )
        )
    rows = list(conn.execute(query))
    page = [
        {
            "at": _iso(r.at),
            "kind": r.kind,
            "channel": r.channel,
            "message": r.message,
            "rules": r.rules,
            "task_id": r.task_id,
            "attempt": r.ref,
            "delivery_status": r.attempt_status,
            **({"data": r.data} if r.data else {}),
        }
        for r in rows[:limit]
    ]
    cursor = f"{_iso(rows[limit - 1].at)}|{rows[limit - 1].id}" if len(rows) > limit else None
    return page, cursor


# Ledger ids are BIGINT on PostgreSQL and INTEGER (64-bit) on SQLite.
_MAX_ID = 2**63 - 1


def _cursor(value: str) -> tuple[datetime, int]:
    """The instant and entry id a cursor names; ``ValueError`` saying what is wrong with it
    (the API answers 422), never a value the database cannot compare."""
    at, _, entry_id = value.rpartition("|")
    try:
        instant = datetime.fromisoformat(at.replace("Z", "+00:00"))
        number = int(entry_id)
    except ValueError:
        raise ValueError(f"{value!r} is not a timeline cursor") from None
    if instant.tzinfo is None:
        raise ValueError(f"the cursor's instant {at!r} has no time zone: use the `next` value")
    try:
        instant = instant.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"the cursor's instant {at!r} is out of range") from None
    if not 1 <= number <= _MAX_ID:
        raise ValueError(f"the cursor's entry id must be between 1 and {_MAX_ID}")
    return instant, number


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
