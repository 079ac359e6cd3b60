"""The field-visit work queue (上门): field agents, open visits, assignment and outcomes.

A visit task passes dispatch like any contact (checked by the engine at plan and at send) and
the ``field_queue`` adapter hands it here: its attempt is the open visit. Ops register field
agents with the regions they cover, assign visits (and reassign them), and record how each
ended. An outcome lands as call outcomes do (:mod:`orchestrator.inbound.calls`): the attempt's
contact kind (what the caps count), the account's events (a promise pauses collection) and
the contact point's facts (a wrong address marks it invalid), with a ledger entry.

What counts: every visit counts toward the packs' visit caps whatever its outcome (an agent
at the door is a visit). Toward the contact caps, a visit counts once someone was met:
``met_borrower``, ``refused`` and ``promise_to_pay`` are conversations, ``third_party_met``
an attempt; ``not_home`` and ``wrong_address`` reached nobody (``not_connected``).

A third party met at the door is told nothing about the debt, and the outcome
``third_party_met`` records nothing about it either: it takes no amount, date or note.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator import ledger
from orchestrator.channel_types.addresses import PostalAddress
from orchestrator.domain import Channel, ContactKind, DeliveryStatus, EventType, TaskStatus
from orchestrator.inbound.delivery import invalidate
from orchestrator.intake.accounts import record_provider_event
from orchestrator.planning.visits import COUNTED_AS, EXPIRED, VisitOutcome
from orchestrator.store.tables import Account, Attempt, FieldAgent, Task, Visit
from orchestrator.tasks import transitions

_MAX_AMOUNT = Decimal(10) ** 15  # larger than any debt, within NUMERIC(20, 4)
_HANDED_OVER = (
    DeliveryStatus.SENT.value,
    DeliveryStatus.DELIVERED.value,
    DeliveryStatus.UNDELIVERED.value,
)


# What each outcome counts as (planning.visits.COUNTED_AS), and the attempt's status after it.
_COUNTS: dict[VisitOutcome, tuple[ContactKind, DeliveryStatus]] = {
    outcome: (
        kind,
        DeliveryStatus.UNDELIVERED
        if kind is ContactKind.NOT_CONNECTED
        else DeliveryStatus.DELIVERED,
    )
    for outcome, kind in COUNTED_AS.items()
}
_TASK_AFTER = {
    DeliveryStatus.DELIVERED: TaskStatus.DELIVERED,
    DeliveryStatus.UNDELIVERED: TaskStatus.FAILED,
}

STATUSES = ("open", "unassigned", "assigned", "done", "expired", "all")
"""What ``GET /v1/visits?status=`` takes: ``open`` (no outcome yet, assigned or not) by
default."""


class VisitError(Exception):
    """A request the work queue refuses: ``status`` (404, 409, 422), ``code``, a message
    saying what to do, and the field at fault."""

    def __init__(self, status: int, code: str, message: str, field: str = "") -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.field = status, code, message, field


@dataclass(frozen=True)
class Promise:
    amount: Decimal
    until: date


# --- field agents ---------------------------------------------------------------------------


def register_agent(
    conn: Connection, tenant_id: int, name: str, regions: list[str], now: datetime
) -> dict[str, Any]:
    """A new field agent covering ``regions`` (each matched, case-insensitively, against a
    visit address's region or city)."""
    name = name.strip()
    cleaned = sorted({r.strip() for r in regions if r.strip()}, key=str.casefold)
    if not name:
        raise VisitError(422, "invalid_request", "Give the agent a name.", "name")
    if not cleaned:
        raise VisitError(
            422, "invalid_request", "List at least one region the agent covers.", "regions"
        )
    taken = conn.execute(
        sa.select(FieldAgent.id).where(FieldAgent.tenant_id == tenant_id, FieldAgent.name == name)
    ).first()
    if taken is not None:
        raise VisitError(
            409, "conflict", f"A field agent named {name!r} exists already (id {taken.id}).", "name"
        )
    agent_id = conn.execute(
        sa.insert(FieldAgent)
        .values(tenant_id=tenant_id, name=name, regions=cleaned, created_at=now)
        .returning(FieldAgent.id)
    ).scalar_one()
    return {"id": agent_id, "name": name, "regions": cleaned}


def list_agents(conn: Connection, tenant_id: int) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(FieldAgent).where(FieldAgent.tenant_id == tenant_id).order_by(FieldAgent.name)
    ).all()
    return [{"id": r.id, "name": r.name, "regions": list(r.regions)} for r in rows]


