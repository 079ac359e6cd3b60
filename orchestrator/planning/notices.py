"""Notices the law requires, planned when their trigger arrives (pure).

A rule pack lists them (``notices:``): the US validation notice within five days of the
first contact (12 CFR 1006.34), the verification after a dispute (1006.38(d)(2)), the
confirmation of a cease request (1006.6(c)(2)). Each becomes a task like a strategy step's,
identified by ``notice.<rule id>`` and the trigger's local date (planned once), with the
law's deadline as its expiry. It goes through the same engine: a hold lets it through only
when the pack says so, windows and caps always apply, and when no route can carry it
before the deadline it is recorded as blocked, with the reasons.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from orchestrator.channel_types import ChannelKind
from orchestrator.compliance import AccountFacts, PastContact, Reason, RulePack
from orchestrator.compliance.pack import NoticeRule
from orchestrator.domain import Channel, ContactKind, Purpose, TaskStatus
from orchestrator.planning.planner import PlannedContact, PlanningAccount, local_date
from orchestrator.planning.routing import Route, choose_route

LATE = "notice.deadline_passed"
STEP_PREFIX = "notice."
# A notice whose deadline passed less than this ago is still recorded (as expired): the
# ledger shows it was missed. Older triggers (history from before the pack asked for the
# notice) are left alone.
RECORD_MISSED = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class FirstContact:
    """The first contact made about the debt: when, and what it was for."""

    at: datetime
    purpose: Purpose


def notice_step(rule: NoticeRule) -> str:
    return f"{STEP_PREFIX}{rule.id}"


def triggers(
    account: PlanningAccount, rule: NoticeRule, first: FirstContact | None, now: datetime
) -> list[datetime]:
    """The instants that call for ``rule``'s notice, up to ``now``."""
    if rule.trigger == "initial_communication":
        # Not needed when the first contact was this notice itself (1006.34(a)(1)(i)(A)).
        if first is None or first.purpose is rule.purpose or first.at > now:
            return []
        return [first.at]
    return [e.at for e in account.facts.events if e.type.value == rule.trigger and e.at <= now]


def plan_notices(
    account: PlanningAccount,
    *,
    pack: RulePack,
    history: Sequence[PastContact],
    first: FirstContact | None,
    existing: set[tuple[str, date]],
    now: datetime,
) -> list[PlannedContact]:
    """The account's required notices that have a trigger and no task yet.

    Parameters:
      history: contacts made and planned (as for :func:`~orchestrator.planning.planner.
        plan_account`): caps see them.
      first: the first contact made about the debt, if any.
      existing: (step, step date) pairs that already have a task.
    """
    planned = []
    reserved = list(history)
    for rule in pack.notices:
        for trigger in triggers(account, rule, first, now):
            if trigger + rule.within < now - RECORD_MISSED:
                continue
            step = notice_step(rule)
            step_date = local_date(account.facts, trigger)
            if (step, step_date) in existing:
                continue
            existing.add((step, step_date))
            contact = _plan(account, rule, pack, reserved, trigger, step_date, now)
            planned.append(contact)
            if contact.status is TaskStatus.PLANNED:
                reserved.append(
                    PastContact(contact.not_before, contact.channel, ContactKind.RESERVED)
                )
                reserved.sort(key=lambda c: c.at)
    return planned


def _plan(
    account: PlanningAccount,
    rule: NoticeRule,
    pack: RulePack,
    history: Sequence[PastContact],
    trigger: datetime,
    step_date: date,
    now: datetime,
) -> PlannedContact:
    deadline = trigger + rule.within
    routes = [(channel, rule.template) for channel in rule.channels]
    wanted = max(trigger, now)

    def outcome(
        status: TaskStatus,
        reasons: Sequence[Reason],
        text: str,
        *,
        route: Route | None = None,
        fallback: tuple[tuple[Channel, str], ...] = (),
        window: tuple[datetime, datetime] | None = None,
    ) -> PlannedContact:
        return PlannedContact(
            step=notice_step(rule),
            variant="",
            step_date=step_date,
            purpose=rule.purpose,
            status=status,
            channel=route.channel if route else rule.channels[0],
            template=rule.template,
            address=route.contact_point.address if route else None,
            fallback=fallback,
            not_before=window[0] if window else wanted,
            not_after=window[1] if window else deadline,
            expires_at=deadline,
            reasons=tuple(reasons),
            explanation=f"{rule.purpose.value} required by {rule.citation}: {text}",
        )

    if deadline <= now:
        reason = Reason(LATE, rule.citation, f"its deadline {_iso(deadline)} passed")
        return outcome(TaskStatus.EXPIRED, [reason], f"expired: {reason.message}")
    choice = choose_route(
        _consented(account.facts, rule), history, routes, wanted, deadline, pack,
        purpose=rule.purpose,
    )  # fmt: skip
    if choice.route is None or choice.decision is None or choice.send_at is None:
        line = "; ".join(f"{r.rule_id} — {r.message}" for r in choice.reasons)
        return outcome(TaskStatus.BLOCKED, choice.reasons, f"blocked: {line}")
    not_after = min(choice.decision.window_closes_at or deadline, deadline)
    moved = [*choice.reasons, *choice.decision.reasons]
    text = (
        f"planned {choice.route.channel} {rule.template} for {_iso(choice.send_at)}, "
        f"due by {_iso(deadline)}"
    )
    if moved:
        text += " — moved: " + "; ".join(f"{r.rule_id} ({r.message})" for r in moved)
    return outcome(
        TaskStatus.PLANNED,
        moved,
        text,
        route=choice.route,
        fallback=choice.remaining,
        window=(choice.send_at, not_after),
    )


def _consented(facts: AccountFacts, rule: NoticeRule) -> AccountFacts:
    """The facts ``rule``'s notice may use: with ``electronic_consent``, an electronic
    contact point only where the borrower consented to receive the notice there
    (12 CFR 1006.42(b): E-SIGN consent for a validation notice sent electronically)."""
    if not rule.electronic_consent:
        return facts
    points = tuple(
        p
        for p in facts.contact_points
        if p.consent or p.channel.type.kind is not ChannelKind.MESSAGE
    )
    return replace(facts, contact_points=points)


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
