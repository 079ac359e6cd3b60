"""Building what the compliance engine reads (:class:`AccountFacts`, contact history) from the
store, for a chunk of accounts at once (the planner) or one account (dispatch, under its lock).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.compliance import AccountEvent, AccountFacts, ContactPointFacts, PastContact
from orchestrator.domain import Channel, ContactKind, EventType, TaskStatus, contact_point_key
from orchestrator.store.db import id_in
from orchestrator.store.tables import Account, Attempt, ContactPoint, Task
from orchestrator.store.tables import AccountEvent as EventRow

PENDING = (TaskStatus.PLANNED.value, TaskStatus.QUEUED.value)

ACCOUNT_COLUMNS = (
    Account.id,
    Account.tenant_id,
    Account.external_id,
    Account.jurisdiction,
    Account.zones,
    Account.amount_due,
    Account.currency,
    Account.due_date,
    Account.product,
    Account.risk_score,
    Account.locale,
)
"""What planning (and the pages that show an account's state) reads of an account. No
sealed column: each would be opened for every account read and none is needed to decide."""

RENDER_COLUMNS = (*ACCOUNT_COLUMNS, Account.borrower_name)
"""What rendering a message to the account also needs: the borrower's name (sealed)."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """One account's facts, its contact history and the tasks it already has."""

    row: Any
    facts: AccountFacts
    history: list[PastContact]  # sent and reserved contacts, and pending tasks as RESERVED
    tasks: list[Any]  # task rows: (id, step, local_date, status, channel, not_before, ...)


def load(
    conn: Connection,
    rows: Sequence[Any],
    *,
    since: datetime,
    tasks_since: Any = None,
    include_pending: bool = True,
) -> dict[int, Loaded]:
    """Facts and history for account ``rows`` (selected with :data:`ACCOUNT_COLUMNS`).

    Parameters:
      since: contacts older than this are not read (the rule packs' lookback).
      tasks_since: tasks with a step date before this are not read (a date).
      include_pending: read the account's tasks and count the planned-but-unsent ones as
        reserved contacts (the planner's view). Dispatch counts only contacts actually made
        or in flight, and its ``tasks`` are left empty (the query is saved).
    """
    ids = [row.id for row in rows]
    if not ids:
        return {}
    points = _group(
        conn.execute(
            sa.select(ContactPoint)
            .where(id_in(conn, ContactPoint.account_id, ids))
            .order_by(ContactPoint.account_id, ContactPoint.position)
        )
    )
    events = _group(
        conn.execute(
            sa.select(EventRow)
            .where(id_in(conn, EventRow.account_id, ids))
            .order_by(EventRow.account_id, EventRow.at, EventRow.id)
        )
    )
    attempts = _group(
        conn.execute(
            sa.select(Attempt.account_id, Attempt.at, Attempt.channel, Attempt.contact_kind)
            .where(id_in(conn, Attempt.account_id, ids), Attempt.at >= since)
            .order_by(Attempt.account_id, Attempt.at)
        )
    )
    tasks = _group(conn.execute(_task_query(conn, ids, tasks_since))) if include_pending else {}
    loaded = {}
    for row in rows:
        own_tasks = tasks.get(row.id, [])
        history = [
            PastContact(a.at, Channel(a.channel), ContactKind(a.contact_kind))
            for a in attempts.get(row.id, [])
        ]
        if include_pending:
            history.extend(
                PastContact(t.not_before, Channel(t.channel), ContactKind.RESERVED)
                for t in own_tasks
                if t.status in PENDING
            )
        history.sort(key=lambda c: c.at)
        loaded[row.id] = Loaded(
            row,
            account_facts(row, points.get(row.id, []), events.get(row.id, [])),
            history,
            own_tasks,
        )
    return loaded


def _task_query(conn: Connection, ids: list[int], since: Any) -> Any:
    query = sa.select(
        Task.id,
        Task.account_id,
        Task.step,
        Task.local_date,
        Task.status,
        Task.channel,
        Task.template,
        Task.purpose,
        Task.fallback,
        Task.not_before,
        Task.not_after,
        Task.expires_at,
    ).where(id_in(conn, Task.account_id, ids))
    if since is not None:
        query = query.where(Task.local_date >= since)
    return query


def account_facts(row: Any, points: Iterable[Any], events: Iterable[Any]) -> AccountFacts:
    events = list(events)
    # "Do not contact me at work": the points the borrower named are at the workplace, and
    # the pack's workplace rule (12 CFR 1006.6(b)(3)) blocks them like a lender's flag.
    at_work = {
        key
        for e in events
        if e.type == EventType.NO_WORK_CONTACT.value
        for key in (e.details or {}).get("points", "").split(",")
        if key
    }
    return AccountFacts(
        jurisdiction=row.jurisdiction,
        zones=tuple(row.zones.split()),
        amount_due=row.amount_due,
        currency=row.currency,
        events=tuple(
            AccountEvent(
                type=EventType(e.type),
                at=e.at,
                channel=Channel(e.channel) if e.channel else None,
                until=e.until,
                amount=e.amount,
                details=e.details or {},
            )
            for e in events
        ),
        contact_points=tuple(
            ContactPointFacts(
                channel=Channel(p.channel),
                address=p.address,
                consent=p.consent,
                workplace=p.workplace or contact_point_key(p.channel, p.address) in at_work,
                invalid=p.invalid_at is not None,
            )
            for p in points
        ),
    )


def _group(rows: Iterable[Any]) -> dict[int, list[Any]]:
    grouped: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        grouped[row.account_id].append(row)
    return grouped
