"""Field visits: how each outcome counts, and visits past their deadline. A visit handed to
the work queue whose outcome was not recorded by its task's ``expires_at`` expires, and the
ledger says so (run by the scheduler's sweep, :func:`orchestrator.planning.scheduler.sweep`).
The work queue (:mod:`orchestrator.inbound.visits`) and the simulation count outcomes alike."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import ledger
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, TaskStatus
from orchestrator.store.tables import Attempt, Task, Visit
from orchestrator.tasks import transitions

EXPIRED = "expired"
"""The outcome a visit with none recorded by its deadline gets."""


class VisitOutcome(StrEnum):
    """How a field visit ended."""

    MET_BORROWER = "met_borrower"
    NOT_HOME = "not_home"
    REFUSED = "refused"
    PROMISE_TO_PAY = "promise_to_pay"
    WRONG_ADDRESS = "wrong_address"
    THIRD_PARTY_MET = "third_party_met"


COUNTED_AS: dict[VisitOutcome, ContactKind] = {
    VisitOutcome.MET_BORROWER: ContactKind.CONVERSATION,
    VisitOutcome.REFUSED: ContactKind.CONVERSATION,
    VisitOutcome.PROMISE_TO_PAY: ContactKind.CONVERSATION,
    VisitOutcome.THIRD_PARTY_MET: ContactKind.ATTEMPT,
    VisitOutcome.NOT_HOME: ContactKind.NOT_CONNECTED,
    VisitOutcome.WRONG_ADDRESS: ContactKind.NOT_CONNECTED,
}
"""What a visit counts as toward the contact caps once its outcome is known: someone met is
a conversation (the borrower) or an attempt (a third party); nobody reached is not connected.
An open visit is an attempt; an expired one is ``failed`` (nobody went, counted nowhere)."""


def expire_visits(conn: Connection, now: datetime, *, limit: int = 500) -> int:
    """Expire the open visits past their deadline (every tenant); how many.

    The task moves ``sent → expired`` (:func:`~orchestrator.tasks.transitions.expire_visit`,
    which an outcome recorded first makes a no-op); the attempt becomes ``undelivered`` and
    no contact (``failed``: nobody went), so it counts toward no cap."""
    rows = conn.execute(
        sa.select(Attempt)
        .join(Task, Task.id == Attempt.task_id)
        .outerjoin(Visit, Visit.attempt_id == Attempt.id)
        .where(
            Attempt.channel == Channel.VISIT.value,
            Attempt.status == DeliveryStatus.SENT.value,
            Task.status == TaskStatus.SENT.value,
            Task.expires_at < now,
            Visit.outcome.is_(None),
        )
        .order_by(Attempt.id)
        .limit(limit)
    ).all()
    # Their tasks locked first, in id order, those another transaction holds left for the
    # next pass: the sweep never waits on a row (transitions._lock_in_order).
    free = transitions.lock_sent(conn, [attempt.task_id for attempt in rows])
    expired = 0
    for attempt in rows:
        if attempt.task_id not in free or not transitions.expire_visit(conn, attempt.task_id, now):
            continue
        conn.execute(
            sa.update(Attempt)
            .where(Attempt.id == attempt.id)
            .values(
                status=DeliveryStatus.UNDELIVERED.value,
                contact_kind=ContactKind.FAILED.value,
                updated_at=now,
            )
        )
        found = conn.execute(
            sa.update(Visit)
            .where(Visit.attempt_id == attempt.id)
            .values(outcome=EXPIRED, outcome_at=now, updated_at=now)
        ).rowcount
        if not found:
            conn.execute(
                sa.insert(Visit).values(
                    attempt_id=attempt.id,
                    tenant_id=attempt.tenant_id,
                    outcome=EXPIRED,
                    outcome_at=now,
                    updated_at=now,
                )
            )
        ledger.append(
            conn,
            [
                ledger.for_attempt(
                    attempt,
                    at=now,
                    kind="visit.expired",
                    message="field visit expired: no outcome recorded by its deadline",
                )
            ],
        )
        expired += 1
    return expired
