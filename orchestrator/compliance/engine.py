"""``decide``: may this contact happen now, and if not, when?

Pure: no I/O, no clock, no globals beyond memo caches of pure functions. The engine
combines four kinds of rule from the account's rule pack:

1. contact-point rules (consent, workplace, invalid, third party): permanent while the
   facts hold;
2. holds (invariant 3), from the account's events, each with the purposes it lets through;
3. windows (invariant 1): pack windows, public holidays and the borrower's preferences in
   every candidate zone;
4. caps and cooldowns (invariant 2) over the contact history, reserved contacts included.

The next allowed instant is found by a fixpoint over the constraints' ``earliest`` answers
(see :mod:`.constraints`), bounded by :data:`HORIZON`.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from operator import attrgetter

from orchestrator.compliance.compiled import CompiledPack, compile_pack
from orchestrator.compliance.constraints import (
    Constraint,
    Cooldown,
    DailyCap,
    HoldConstraint,
    PreferenceEpochs,
    RollingCap,
    ScheduleConstraint,
)
from orchestrator.compliance.holds import change_points
from orchestrator.compliance.model import (
    AccountFacts,
    ContactPointFacts,
    Decision,
    PastContact,
    Reason,
)
from orchestrator.compliance.pack import RulePack
from orchestrator.compliance.preferences import preferences_for
from orchestrator.domain import Channel, EventType, Purpose

HORIZON = timedelta(days=400)
"""How far ahead the engine looks for the next allowed instant; beyond it the answer is
``None`` (treated like a permanent block by callers)."""

_AT = attrgetter("at")


def decide(
    account: AccountFacts,
    history: Sequence[PastContact],
    channel: Channel,
    at: datetime,
    pack: RulePack,
    *,
    purpose: Purpose = Purpose.COLLECTION,
    contact_point: ContactPointFacts | None = None,
) -> Decision:
    """Whether a contact on ``channel`` at ``at`` is allowed, why not, and when it would be.

    Parameters:
      account: the account (one debt): jurisdiction, candidate zones, events.
      history: past contacts on this debt, sorted by ``at``, including contacts reserved but
        not yet sent (``ContactKind.RESERVED``, counted like attempts, possibly after ``at``).
        It may reach further back than ``pack.lookback``.
      channel: the candidate contact's channel.
      at: the candidate instant (aware; any zone).
      pack: the account's rule pack (``RuleLibrary.pack_for``).
      purpose: why the message is sent; only holds look at it.
      contact_point: the address to be used, when known: consent, workplace, invalid and
        third-party rules apply to it.

    Returns a :class:`Decision`: ``allowed``, every blocking rule, ``next_allowed_at`` (``at``
    itself when allowed; ``None`` for a permanent block or nothing within :data:`HORIZON`)
    and ``window_closes_at`` (the end of that contiguous allowed stretch; ``None`` when it
    lasts past the horizon).
    """
    if at.tzinfo is None:
        raise ValueError("decide() needs an aware instant")
    if at.tzinfo is not UTC:
        at = at.astimezone(UTC)
    compiled = compile_pack(pack)
    zones = account.zones
    if not zones:
        raise ValueError("account.zones is empty: resolve zones before deciding")

    permanent = _contact_point_reasons(compiled, channel, contact_point)
    limit = at + HORIZON
    constraints = _constraints(compiled, account, history, channel, at, purpose, limit)

    if not permanent:
        next_at = _next_allowed(constraints, at, limit)
        if next_at == at:
            return Decision(True, at, channel, (), at, _closes(constraints, at, limit), zones)
    else:
        next_at = None

    reasons = list(permanent)
    for constraint in constraints:
        if constraint.earliest(at) != at:
            reasons.extend(constraint.reasons(at))
    closes = _closes(constraints, next_at, limit) if next_at is not None else None
    return Decision(False, at, channel, tuple(reasons), next_at, closes, zones)


def _contact_point_reasons(
    compiled: CompiledPack, channel: Channel, point: ContactPointFacts | None
) -> list[Reason]:
    if point is None:
        return []
    found = []
    for spec in compiled.points:
        if channel not in spec.channels:
            continue
        value = getattr(point, spec.flag)
        if spec.flag == "consent":
            if not value:
                found.append(
                    Reason(
                        spec.rule_id,
                        spec.citation,
                        f"no prior express consent for automated {channel.value} to this number",
                    )
                )
        elif value:
            what = {
                "workplace": "the address is at the borrower's workplace",
                "invalid": "the address is known to be invalid",
                "third_party": "the address belongs to a third party, not the borrower",
            }[spec.flag]
            found.append(Reason(spec.rule_id, spec.citation, what))
    return found


def _constraints(
    compiled: CompiledPack,
    account: AccountFacts,
    history: Sequence[PastContact],
    channel: Channel,
    at: datetime,
    purpose: Purpose,
    limit: datetime,
) -> list[Constraint]:
    constraints: list[Constraint] = []
    events = account.events
    if events:
        constraints.append(
            HoldConstraint(
                account,
                channel,
                purpose,
                compiled.holds,
                change_points(account, at, compiled.holds.grace),
            )
        )
    epochs = None
    if events and any(e.type is EventType.CONTACT_PREFERENCE for e in events):
        rule_id, citation = compiled.preference
        found = preferences_for(events, channel, rule_id, citation)
        if found:
            epochs = PreferenceEpochs([(event.at, scope, pref) for event, scope, pref in found])
    constraints.append(
        ScheduleConstraint(
            compiled.schedule(channel, account.jurisdiction), account.zones, epochs, limit
        )
    )
    caps = compiled.caps[channel]
    cooldowns = compiled.cooldowns[channel]
    if caps or cooldowns:
        recent = history[bisect_right(history, at - compiled.lookback, key=_AT) :]
        for cap in caps:
            times = [c.at for c in recent if c.channel in cap.channels and c.kind in cap.kinds]
            if cap.window is None:
                constraints.append(DailyCap(cap, times, account.zones[0]))
            elif times or cap.limit <= 0:
                constraints.append(RollingCap(cap, times))
        for cooldown in cooldowns:
            times = [
                c.at for c in recent if c.channel in cooldown.channels and c.kind in cooldown.kinds
            ]
            if times:
                constraints.append(Cooldown(cooldown, times))
    return constraints


def _next_allowed(
    constraints: Sequence[Constraint], at: datetime, limit: datetime
) -> datetime | None:
    t = at
    moved = True
    while moved:
        moved = False
        for constraint in constraints:
            found = constraint.earliest(t)
            if found is None or found >= limit:
                return None
            if found != t:
                t = found
                moved = True
    return t


def _closes(constraints: Sequence[Constraint], start: datetime, limit: datetime) -> datetime | None:
    t = start
    while True:
        ends = [end for c in constraints if (end := c.until(t)) is not None]
        if not ends:
            return None
        t = min(ends)
        if t >= limit:
            return None
        if any(c.earliest(t) != t for c in constraints):
            return t
