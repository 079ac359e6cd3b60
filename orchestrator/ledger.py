"""The ledger: append-only, one entry per decision or state change, in words.

A compliance officer reads an account's timeline straight from here: what was planned, sent
or blocked, by which rule and which law, what the provider reported, which events arrived.
Nothing here is ever updated or deleted (12 CFR 1006.100 asks for three years of records).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.db import insert_rows
from orchestrator.store.tables import LedgerEntry
from orchestrator.tracing import current_trace_id

# Every message a provider accepted has exactly one entry of this kind, whichever path learnt
# of it first: the sender, the reconciler (a lookup), or the provider's own report.
SENT = "attempt.sent"


def entry(
    *,
    tenant_id: int,
    account_id: int,
    at: datetime,
    kind: str,
    message: str,
    channel: str | None = None,
    rules: Sequence[str] = (),
    task_id: int | None = None,
    attempt_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One ledger row, ready for :func:`append`."""
    return {
        "tenant_id": tenant_id,
        "account_id": account_id,
        "at": at,
        "kind": kind,
        "message": message,
        "channel": channel,
        "rules": list(rules),
        "task_id": task_id,
        "attempt_id": attempt_id,
        "data": data or {},
    }


def append(conn: Connection, entries: Iterable[dict[str, Any]]) -> None:
    """Write ``entries``, each carrying the trace id of the span it was decided in (the
    request, planning run or send that wrote it), when one is active."""
    trace_id = current_trace_id()
    insert_rows(
        conn, LedgerEntry, [{**e, "trace_id": e.get("trace_id", trace_id)} for e in entries]
    )


def describe_event(event: dict[str, Any]) -> str:
    """An account event in one sentence."""
    kind = event["type"]
    parts = [kind.replace("_", " ")]
    if event.get("channel"):
        parts.append(f"on {event['channel']}")
    amount = event.get("amount")
    if isinstance(amount, Decimal | str):
        parts.append(f"of {amount}")
    if event.get("until") is not None:
        parts.append(f"until {event['until'].isoformat().replace('+00:00', 'Z')}")
    details = event.get("details") or {}
    if details:
        # A borrower's free text is theirs, not the ledger's: its length only.
        parts.append(
            "("
            + ", ".join(
                f"text of {len(str(v))} characters" if k == "text" else f"{k} {v}"
                for k, v in details.items()
            )
            + ")"
        )
    return " ".join(parts) + f" — recorded from {event.get('source', 'api')}"


def event_entries(tenant_id: int, events: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Ledger entries for newly recorded account events (each with its ``account_id``)."""
    return [
        entry(
            tenant_id=tenant_id,
            account_id=e["account_id"],
            at=e["at"],
            kind=f"event.{e['type']}",
            message=describe_event(e),
            channel=e.get("channel"),
            data={"event_id": e["id"]} if "id" in e else None,
        )
        for e in events
    ]


def for_attempt(
    attempt: Any,
    *,
    at: datetime,
    kind: str,
    message: str,
    rules: Sequence[str] = (),
    data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A ledger entry about one attempt (a row of ``attempts``: its tenant, account,
    channel, task and id)."""
    return entry(
        tenant_id=attempt.tenant_id,
        account_id=attempt.account_id,
        at=at,
        kind=kind,
        message=message,
        channel=attempt.channel,
        rules=rules,
        task_id=attempt.task_id,
        attempt_id=attempt.id,
        data=data,
    )


def sent_recorded(conn: Connection, account_id: int, attempt_id: int) -> bool:
    """Whether the attempt's ``attempt.sent`` entry is already in the ledger.

    Ask after moving the attempt's status in the same transaction: that UPDATE waits for any
    other writer of the attempt, whose entry (committed with its own UPDATE) is then seen.
    """
    return bool(
        conn.execute(
            sa.select(
                sa.exists().where(
                    LedgerEntry.account_id == account_id,
                    LedgerEntry.attempt_id == attempt_id,
                    LedgerEntry.kind == SENT,
                )
            )
        ).scalar()
    )


def task_trace_ids(conn: Connection, claims: Iterable[tuple[int, int]]) -> dict[int, str]:
    """For ``(account_id, task_id)`` pairs, the trace each task was planned in: its first
    ledger entry's trace id (the task's entries carry the trace of its whole journey)."""
    pairs = list(claims)
    if not pairs:
        return {}
    rows = conn.execute(
        sa.select(LedgerEntry.task_id, LedgerEntry.trace_id)
        .where(
            LedgerEntry.account_id.in_(sorted({a for a, _ in pairs})),
            LedgerEntry.task_id.in_(sorted({t for _, t in pairs})),
            LedgerEntry.trace_id.is_not(None),
        )
        .order_by(LedgerEntry.id)
    )
    found: dict[int, str] = {}
    for task_id, trace_id in rows:
        if task_id is not None:
            found.setdefault(int(task_id), str(trace_id))
    return found
