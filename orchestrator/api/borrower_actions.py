"""What each self-service form becomes: account events, recorded like the lender's.

Every action is one or more :class:`EventDocument` with the form's nonce as business key
(``event_id``), so a form posted twice records once. The route records them with source
``self_service`` through :func:`orchestrator.intake.accounts.record_event` and re-plans
the account in the same transaction, exactly as ``POST /v1/accounts/{id}/events`` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from orchestrator.configuration.repayment import PlanOption
from orchestrator.domain import Channel, EventType, contact_point_key
from orchestrator.intake.document import DISPUTE_REASONS, EventDocument

ACTIONS = ("plan", "promise", "dispute", "preference", "opt_out", "work", "callback")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")
# How far ahead a borrower may promise on the page; longer needs a plan or a person.
PROMISE_HORIZON = timedelta(days=60)


class FormProblem(ValueError):
    """The form is not valid; the message says what to fix, in the page's words."""


@dataclass(frozen=True, slots=True)
class AccountView:
    """What an action needs to know of the account."""

    amount_due: Decimal
    today: date
    points: tuple[tuple[str, str], ...]  # (channel, address)
    options: tuple[PlanOption, ...]


def events_for(
    action: str, form: Mapping[str, str], view: AccountView, nonce: str, now: datetime
) -> list[EventDocument]:
    """The events a submitted form records; :class:`FormProblem` when it is not valid."""
    key = f"ss-{nonce}"
    try:
        if action == "plan":
            return _plan(form, view, key, now)
        if action == "promise":
            return [_promise(form, view, key)]
        if action == "dispute":
            reason = form.get("reason", "")
            if reason not in DISPUTE_REASONS:
                raise FormProblem("choose a reason")
            details = {"reason": reason}
            text = form.get("text", "").strip()
            if text:
                details["text"] = text[:1000]
            return [_event(key, type=EventType.DISPUTE, details=details)]
        if action == "preference":
            return [_preference(form, key)]
        if action == "opt_out":
            channel = _channel(form.get("channel", ""), view)
            return [_event(key, type=EventType.OPT_OUT, channel=channel)]
        if action == "work":
            known = {contact_point_key(c, a) for c, a in view.points}
            chosen = [p for p in form.get("points", "").split(",") if p]
            if not chosen or not set(chosen) <= known:
                raise FormProblem("tick at least one")
            return [
                _event(key, type=EventType.NO_WORK_CONTACT, details={"points": ",".join(chosen)})
            ]
        if action == "callback":
            details = _hours(form, required=False)
            return [_event(key, type=EventType.CALLBACK_REQUEST, channel="call", details=details)]
    except ValidationError as exc:
        raise FormProblem(exc.errors()[0]["msg"].removeprefix("Value error, ")) from None
    raise FormProblem(f"unknown action {action!r}")


def _event(key: str, **fields: Any) -> EventDocument:
    return EventDocument.model_validate({"event_id": key, **fields})


def _plan(
    form: Mapping[str, str], view: AccountView, key: str, now: datetime
) -> list[EventDocument]:
    chosen = next((o for o in view.options if o.id == form.get("option")), None)
    if chosen is None:
        raise FormProblem("choose a plan")
    plan = f"{chosen.id}-{key[3:11].lower()}"
    plan = re.sub(r"[^a-z0-9_\-]", "-", plan)
    count = len(chosen.instalments)
    events = []
    start: datetime | date = view.today
    for number, instalment in enumerate(chosen.instalments, start=1):
        events.append(
            _event(
                f"{key}-{number}",
                type=EventType.PROMISE_TO_PAY,
                at=start,
                until=instalment.due,
                amount=str(instalment.amount),
                details={"plan": plan, "instalment": f"{number}/{count}"},
            )
        )
        # The next instalment's promise begins on this one's date: a payment made in its
        # own period keeps it.
        start = instalment.due
    return events


def _promise(form: Mapping[str, str], view: AccountView, key: str) -> EventDocument:
    try:
        day = date.fromisoformat(form.get("date", ""))
    except ValueError:
        raise FormProblem("enter a date") from None
    if not view.today <= day <= view.today + PROMISE_HORIZON:
        raise FormProblem(f"choose a date from {view.today} to {view.today + PROMISE_HORIZON}")
    amount_text = form.get("amount", "").strip()
    try:
        amount = Decimal(amount_text) if amount_text else view.amount_due
    except InvalidOperation:
        raise FormProblem("enter an amount like 120.00") from None
    if not 0 < amount <= view.amount_due:
        raise FormProblem(f"enter an amount up to {view.amount_due}")
    return _event(key, type=EventType.PROMISE_TO_PAY, until=day, amount=str(amount))


def _hours(form: Mapping[str, str], *, required: bool) -> dict[str, str]:
    start, end = form.get("not_before", "").strip(), form.get("not_after", "").strip()
    if not start and not end and not required:
        return {}
    if not _HHMM.fullmatch(start) or not _HHMM.fullmatch(end):
        raise FormProblem("enter both times as HH:MM")
    if start >= end:
        raise FormProblem("the first time must be earlier than the second")
    return {"not_before": start, "not_after": end}


def _preference(form: Mapping[str, str], key: str) -> EventDocument:
    details = _hours(form, required=True)
    days = [d for d in form.get("days", "").split(",") if d]
    if not days or not set(days) <= set(WEEKDAYS):
        raise FormProblem("tick at least one day")
    if len(days) < len(WEEKDAYS):
        details["days"] = ",".join(d for d in WEEKDAYS if d in days)
    channel = form.get("channel", "")
    if channel and channel not in {c.value for c in Channel}:
        raise FormProblem("choose a way of contacting you")
    return _event(key, type=EventType.CONTACT_PREFERENCE, channel=channel or None, details=details)


def _channel(value: str, view: AccountView) -> str:
    if value not in {c for c, _ in view.points}:
        raise FormProblem("choose a way of contacting you")
    return value
