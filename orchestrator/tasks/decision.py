"""What to do with a task now: the one decision the planner, dispatch, re-planning and the
simulation all make.

Pure: no store, no clock reads. The caller gives the instant, the task's deadline and
attempts, and how to choose a route (the route is asked for only when the task is neither
past its deadline nor out of attempts, so an expired task costs no compliance decision).

The verdicts, in the order they are tried:

- **expire**: the deadline has passed; never sent late;
- **give up**: the task has used every attempt it is allowed;
- **block**: no route can be used before the deadline, with each route's reasons;
- **hold** until an instant: a route is allowed, later (a window, a cap, a pause);
- **send**: a route is allowed now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

from orchestrator.compliance import Decision, Reason
from orchestrator.domain import Channel

EXPIRED = "strategy.step_expired"
GAVE_UP = "dispatch.max_attempts"


class Route(Protocol):
    """The route a choice names (``planning.routing.Route``)."""

    @property
    def channel(self) -> Channel: ...

    @property
    def template(self) -> str: ...

    @property
    def contact_point(self) -> Any: ...


class Choice(Protocol):
    """What choosing a route answers (``planning.routing.RouteChoice``)."""

    @property
    def route(self) -> Route | None: ...

    @property
    def decision(self) -> Decision | None: ...

    @property
    def remaining(self) -> tuple[tuple[Channel, str], ...]: ...

    @property
    def reasons(self) -> tuple[Reason, ...]: ...

    @property
    def send_at(self) -> datetime | None: ...

    def explain(self) -> str: ...


class Verdict(StrEnum):
    SEND = "send"
    HOLD = "hold"
    BLOCK = "block"
    EXPIRE = "expire"
    GIVE_UP = "give_up"


@dataclass(frozen=True, slots=True)
class TaskDecision:
    """The verdict and why.

    Parameters:
      verdict: what to do.
      reasons: the rules behind it (for a hold, why each earlier route was not used and why
        the chosen one waits).
      choice: the route choice, for ``send``, ``hold`` and ``block``.
      send_at: when to send (``send``: now; ``hold``: the instant it is held until).
      not_after: the end of the send window (``send`` and ``hold``).
    """

    verdict: Verdict
    reasons: tuple[Reason, ...]
    choice: Choice | None = None
    send_at: datetime | None = None
    not_after: datetime | None = None

    @property
    def rules(self) -> list[str]:
        return [r.rule_id for r in self.reasons]

    @property
    def remaining(self) -> list[list[str]]:
        """The routes after the chosen one, as the task stores them."""
        return [[c.value, t] for c, t in self.choice.remaining] if self.choice else []

    def explain(self) -> str:
        if self.choice is not None:
            return self.choice.explain()
        return "; ".join(f"{r.rule_id} — {r.message}" for r in self.reasons)


def decide_task(
    *,
    now: datetime,
    expires_at: datetime,
    route: Callable[[], Choice],
    attempts: int = 0,
    max_attempts: int | None = None,
    at: datetime | None = None,
) -> TaskDecision:
    """The verdict for a task at ``now``.

    Parameters:
      now: the instant of deciding.
      expires_at: the task's deadline: at or after it the task expires.
      route: chooses the route at ``at`` (called at most once, and only when needed).
      attempts / max_attempts: sends already tried, and how many are allowed (``None``: no
        bound, as when planning).
      at: the instant asked for (the planner asks for the step's time); ``now`` by default.
        A route allowed only after ``now`` is a hold.
    """
    if now >= expires_at:
        return TaskDecision(
            Verdict.EXPIRE, (Reason(EXPIRED, "strategy", f"its window ended {_iso(expires_at)}"),)
        )
    if max_attempts is not None and attempts >= max_attempts:
        return TaskDecision(
            Verdict.GIVE_UP, (Reason(GAVE_UP, "dispatch", f"gave up after {attempts} attempts"),)
        )
    choice = route()
    if choice.route is None or choice.decision is None or choice.send_at is None:
        return TaskDecision(Verdict.BLOCK, tuple(choice.reasons), choice)
    decision = choice.decision
    not_after = min(decision.window_closes_at or expires_at, expires_at)
    reasons = (*choice.reasons, *decision.reasons)
    verdict = Verdict.HOLD if choice.send_at > now else Verdict.SEND
    return TaskDecision(verdict, reasons, choice, choice.send_at, not_after)


@dataclass(frozen=True, slots=True)
class Revision:
    """How a pending task changes when facts change: cancelled, or moved (its new window and
    route); ``None`` from :func:`revise` when it stays as planned."""

    status: str | None  # "cancelled", or None for a reschedule
    values: dict[str, Any]
    message: str


def revise(
    task: Any, decision: TaskDecision, *, now: datetime, cancelled: str = "cancelled"
) -> Revision | None:
    """A pending task re-checked against fresh facts (``decision``, asked at
    ``max(task.not_before, now)``): cancel what no route allows any more, move what a window
    or cap now delays or what now needs another channel; leave the rest alone."""
    if decision.verdict in (Verdict.BLOCK, Verdict.EXPIRE) or decision.choice is None:
        return Revision(
            cancelled,
            {"status": cancelled, "reasons": decision.rules},
            f"cancelled {task.channel} {task.template} ({task.step}): {decision.explain()}",
        )
    route = decision.choice.route
    send_at = decision.send_at
    assert route is not None
    assert send_at is not None
    same_channel = route.channel.value == task.channel
    if same_channel and (send_at == max(task.not_before, now) or send_at <= task.not_before):
        return None
    return Revision(
        None,
        {
            "not_before": send_at,
            "not_after": decision.not_after,
            "channel": route.channel.value,
            "template": route.template,
            "fallback": decision.remaining,
            "reasons": decision.rules,
        },
        f"rescheduled {route.channel} {route.template} ({task.step}) to "
        f"{send_at:%Y-%m-%dT%H:%MZ}: {decision.explain()}",
    )


def routes_of(task: Any) -> Sequence[tuple[Channel, str]]:
    """A stored task's routes: its channel, then its fallbacks in order."""
    return [(Channel(task.channel), task.template)] + [(Channel(c), t) for c, t in task.fallback]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")
