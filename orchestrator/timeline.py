"""An account's timeline: its ledger, newest first, a page at a time."""

from __future__ import annotations

from datetime import datetime
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


def _cursor(value: str) -> tuple[datetime, int]:
    at, _, entry_id = value.rpartition("|")
    try:
        return datetime.fromisoformat(at.replace("Z", "+00:00")), int(entry_id)
    except ValueError:
        raise ValueError(f"{value!r} is not a timeline cursor") from None


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