# --- the queue ------------------------------------------------------------------------------


def _query(tenant_id: int) -> Any:
    return (
        sa.select(
            Attempt,
            Task.step.label("step"),
            Task.expires_at.label("due_by"),
            Account.external_id.label("account"),
            Visit.agent_id.label("agent_id"),
            Visit.assigned_at.label("assigned_at"),
            Visit.outcome.label("outcome"),
            Visit.outcome_at.label("outcome_at"),
            FieldAgent.name.label("agent"),
        )
        .join(Task, Task.id == Attempt.task_id)
        .join(Account, Account.id == Attempt.account_id)
        .outerjoin(Visit, Visit.attempt_id == Attempt.id)
        .outerjoin(FieldAgent, FieldAgent.id == Visit.agent_id)
        .where(
            Attempt.tenant_id == tenant_id,
            Attempt.channel == Channel.VISIT.value,
            Attempt.status.in_(_HANDED_OVER),
        )
    )


def _address(row: Any) -> PostalAddress | None:
    try:
        return PostalAddress.parse(row.address)
    except ValueError:
        return None


def _status(row: Any) -> str:
    if row.outcome == EXPIRED:
        return "expired"
    if row.outcome is not None:
        return "done"
    return "assigned" if row.agent_id is not None else "unassigned"


def _covers(regions: list[str], address: PostalAddress | None) -> bool:
    if address is None:
        return False
    places = {address.region.casefold(), address.city.casefold()} - {""}
    return any(r.casefold() in places for r in regions)


def covering(agents: list[dict[str, Any]], visit: dict[str, Any]) -> list[dict[str, Any]]:
    """The agents (as :func:`list_agents` gives them) who cover ``visit``'s (as
    :func:`list_visits` gives it) region or city: the ones :func:`assign` accepts."""
    places = {visit["region"].casefold(), visit["city"].casefold()} - {""}
    return [a for a in agents if any(r.casefold() in places for r in a["regions"])]


def _view(row: Any) -> dict[str, Any]:
    address = _address(row)
    return {
        "id": row.id,
        "account": row.account,
        "step": row.step,
        "status": _status(row),
        "address": address.lines() if address else [],
        "region": address.region if address else "",
        "city": address.city if address else "",
        "queued_at": row.at,
        "due_by": row.due_by,
        "agent": {"id": row.agent_id, "name": row.agent} if row.agent_id else None,
        "assigned_at": row.assigned_at,
        "outcome": None if row.outcome == EXPIRED else row.outcome,
        "outcome_at": row.outcome_at,
    }


def list_visits(
    conn: Connection, tenant_id: int, *, status: str = "open", region: str | None = None
) -> list[dict[str, Any]]:
    """The tenant's visits in ``status`` (:data:`STATUSES`), in ``region`` (its region or
    city) when given, by deadline."""
    if status not in STATUSES:
        raise VisitError(
            422, "invalid_request", f"status must be one of {', '.join(STATUSES)}.", "status"
        )
    rows = conn.execute(_query(tenant_id).order_by(Task.expires_at, Attempt.id)).all()
    found = []
    for row in rows:
        state = _status(row)
        wanted = (
            status == "all"
            or state == status
            or (status == "open" and state in ("assigned", "unassigned"))
        )
        if wanted and (region is None or _covers([region], _address(row))):
            found.append(_view(row))
    return found


