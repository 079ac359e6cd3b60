"""Repayment plans a borrower may choose on the self-service page, from the tenant's rules.

The rules live in the strategy (``repayment_plans:``), tried in order like segments: the
first whose ``when`` matches the account (days past due, amount) gives the terms. A rule
offers settling in full (with an optional discount) and instalment plans of 2 to
``max_months`` monthly payments, each at least ``min_instalment``. A chosen plan becomes a
series of ``promise_to_pay`` events (one per instalment), which the engine already pauses
collection for and resumes after when one is missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field

from orchestrator.configuration.ranges import Range
from orchestrator.domain import currency_places

# Never more choices than fit on a phone's screen.
MAX_OPTIONS = 6


class PlanWhen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    dpd: Range = Field(default_factory=Range, description="days past due")
    amount: Range = Field(default_factory=Range, description="amount due")


class PlanRule(BaseModel):
    """Terms offered to the accounts a rule matches.

    Parameters:
      id: the rule's name (recorded on the promises of a plan chosen under it).
      when: which accounts (days past due, amount due); every given condition must hold.
      max_months: the longest instalment plan offered (0: settling in full only).
      min_instalment: no instalment smaller than this, in the account's currency.
      settle_discount_percent: off the amount due when it is paid in full at once.
      settle_within_days: how long the borrower has to pay in full (and each instalment
        period is a month: 30 days).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]{0,31}$")
    when: PlanWhen = Field(default_factory=PlanWhen)
    max_months: int = Field(default=6, ge=0, le=36)
    min_instalment: Decimal = Field(default=Decimal(0), ge=0)
    settle_discount_percent: Decimal = Field(default=Decimal(0), ge=0, le=50)
    settle_within_days: int = Field(default=7, ge=1, le=30)

    def matches(self, dpd: int, amount: Decimal) -> bool:
        return self.when.dpd.contains(dpd) and self.when.amount.contains(amount)


@dataclass(frozen=True, slots=True)
class Instalment:
    due: date
    amount: Decimal


@dataclass(frozen=True, slots=True)
class PlanOption:
    """One plan a borrower may choose: ``id`` is ``settle`` or ``m<N>`` (N months)."""

    id: str
    rule: str
    total: Decimal
    discount: Decimal
    instalments: tuple[Instalment, ...]


def plan_options(
    rules: tuple[PlanRule, ...], *, amount: Decimal, currency: str, dpd: int, today: date
) -> list[PlanOption]:
    """The plans the first matching rule offers an account owing ``amount`` today."""
    rule = next((r for r in rules if r.matches(dpd, amount)), None)
    if rule is None or amount <= 0:
        return []
    quantum = Decimal(1).scaleb(-currency_places(currency))
    discount = (amount * rule.settle_discount_percent / 100).quantize(quantum, ROUND_DOWN)
    options = [
        PlanOption(
            "settle",
            rule.id,
            amount - discount,
            discount,
            (Instalment(today + timedelta(days=rule.settle_within_days), amount - discount),),
        )
    ]
    for months in range(2, rule.max_months + 1):
        share = (amount / months).quantize(quantum, ROUND_HALF_UP)
        if share < rule.min_instalment:
            break
        amounts = [share] * (months - 1) + [amount - share * (months - 1)]
        instalments = tuple(
            Instalment(today + timedelta(days=30 * (i + 1)), a) for i, a in enumerate(amounts)
        )
        options.append(PlanOption(f"m{months}", rule.id, amount, Decimal(0), instalments))
    if len(options) > MAX_OPTIONS:
        # Keep settling in full, the shortest and the longest, and spread the rest.
        plans = options[1:]
        step = (len(plans) - 1) / (MAX_OPTIONS - 2)
        options = [options[0]] + [plans[round(i * step)] for i in range(MAX_OPTIONS - 1)]
    return options
