"""The planner: an account's due strategy steps become contacts with a send window.

Pure: given an account, its contact history and the strategy, it says which steps are due on
the account's local date (and which missed ones may still be caught up), which channel each
will use and when, and why a step is moved, cancelled or blocked. Nothing is dropped silently:
every step considered comes back with a status and an explanation. The store-facing batch
driver is :mod:`orchestrator.planning.portfolio`; the simulation calls this module directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import partial

from orchestrator.compliance import AccountFacts, PastContact, Reason, RulePack, explain
from orchestrator.compliance.localtime import zone
from orchestrator.configuration.strategies import Segment, Step, Strategy, Variant
from orchestrator.domain import Channel, ContactKind, EventType, Purpose, TaskStatus
from orchestrator.planning.routing import choose_route
from orchestrator.tasks.decision import Route, Verdict, decide_task

STOPPED = "strategy.stop_on"
PAUSED = "strategy.pause_after_payment"


@dataclass(frozen=True, slots=True)
class PlanningAccount:
    """An account as the planner sees it."""

    id: int
    external_id: str
    facts: AccountFacts
    due_date: date
    product: str
    risk_score: float | None = None


@dataclass(frozen=True, slots=True)
class PlannedContact:
    """One step, planned (or refused with its reasons).

    Parameters:
      step: ``segment.step``: with ``step_date`` the task's identity (planned once).
      step_date: the step's own date (due date + its day) in the borrower's zone.
      status: ``planned``, or ``blocked`` / ``cancelled`` / ``expired`` with ``reasons``.
      channel, template, address: the route chosen (the step's own when refused).
      fallback: routes dispatch may fail over to.
      not_before / not_after: the send window (UTC).
      expires_at: the step's deadline: it may be re-planned within it, never sent after it.
      explanation: one line for the ledger.
    """

    step: str
    variant: str
    step_date: date
    purpose: Purpose
    status: TaskStatus
    channel: Channel
    template: str
    address: str | None
    fallback: tuple[tuple[Channel, str], ...]
    not_before: datetime
    not_after: datetime
    expires_at: datetime
    reasons: tuple[Reason, ...]
    explanation: str


def local_date(facts: AccountFacts, at: datetime) -> date:
    """The account's local date: in its primary zone."""
    return at.astimezone(zone(facts.zones[0])).date()


def local_instant(facts: AccountFacts, day: date, clock_time: time) -> datetime:
    return datetime.combine(day, clock_time, zone(facts.zones[0])).astimezone(UTC)


DueStep = tuple[Segment, Variant | None, Step, date]


def step_key(segment: Segment, step: Step) -> str:
    """``segment.step``: with the step date, a task's identity (planned once, ever)."""
    return f"{segment.id}.{step.id}"


def due_steps(account: PlanningAccount, strategy: Strategy, today: date) -> list[DueStep]:
    """Steps whose date is today or, within ``catch_up_days``, missed."""
    found = []
    offsets = strategy.day_offsets()
    for late in range(strategy.catch_up_days, -1, -1):
        step_date = today - timedelta(days=late)
        dpd = (step_date - account.due_date).days
        if dpd not in offsets:
            continue
        segment = strategy.segment_for(
            dpd=dpd,
            amount=account.facts.amount_due,
            currency=account.facts.currency,
            product=account.product,
            risk=account.risk_score,
        )
        if segment is None:
            continue
        variant = segment.variant_for(account.external_id)
        for step in segment.ladder(variant):
            if step.day == dpd and (
                step.when is None
                or step.when.match(
                    dpd=dpd,
                    amount=account.facts.amount_due,
                    currency=account.facts.currency,
                    product=account.product,
                    risk=account.risk_score,
                )
            ):
                found.append((segment, variant, step, step_date))
    return found


def plan_account(
    account: PlanningAccount,
    *,
    strategy: Strategy,
    pack: RulePack,
    history: Sequence[PastContact],
    existing: set[tuple[str, date]],
    now: datetime,
    due: Sequence[DueStep] | None = None,
) -> list[PlannedContact]:
    """Plan the account's due steps that have no task yet.

    Parameters:
      history: contacts made and contacts already planned (as ``RESERVED`` at their send
        time), sorted by time: caps see both.
      existing: (step key, step date) pairs that already have a task: planned once, ever.
      now: the planning instant.
      due: the account's :func:`due_steps` at ``now``, when the caller has them already.
    """
    facts = account.facts
    today = local_date(facts, now)
    reserved = list(history)
    planned = []
    if due is None:
        due = due_steps(account, strategy, today)
    for segment, variant, step, step_date in due:
        key = step_key(segment, step)
        if (key, step_date) in existing:
            continue
        contact = _plan_step(
            account, strategy, pack, reserved, segment, variant, step, step_date, now
        )
        planned.append(contact)
        if contact.status is TaskStatus.PLANNED:
            reserved.append(PastContact(contact.not_before, contact.channel, ContactKind.RESERVED))
            reserved.sort(key=lambda c: c.at)
    return planned


def _plan_step(
    account: PlanningAccount,
    strategy: Strategy,
    pack: RulePack,
    history: Sequence[PastContact],
    segment: Segment,
    variant: Variant | None,
    step: Step,
    step_date: date,
    now: datetime,
) -> PlannedContact:
    facts = account.facts
    wanted = max(local_instant(facts, step_date, step.at), now)
    deadline = local_instant(facts, step_date + timedelta(days=step.valid_days + 1), time(0))

    def outcome(
        status: TaskStatus,
        reasons: Sequence[Reason],
        explanation: str,
        *,
        chosen: Route | None = None,
        fallback: tuple[tuple[Channel, str], ...] = (),
        window: tuple[datetime, datetime] | None = None,
    ) -> PlannedContact:
        return PlannedContact(
            step=step_key(segment, step),
            variant=variant.id if variant else "",
            step_date=step_date,
            purpose=step.purpose,
            status=status,
            channel=chosen.channel if chosen else step.channel,
            template=chosen.template if chosen else step.template,
            address=chosen.contact_point.address if chosen else None,
            fallback=fallback,
            not_before=window[0] if window else wanted,
            not_after=window[1] if window else deadline,
            expires_at=deadline,
            reasons=tuple(reasons),
            explanation=explanation,
        )

    ladder_start = min(s.day for s in segment.ladder(variant))
    stopper = _stopped_by(facts, step, account.due_date + timedelta(days=ladder_start), now)
    if stopper is not None:
        return outcome(TaskStatus.CANCELLED, [stopper], f"cancelled: {stopper.message}")
    pause = _payment_pause(facts, strategy, wanted)
    if pause is not None:
        wanted = max(wanted, pause.until or wanted)

    decided = decide_task(
        now=now,
        expires_at=deadline,
        at=wanted,
        route=partial(
            choose_route,
            facts,
            history,
            step.routes(),
            wanted,
            deadline,
            pack,
            purpose=step.purpose,
        ),
    )
    if decided.verdict is Verdict.EXPIRE:
        reason = decided.reasons[0]
        return outcome(TaskStatus.EXPIRED, [reason], f"expired: {reason.message}")
    if decided.verdict is Verdict.BLOCK or decided.choice is None:
        line = "; ".join(f"{r.rule_id} — {r.message}" for r in decided.reasons)
        return outcome(TaskStatus.BLOCKED, decided.reasons, f"blocked: {line}")

    # Send or hold alike: planned for its window.
    choice = decided.choice
    decision = choice.decision
    route = choice.route
    assert decision is not None
    assert route is not None
    assert decided.send_at is not None
    not_after = decided.not_after or deadline
    moved = [*decided.reasons] + ([pause] if pause else [])
    text = (
        f"planned {route.channel} {route.template} for "
        f"{_local(decided.send_at, facts.zones[0])}, send by {_iso(not_after)}"
    )
    if moved:
        text += " — moved: " + "; ".join(f"{r.rule_id} ({r.message})" for r in moved)
    if not decision.allowed and decision.reasons:
        text += f" [{explain(decision)}]"
    return outcome(
        TaskStatus.PLANNED,
        moved,
        text,
        chosen=route,
        fallback=choice.remaining,
        window=(decided.send_at, not_after),
    )


def _stopped_by(
    facts: AccountFacts, step: Step, ladder_start: date, now: datetime
) -> Reason | None:
    """An event the step names in ``stop_on``, recorded since its ladder began."""
    if not step.stop_on:
        return None
    since = local_instant(facts, ladder_start, time(0))
    for event in facts.events:
        if event.type.value in step.stop_on and since <= event.at <= now:
            return Reason(STOPPED, "strategy", f"{event.type} recorded {_iso(event.at)}")
    return None


def _payment_pause(facts: AccountFacts, strategy: Strategy, at: datetime) -> Reason | None:
    """A partial payment pauses the ladder for a few days (paid in full is a hold)."""
    if strategy.pause_after_payment_days == 0:
        return None
    pause = timedelta(days=strategy.pause_after_payment_days)
    for event in reversed(facts.events):
        if event.type is EventType.PAYMENT and event.at <= at:
            until = event.at + pause
            if until > at:
                return Reason(PAUSED, "strategy", f"payment recorded {_iso(event.at)}", until)
            return None
    return None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


def _local(at: datetime, zone_name: str) -> str:
    return f"{at.astimezone(zone(zone_name)):%Y-%m-%d %H:%M} {zone_name} ({_iso(at)})"
