"""What the compliance engine reads and what it answers.

Plain frozen values, no I/O: the planner, dispatch and the simulation build these from the
store (or from memory) and call :func:`orchestrator.compliance.decide`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orchestrator.domain import Channel, ContactKind, EventType, Purpose


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """One account event, as the engine sees it.

    Parameters:
      type: what happened.
      at: when it takes effect (UTC, aware). A date-only event was already turned into an
        instant by the caller (start of that day in the borrower's zone).
      channel: for ``opt_out`` / ``opt_in`` (and an optional scope for ``contact_preference``).
      until: for ``promise_to_pay``, the end of the promised date (UTC instant).
      amount: for ``payment`` and ``promise_to_pay``.
      details: for ``contact_preference``: e.g. ``{"not_before": "18:00", "not_after":
        "20:00", "days": "mon,tue"}``; the borrower's stated convenient times.
    """

    type: EventType
    at: datetime
    channel: Channel | None = None
    until: datetime | None = None
    amount: Decimal | None = None
    details: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ContactPointFacts:
    """A way to reach the borrower and what we know about it.

    Parameters:
      consent: prior express consent for automated calls/texts (TCPA, 47 U.S.C. 227).
      workplace: the address is at the borrower's workplace (12 CFR 1006.6(b)(3), 1006.22(f)(3)).
      invalid: the provider told us the address is dead (invalid number, unregistered token).
      third_party: the address belongs to someone else (a relative, an emergency contact):
        collection must not reach them (12 CFR 1006.6(d); NIFA 2018 convention).
    """

    channel: Channel
    address: str
    consent: bool = False
    workplace: bool = False
    invalid: bool = False
    third_party: bool = False


@dataclass(frozen=True, slots=True)
class AccountFacts:
    """Everything about one account (one debt) that a rule may read.

    Parameters:
      jurisdiction: ISO 3166-1 country, optionally ``-`` and a subdivision: ``US-NY``,
        ``CN-GD``, ``GB``, ``AU-NSW``.
      zones: candidate IANA time zones, resolved beforehand by
        :func:`orchestrator.compliance.zones.resolve_zones`; the first is the primary zone
        (used for the account's local date). Never empty.
      amount_due: outstanding balance, used by "paid in full".
      events: account events sorted by ``at``; holds derive from them at the instant asked.
      contact_points: the account's contact points.
    """

    jurisdiction: str
    zones: tuple[str, ...]
    amount_due: Decimal
    currency: str
    events: tuple[AccountEvent, ...] = ()
    contact_points: tuple[ContactPointFacts, ...] = ()


@dataclass(frozen=True, slots=True)
class PastContact:
    """One entry of the contact history (from the ledger), sorted by ``at``."""

    at: datetime
    channel: Channel
    kind: ContactKind
    purpose: Purpose = Purpose.COLLECTION


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule that blocked a contact.

    Parameters:
      rule_id: stable id, e.g. ``us.reg_f.call_frequency_7d``; the ledger stores it.
      citation: the legal source, e.g. ``12 CFR 1006.14(b)(2)(i)(A)``, or ``policy``.
      message: what the rule saw, for a person ("7 call attempts since 2026-03-02T14:05Z").
      until: when this block lifts on its own; ``None`` for a hold with no end date.
    """

    rule_id: str
    citation: str
    message: str
    until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """The engine's answer for one candidate contact.

    Parameters:
      allowed: the contact may happen at ``at``.
      reasons: every rule that blocked it (empty when allowed).
      next_allowed_at: the earliest instant >= ``at`` at which the same contact would be
        allowed given the same history (``at`` itself when allowed); ``None`` when no such
        instant exists (a permanent hold) or none within the engine's search horizon.
      window_closes_at: when allowed (or for ``next_allowed_at``), the end of that
        contiguous allowed time window (quiet hours start, a day cap resets...), so a planner
        can give a task a send window.
      zones: the candidate zones the decision used.
    """

    allowed: bool
    at: datetime
    channel: Channel
    reasons: tuple[Reason, ...]
    next_allowed_at: datetime | None
    window_closes_at: datetime | None
    zones: tuple[str, ...]

    @property
    def rule_ids(self) -> tuple[str, ...]:
        return tuple(r.rule_id for r in self.reasons)
