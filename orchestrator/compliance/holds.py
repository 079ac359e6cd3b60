"""Holds: states of an account in which collection stops at once (invariant 3).

A hold derives from the account's events at a given instant: paid in full, cease
communication, dispute under review (until ``dispute_resolved``), bankruptcy, deceased,
attorney represented, a per-channel opt-out (until a later ``opt_in`` on that channel), and a
promise to pay (paused until its date plus the pack's grace period; if no payment of the
promised amount arrived by then the promise is broken and collection resumes).

Some notices are required by law even under a hold (a dispute's verification, 1006.38(d)(2);
the confirmation that collection stops, 1006.6(c)(2)). Each hold lists exactly which
:class:`~orchestrator.domain.Purpose` values still pass it; windows and caps still apply to
them: the exception is in the hold, never in the caps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from orchestrator.compliance.localtime import iso_minute
from orchestrator.compliance.model import AccountEvent, AccountFacts
from orchestrator.compliance.pack import HoldRule, RulePack
from orchestrator.domain import Channel, EventType, Purpose


class HoldKind(StrEnum):
    PAID_IN_FULL = "paid_in_full"
    CEASE_COMMUNICATION = "cease_communication"
    DISPUTE = "dispute"
    BANKRUPTCY = "bankruptcy"
    DECEASED = "deceased"
    ATTORNEY_REPRESENTED = "attorney_represented"
    OPT_OUT = "opt_out"
    PROMISE_TO_PAY = "promise_to_pay"


# What passes a hold when no rule pack says otherwise: the notices the law requires.
DEFAULT_ALLOWS: dict[HoldKind, frozenset[Purpose]] = {
    HoldKind.CEASE_COMMUNICATION: frozenset({Purpose.CEASE_CONFIRMATION}),
    HoldKind.DISPUTE: frozenset({Purpose.DISPUTE_VERIFICATION}),
    HoldKind.OPT_OUT: frozenset({Purpose.OPT_OUT_CONFIRMATION}),
}

_EVENT_HOLDS: dict[EventType, HoldKind] = {
    EventType.CEASE_COMMUNICATION: HoldKind.CEASE_COMMUNICATION,
    EventType.BANKRUPTCY: HoldKind.BANKRUPTCY,
    EventType.DECEASED: HoldKind.DECEASED,
    EventType.ATTORNEY_REPRESENTATION: HoldKind.ATTORNEY_REPRESENTED,
}


@dataclass(frozen=True, slots=True)
class Hold:
    """One active hold.

    Parameters:
      kind: what stops collection.
      channels: the channels it stops; ``None`` for every channel.
      since: when it began.
      until: when it ends by itself (a promise to pay plus grace); ``None`` when only a later
        event can end it, or never.
      rule_id, citation: the pack's rule for this hold.
      allows: purposes the law still requires or permits under this hold.
      detail: what the hold saw, for a person.
    """

    kind: HoldKind
    channels: frozenset[Channel] | None
    since: datetime
    until: datetime | None
    rule_id: str
    citation: str
    allows: frozenset[Purpose]
    detail: str

    def blocks(self, channel: Channel, purpose: Purpose) -> bool:
        """Whether this hold stops a contact on ``channel`` for ``purpose``."""
        if self.channels is not None and channel not in self.channels:
            return False
        return purpose not in self.allows


@dataclass(frozen=True, slots=True)
class HoldTable:
    """Rule ids, citations and exceptions per hold kind, and the promise-to-pay grace."""

    rules: dict[HoldKind, tuple[str, str, frozenset[Purpose]]]
    grace: timedelta

    @classmethod
    def from_pack(cls, pack: RulePack | None) -> HoldTable:
        rules: dict[HoldKind, tuple[str, str, frozenset[Purpose]]] = {}
        for kind in HoldKind:
            rule: HoldRule | None = pack.holds.rule(kind.value) if pack is not None else None
            if rule is None:
                # A hold no pack cites still stops collection: the invariant is not optional.
                rules[kind] = (
                    f"hold.{kind.value}",
                    "policy",
                    DEFAULT_ALLOWS.get(kind, frozenset()),
                )
            else:
                rules[kind] = (rule.id, rule.citation, frozenset(rule.allows))
        grace = pack.holds.promise_to_pay_grace if pack is not None else timedelta(days=1)
        return cls(rules=rules, grace=grace)

    def make(
        self,
        kind: HoldKind,
        since: datetime,
        detail: str,
        *,
        channels: frozenset[Channel] | None = None,
        until: datetime | None = None,
    ) -> Hold:
        rule_id, citation, allows = self.rules[kind]
        return Hold(kind, channels, since, until, rule_id, citation, allows, detail)


def holds_at(
    events: Iterable[AccountEvent], amount_due: Decimal, at: datetime, table: HoldTable
) -> tuple[Hold, ...]:
    """The holds in force at ``at`` from ``events`` (sorted by time; later ones ignored)."""
    found: list[Hold] = []
    paid = Decimal(0)
    paid_in_full: Hold | None = None
    dispute: AccountEvent | None = None
    opt_outs: dict[Channel | None, AccountEvent] = {}
    promises: list[AccountEvent] = []
    payments: list[AccountEvent] = []
    for event in events:
        if event.at > at:
            break
        kind = event.type
        if kind is EventType.PAYMENT:
            payments.append(event)
            if paid_in_full is None:
                if event.amount is not None:
                    paid += event.amount
                if event.amount is None or paid >= amount_due:
                    paid_in_full = table.make(
                        HoldKind.PAID_IN_FULL, event.at, f"paid in full on {_stamp(event.at)}"
                    )
        elif kind in _EVENT_HOLDS:
            hold_kind = _EVENT_HOLDS[kind]
            label = hold_kind.value.replace("_", " ")
            found.append(table.make(hold_kind, event.at, f"{label} since {_stamp(event.at)}"))
        elif kind is EventType.DISPUTE:
            if dispute is None:
                dispute = event
        elif kind is EventType.DISPUTE_RESOLVED:
            dispute = None
        elif kind is EventType.OPT_OUT:
            opt_outs[event.channel] = event
        elif kind is EventType.OPT_IN:
            if event.channel is None:
                opt_outs.clear()
            else:
                opt_outs.pop(event.channel, None)
                if None in opt_outs:
                    # A general opt-out stays for every channel but the one opted back in.
                    general = opt_outs.pop(None)
                    for other in Channel:
                        if other is not event.channel and other not in opt_outs:
                            opt_outs[other] = general
        elif kind is EventType.PROMISE_TO_PAY:
            promises.append(event)
    if paid_in_full is not None:
        found.append(paid_in_full)
    if dispute is not None:
        found.append(
            table.make(
                HoldKind.DISPUTE, dispute.at, f"dispute under review since {_stamp(dispute.at)}"
            )
        )
    for channel, event in opt_outs.items():
        scope = None if channel is None else frozenset({channel})
        what = "every channel" if channel is None else channel.value
        found.append(
            table.make(
                HoldKind.OPT_OUT,
                event.at,
                f"opted out of {what} on {_stamp(event.at)}",
                channels=scope,
            )
        )
    for promise in promises:
        end = promise_end(promise, table.grace)
        if promise.at <= at < end and not _plan_broken(promise, promises, payments, at, table):
            found.append(
                table.make(
                    HoldKind.PROMISE_TO_PAY,
                    promise.at,
                    f"promise to pay by {_stamp(promise.until or promise.at)}; "
                    f"paused until {_stamp(end)}",
                    until=end,
                )
            )
    return tuple(found)


def _plan_broken(
    promise: AccountEvent,
    promises: list[AccountEvent],
    payments: list[AccountEvent],
    at: datetime,
    table: HoldTable,
) -> bool:
    """Whether an earlier instalment of the promise's repayment plan ended unpaid by ``at``:
    a plan is a series of promises, and a missed one ends the pause of the ones after it."""
    plan = promise.details.get("plan")
    if not plan:
        return False
    return any(
        other.details.get("plan") == plan
        and other.at < promise.at
        and promise_end(other, table.grace) <= at
        and not promise_kept(other, payments, table.grace)
        for other in promises
    )


def promise_end(promise: AccountEvent, grace: timedelta) -> datetime:
    """When a promise to pay stops pausing collection: its date plus the grace period."""
    return (promise.until or promise.at) + grace


def promise_kept(promise: AccountEvent, events: Iterable[AccountEvent], grace: timedelta) -> bool:
    """Whether a single payment of at least the promised amount arrived by the promise's end.

    A promise without an amount is kept by any payment.
    """
    end = promise_end(promise, grace)
    for event in events:
        if event.type is not EventType.PAYMENT or not promise.at <= event.at <= end:
            continue
        if promise.amount is None or event.amount is None or event.amount >= promise.amount:
            return True
    return False


def change_points(account: AccountFacts, after: datetime, grace: timedelta) -> list[datetime]:
    """Instants after ``after`` at which the account's holds or preferences may change."""
    points = {event.at for event in account.events if event.at > after}
    for event in account.events:
        if event.type is EventType.PROMISE_TO_PAY:
            end = promise_end(event, grace)
            if end > after:
                points.add(end)
    return sorted(points)


def active_holds(
    account: AccountFacts, at: datetime, pack: RulePack | None = None
) -> tuple[Hold, ...]:
    """The holds in force on ``account`` at ``at``.

    Parameters:
      account: the account; its ``events`` sorted by time (events after ``at`` are ignored).
      at: the instant asked about (aware).
      pack: the account's rule pack, for rule ids, citations, exceptions and the
        promise-to-pay grace; without it ids are ``hold.<kind>`` with the law's usual
        exceptions and a one-day grace.
    """
    return holds_at(account.events, account.amount_due, at, HoldTable.from_pack(pack))


_stamp = iso_minute
