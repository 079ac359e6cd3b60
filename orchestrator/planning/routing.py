"""Choosing how to reach a borrower for one step: which channel, which address, when.

Pure, like the compliance engine it asks: the planner uses it to plan a step, dispatch to
re-check a task at the moment of sending (and to fail over), the simulation to do both on a
virtual clock. A step's own channel is preferred whenever the engine allows it before the
step's deadline; its fallbacks are tried, in order, only when it cannot be used in time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from orchestrator.compliance import (
    AccountFacts,
    ContactPointFacts,
    Decision,
    PastContact,
    Reason,
    RulePack,
    decide,
    explain,
)
from orchestrator.domain import Channel, Purpose

NO_CONTACT_POINT = "route.no_contact_point"
NO_WINDOW = "route.no_window_before_deadline"


@dataclass(frozen=True, slots=True)
class Route:
    channel: Channel
    template: str
    contact_point: ContactPointFacts


@dataclass(frozen=True, slots=True)
class RouteChoice:
    """The outcome of :func:`choose_route`.

    Parameters:
      route: the route to use, or ``None`` when no route can be used before the deadline.
      decision: the engine's decision for ``route`` at the asked instant (its
        ``next_allowed_at`` is when to send).
      remaining: the routes after the chosen one (dispatch fails over to them).
      reasons: why each route tried before (or instead of) the chosen one was not used.
    """

    route: Route | None
    decision: Decision | None
    remaining: tuple[tuple[Channel, str], ...]
    reasons: tuple[Reason, ...]

    @property
    def send_at(self) -> datetime | None:
        return self.decision.next_allowed_at if self.decision is not None else None

    def explain(self) -> str:
        if self.decision is not None and not self.reasons:
            return explain(self.decision)
        return "; ".join(f"{r.rule_id} — {r.message}" for r in self.reasons)


def choose_route(
    facts: AccountFacts,
    history: Sequence[PastContact],
    routes: Sequence[tuple[Channel, str]],
    at: datetime,
    deadline: datetime,
    pack: RulePack,
    *,
    purpose: Purpose = Purpose.COLLECTION,
) -> RouteChoice:
    """The first route (channel, template) usable at or after ``at`` and before ``deadline``.

    Within a channel the account's contact points are tried in the lender's order, skipping
    those a provider declared dead.
    """
    reasons: list[Reason] = []
    for index, (channel, template) in enumerate(routes):
        points = [p for p in facts.contact_points if p.channel is channel and not p.invalid]
        if not points:
            reasons.append(
                Reason(NO_CONTACT_POINT, "strategy", f"no usable {channel} contact point")
            )
            continue
        for point in points:
            decision = decide(
                facts, history, channel, at, pack, purpose=purpose, contact_point=point
            )
            when = decision.next_allowed_at
            if when is not None and when <= deadline:
                return RouteChoice(
                    Route(channel, template, point),
                    decision,
                    tuple(routes[index + 1 :]),
                    tuple(reasons),
                )
            reasons.extend(decision.reasons)
            if not decision.reasons:
                # Allowed, but only after the deadline (or the deadline has passed): say so,
                # or the explanation names only the routes tried after this one.
                reasons.append(_too_late(channel, when, deadline))
    return RouteChoice(None, None, (), tuple(_unique(reasons)))


def _too_late(channel: Channel, when: datetime | None, deadline: datetime) -> Reason:
    by = deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    if when is None:
        message = f"no {channel} window is open before the deadline ({by})"
    else:
        opens = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
        message = f"the {channel} contact could go out at {opens}, after its deadline ({by})"
    return Reason(NO_WINDOW, "strategy", message)


def _unique(reasons: list[Reason]) -> list[Reason]:
    seen: set[tuple[str, str]] = set()
    kept = []
    for reason in reasons:
        key = (reason.rule_id, reason.message)
        if key not in seen:
            seen.add(key)
            kept.append(reason)
    return kept