def _one(conn: Connection, tenant_id: int, visit_id: int, *, lock: bool = False) -> Any:
    if lock:  # serialise assignment and outcomes of one visit (PostgreSQL; SQLite is serial)
        conn.execute(sa.select(Attempt.id).where(Attempt.id == visit_id).with_for_update()).first()
    row = conn.execute(_query(tenant_id).where(Attempt.id == visit_id)).first()
    if row is None:
        raise VisitError(
            404, "not_found", f"No visit {visit_id}: list them with GET /v1/visits.", "id"
        )
    return row


def _open(row: Any) -> None:
    state = _status(row)
    if state in ("done", "expired"):
        raise VisitError(
            409,
            "conflict",
            f"Visit {row.id} is {state} already"
            + (f" ({row.outcome.replace('_', ' ')})" if state == "done" else "")
            + ": it can no longer be assigned or given an outcome.",
        )


def _in_time(row: Any, now: datetime, doing: str) -> None:
    """Refuse what comes after the visit's deadline: the visit is then past saving (the
    scheduler's sweep expires it and the ledger records that), and a late outcome must not
    rewrite what the caps and the ledger already count as a visit nobody made."""
    if row.due_by is not None and now > row.due_by:
        raise VisitError(
            409,
            "conflict",
            f"Visit {row.id}'s deadline passed at {row.due_by:%Y-%m-%d %H:%M} UTC with no "
            f"outcome: it expires (the ledger records it) and can no longer be {doing}.",
        )


def _save(conn: Connection, row: Any, values: dict[str, Any], now: datetime) -> None:
    moved = conn.execute(
        sa.update(Visit).where(Visit.attempt_id == row.id).values(**values, updated_at=now)
    ).rowcount
    if not moved:
        conn.execute(
            sa.insert(Visit).values(
                attempt_id=row.id, tenant_id=row.tenant_id, **values, updated_at=now
            )
        )


def assign(
    conn: Connection, tenant_id: int, visit_id: int, agent_id: int, now: datetime
) -> dict[str, Any]:
    """Give an open visit to ``agent_id`` (or move it to them from another agent). The agent
    must cover the visit's region or city."""
    row = _one(conn, tenant_id, visit_id, lock=True)
    _open(row)
    _in_time(row, now, "assigned")
    agent = conn.execute(
        sa.select(FieldAgent).where(FieldAgent.id == agent_id, FieldAgent.tenant_id == tenant_id)
    ).first()
    if agent is None:
        raise VisitError(
            422,
            "invalid_request",
            f"No field agent {agent_id}: register one with POST /v1/field-agents.",
            "agent_id",
        )
    if not _covers(list(agent.regions), _address(row)):
        address = _address(row)
        where = f"{address.city}, {address.region}".strip(", ") if address else "unknown"
        raise VisitError(
            422,
            "invalid_request",
            f"{agent.name} covers {', '.join(agent.regions)}, not this visit's area ({where}): "
            "choose an agent who covers it, or add the region to theirs.",
            "agent_id",
        )
    if row.agent_id == agent.id:
        return _view(_one(conn, tenant_id, visit_id))
    _save(conn, row, {"agent_id": agent.id, "assigned_at": now}, now)
    before = f" (was {row.agent})" if row.agent_id else ""
    ledger.append(
        conn,
        [
            ledger.for_attempt(
                row,
                at=now,
                kind="visit.reassigned" if row.agent_id else "visit.assigned",
                message=f"field visit assigned to {agent.name}{before}",
                data={"agent_id": agent.id},
            )
        ],
    )
    return _view(_one(conn, tenant_id, visit_id))


