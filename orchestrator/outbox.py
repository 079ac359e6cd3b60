"""Lender events, the outbox: what a tenant's webhook endpoints are told about its accounts.

An event is written here in the same transaction as the change it reports, together with one
pending delivery per endpoint that takes its type: a change that rolls back reports nothing,
and a change that commits cannot lose its report (``orchestrator.outbound`` then posts the
deliveries, signed, at least once, in order per account). A tenant with no endpoint
registered gets no rows at all.

Most events come from the few places that record what they report, so every path that
records one is covered at once:

- every **account event** (the lender's API, an import, a borrower's STOP, a call's outcome,
  the self-service page) is recorded by ``orchestrator.intake``, which calls
  :func:`account_events`;
- a **contact point** found dead, a **message** that failed for good and a **notice** sent are
  recorded where the attempt or task reaches that state (dispatch, delivery reports,
  reconciliation), which call :func:`contact_point_invalid`, :func:`message_failed` and
  :func:`attempt_sent`;
- a **broken promise** is detected rather than recorded (``outbound/promises.py``).

Anything else emits through :func:`emit` (one call, inside the caller's transaction).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.store.db import dialect_insert
from orchestrator.store.tables import (
    LenderEvent,
    Task,
    WebhookDelivery,
    WebhookEndpoint,
)

PROMISE_MADE = "promise.made"
PROMISE_BROKEN = "promise.broken"
PLAN_CHOSEN = "plan.chosen"
DISPUTE_OPENED = "dispute.opened"
DISPUTE_RESOLVED = "dispute.resolved"
CEASE_REQUESTED = "cease.requested"
CHANNEL_OPTED_OUT = "channel.opted_out"
CONTACT_POINT_INVALID = "contact_point.invalid"
MESSAGE_FAILED = "message.failed"
NOTICE_SENT = "notice.sent"
ACCOUNT_EVENT_RECORDED = "account.event_recorded"

# The catalogue: every type an endpoint can subscribe to (docs/lender-events.md).
EVENT_TYPES: dict[str, str] = {
    PROMISE_MADE: "The borrower promised to pay (API, call outcome or self-service).",
    PROMISE_BROKEN: "A promise's date passed without payments that cover it.",
    PLAN_CHOSEN: "The borrower chose a repayment plan.",
    DISPUTE_OPENED: "The borrower disputes the debt; contact is on hold.",
    DISPUTE_RESOLVED: "A dispute was resolved; contact may resume.",
    CEASE_REQUESTED: "The borrower asked that communication cease.",
    CHANNEL_OPTED_OUT: "The borrower opted out of a channel (STOP, unsubscribe, request).",
    CONTACT_POINT_INVALID: "A number or address is dead (bounce, wrong or dead number).",
    MESSAGE_FAILED: "A planned contact failed for good: no route left to try.",
    NOTICE_SENT: "A required notice (not a collection message) was sent.",
    ACCOUNT_EVENT_RECORDED: "Any other account event (payment, contact preference, ...).",
}

# Account event types (``account_events.type``) with a name of their own; every other type
# is reported as ``account.event_recorded``, so a type added later is reported too.
FROM_ACCOUNT_EVENT: dict[str, str] = {
    "promise_to_pay": PROMISE_MADE,
    "plan_chosen": PLAN_CHOSEN,
    "dispute": DISPUTE_OPENED,
    "dispute_resolved": DISPUTE_RESOLVED,
    "cease_communication": CEASE_REQUESTED,
    "opt_out": CHANNEL_OPTED_OUT,
}

# Purposes that are collection rather than a notice the borrower is owed.
_NOT_NOTICES = frozenset({"collection"})


@dataclass(frozen=True, slots=True)
class Emitted:
    """One event to emit.

    Parameters:
      account_id: the account it is about (our id).
      type: a type of :data:`EVENT_TYPES`.
      data: the event's ``data`` object, JSON-ready (strings, numbers, lists, objects).
      key: makes the event unique per tenant: a second emit with the same key is dropped
        (for events detected by a pass that may run twice).
    """

    account_id: int
    type: str
    data: Mapping[str, Any]
    key: str | None = None


def emit(
    conn: Connection,
    tenant_id: int,
    account_id: int,
    type: str,
    data: Mapping[str, Any],
    now: datetime,
    *,
    key: str | None = None,
) -> str | None:
    """Emit one lender event inside the caller's transaction.

    Parameters:
      conn: a connection inside the transaction that records the change reported.
      tenant_id: whose account it is.
      account_id: the account (our id); the payload names it by the lender's external id.
      type: one of :data:`EVENT_TYPES` (``ValueError`` otherwise).
      data: the payload's ``data`` object, JSON-ready.
      now: when it happened (the payload's ``timestamp``).
      key: optional, unique per tenant: an event already emitted with it is not emitted again.

    Returns the event's id (``evt_...``, the ``webhook-id`` receivers deduplicate by), or
    ``None`` when nothing was emitted: no endpoint registered, or the key was taken.
    """
    emitted = emit_many(conn, tenant_id, [Emitted(account_id, type, data, key)], now)
    return emitted[0] if emitted else None


def emit_many(
    conn: Connection, tenant_id: int, events: Sequence[Emitted], now: datetime
) -> list[str]:
    """Emit ``events`` of one tenant in this order (see :func:`emit`); the ids emitted."""
    unknown = sorted({e.type for e in events} - EVENT_TYPES.keys())
    if unknown:
        raise ValueError(f"not lender event types: {', '.join(unknown)}")
    if not events:
        return []
    endpoints = conn.execute(
        sa.select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.tenant_id == tenant_id, WebhookEndpoint.deleted_at.is_(None)
        )
    ).all()
    if not endpoints:
        return []
    rows = [
        {
            "ref": f"evt_{secrets.token_hex(12)}",
            "tenant_id": tenant_id,
            "account_id": event.account_id,
            "type": event.type,
            "data": dict(event.data),
            "key": event.key,
            "created_at": now,
        }
        for event in events
    ]
    if any(event.key is not None for event in events):
        # One at a time: a key already taken is skipped (emitted before).
        ids: list[int | None] = [
            conn.execute(
                dialect_insert(conn, LenderEvent)
                .values(row)
                .on_conflict_do_nothing(index_elements=["tenant_id", "key"])
                .returning(LenderEvent.id)
            ).scalar()
            for row in rows
        ]
    else:
        # In bulk (a batch's events), ids in the order given: the order of delivery.
        ids = list(
            conn.execute(
                sa.insert(LenderEvent).returning(LenderEvent.id, sort_by_parameter_order=True),
                rows,
            ).scalars()
        )
    emitted: list[str] = []
    deliveries: list[dict[str, Any]] = []
    for event, row, event_id in zip(events, rows, ids, strict=True):
        if event_id is None:
            continue
        emitted.append(str(row["ref"]))
        deliveries.extend(
            {
                "ref": f"dlv_{secrets.token_hex(12)}",
                "tenant_id": tenant_id,
                "endpoint_id": endpoint.id,
                "event_id": event_id,
                "account_id": event.account_id,
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "updated_at": now,
            }
            for endpoint in endpoints
            if not endpoint.event_types or event.type in endpoint.event_types
        )
    if deliveries:
        conn.execute(sa.insert(WebhookDelivery), deliveries)
    return emitted


def account_events(
    conn: Connection, tenant_id: int, events: Iterable[Mapping[str, Any]], now: datetime
) -> list[str]:
    """Emit the lender events of newly recorded account events (rows as stored, each with
    its ``account_id``; the lender's ``event_id`` and ``source`` when known)."""
    emitted: list[Emitted] = []
    for e in events:
        if _first_instalment(e):
            # A plan chosen on the self-service page is recorded as one promise per
            # instalment: the first one also tells the lender that a plan was chosen.
            emitted.append(Emitted(e["account_id"], PLAN_CHOSEN, account_event_data(e)))
        emitted.append(
            Emitted(
                e["account_id"],
                FROM_ACCOUNT_EVENT.get(str(e["type"]), ACCOUNT_EVENT_RECORDED),
                account_event_data(e),
            )
        )
    return emit_many(conn, tenant_id, emitted, now)


def _first_instalment(event: Mapping[str, Any]) -> bool:
    details = event.get("details") or {}
    return (
        str(event["type"]) == "promise_to_pay"
        and bool(details.get("plan"))
        and str(details.get("instalment", "")).startswith("1/")
    )


def account_event_data(event: Mapping[str, Any]) -> dict[str, Any]:
    """An account event as the ``data`` of its lender event."""
    amount = event.get("amount")
    return {
        "event": {
            "type": event["type"],
            "event_id": event.get("event_id"),
            "at": _iso(event.get("at")),
            "until": _iso(event.get("until")),
            "channel": event.get("channel"),
            "amount": money(amount) if amount is not None else None,
            "details": dict(event.get("details") or {}),
            "source": event.get("source"),
        }
    }


def contact_point_invalid(
    conn: Connection,
    tenant_id: int,
    account_id: int,
    channels: Sequence[str],
    address: str,
    reason: str,
    now: datetime,
) -> list[str]:
    """A provider said an address is dead: one event per contact point newly marked (call
    this right after marking them, with the channels whose rows changed)."""
    return emit_many(
        conn,
        tenant_id,
        [
            Emitted(
                account_id,
                CONTACT_POINT_INVALID,
                {"contact_point": {"channel": c, "address": address}, "reason": reason},
            )
            for c in channels
        ],
        now,
    )


def message_failed(
    conn: Connection, task_id: int, reason: str, rules: Sequence[str], now: datetime
) -> list[str]:
    """A task failed for good (call after moving it to ``failed``)."""
    task = conn.execute(sa.select(Task).where(Task.id == task_id)).one()
    return emit_many(
        conn,
        task.tenant_id,
        [
            Emitted(
                task.account_id,
                MESSAGE_FAILED,
                {"message": _task_data(task), "reason": reason, "rules": list(rules)},
                key=f"{MESSAGE_FAILED}:{task.id}",
            )
        ],
        now,
    )


def attempt_sent(conn: Connection, task_id: int, attempt_id: int, now: datetime) -> list[str]:
    """An attempt was recorded as sent: a ``notice.sent`` when its task is a notice."""
    return attempts_sent(conn, [(task_id, attempt_id)], now)


def attempts_sent(conn: Connection, sent: Sequence[tuple[int, int]], now: datetime) -> list[str]:
    """Attempts recorded as sent, ``(task_id, attempt_id)`` each: a ``notice.sent`` for each
    whose task is a notice. One statement for the lot (a dispatch batch), whatever its size."""
    if not sent:
        return []
    attempt_of = dict(sent)
    notices = conn.execute(
        sa.select(Task).where(
            Task.id.in_(sorted(attempt_of)), Task.purpose.not_in(sorted(_NOT_NOTICES))
        )
    ).all()
    emitted: list[str] = []
    for task in notices:
        emitted += emit_many(
            conn,
            task.tenant_id,
            [
                Emitted(
                    task.account_id,
                    NOTICE_SENT,
                    {"notice": _task_data(task)},
                    key=f"{NOTICE_SENT}:{attempt_of[task.id]}",
                )
            ],
            now,
        )
    return emitted


def _task_data(task: Any) -> dict[str, Any]:
    return {
        "purpose": task.purpose,
        "channel": task.channel,
        "template": task.template,
        "step": task.step,
        "local_date": task.local_date.isoformat(),
    }


def money(amount: Decimal | str) -> str:
    """A decimal string with at least two places and no trailing zeros beyond them: the
    same text whichever store it was read from (PostgreSQL answers ``300.0000``)."""
    value = Decimal(amount).normalize()
    if value.as_tuple().exponent > -2:  # type: ignore[operator]
        value = value.quantize(Decimal("0.01"))
    return f"{value:f}"


def _iso(value: Any) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return None if value is None else str(value)