def promise_for(
    outcome: VisitOutcome, amount: Decimal | None, until: date | None, today: date
) -> Promise | None:
    """The promise an outcome carries, checked: ``promise_to_pay`` needs an amount and a day;
    every other outcome takes neither (a third party met at the door is told, and recorded,
    nothing of the debt)."""
    if outcome is not VisitOutcome.PROMISE_TO_PAY:
        if amount is not None or until is not None:
            raise VisitError(
                422,
                "invalid_request",
                f"Only promise_to_pay takes promise_amount and promise_date, not {outcome.value}"
                + (
                    ": nothing about the debt is recorded for a third party met at the door."
                    if outcome is VisitOutcome.THIRD_PARTY_MET
                    else "."
                ),
                "promise_amount" if amount is not None else "promise_date",
            )
        return None
    if amount is None or until is None:
        raise VisitError(
            422,
            "invalid_request",
            "promise_to_pay needs promise_amount and promise_date (the amount and the day "
            "promised).",
            "promise_amount" if amount is None else "promise_date",
        )
    if not (amount.is_finite() and 0 < amount < _MAX_AMOUNT):
        raise VisitError(
            422, "invalid_request", "promise_amount must be a positive amount.", "promise_amount"
        )
    if until < today - timedelta(days=1):  # a day's slack: today in UTC is not everyone's
        raise VisitError(
            422,
            "invalid_request",
            "promise_date is in the past: give the day promised.",
            "promise_date",
        )
    return Promise(amount, until)


def record_outcome(
    conn: Connection,
    tenant_id: int,
    visit_id: int,
    outcome: VisitOutcome,
    now: datetime,
    *,
    promised: Promise | None = None,
) -> tuple[dict[str, Any], set[int]]:
    """How the visit ended; the visit's view and the accounts to re-plan.

    The same outcome posted again (an agent's app retrying) is answered with the visit as
    it stands and changes nothing; a different one, or any after the deadline, is refused."""
    row = _one(conn, tenant_id, visit_id, lock=True)
    if row.outcome == outcome.value:
        return _view(row), set()
    _open(row)
    _in_time(row, now, "given an outcome")
    if (outcome is VisitOutcome.PROMISE_TO_PAY) != (promised is not None):
        raise ValueError("a promise goes with promise_to_pay only (see promise_for)")
    kind, status = _COUNTS[outcome]
    _save(conn, row, {"outcome": outcome.value, "outcome_at": now}, now)
    conn.execute(
        sa.update(Attempt)
        .where(Attempt.id == row.id)
        .values(status=status.value, contact_kind=kind.value, updated_at=now)
    )
    transitions.report(conn, row.task_id, _TASK_AFTER[status], now)
    changed: set[int] = set()
    notes = [
        f"field visit: {outcome.value.replace('_', ' ')} — counted as "
        f"{kind.value.replace('_', ' ')}"
    ]
    if row.agent:
        notes[0] += f" (agent {row.agent})"
    if promised is not None:
        record_provider_event(
            conn,
            row.account_id,
            EventType.PROMISE_TO_PAY,
            Channel.VISIT,
            now,
            source="visit",
            amount=promised.amount,
            until=promised.until,
        )
        notes.append("promise to pay recorded: collection paused until the promised day")
        changed.add(row.account_id)
    if outcome is VisitOutcome.WRONG_ADDRESS:
        invalidate(
            conn, row, "wrong address (field visit)", now, channels=(Channel.LETTER, Channel.VISIT)
        )
        notes.append(
            "the postal address is not the borrower's: marked invalid for letters and visits"
        )
        changed.add(row.account_id)
    if outcome is VisitOutcome.THIRD_PARTY_MET:
        notes.append("nothing about the debt was disclosed or recorded")
    if kind is ContactKind.CONVERSATION:
        changed.add(row.account_id)
    ledger.append(
        conn,
        [ledger.for_attempt(row, at=now, kind=f"visit.{outcome.value}", message="; ".join(notes))],
    )
    return _view(_one(conn, tenant_id, visit_id)), changed
