"""Strategies: which contact, on which channel, at what local time, as days past due grow.

A strategy is data (``config/strategies/*.yaml``) that ops edit. It holds *segments*, tried in
order; the first whose conditions match an account (days past due, amount, product, risk
score) applies. A segment is a ladder of *steps*, each on a day relative to the due date
(negative: before it). A segment may split its accounts into *variants* (champion /
challenger) by a stable hash of the account, with weights; the variant is recorded on every
task it plans.

A wrong strategy is refused as a whole, with the path to each bad field.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import time
from decimal import Decimal
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from orchestrator.configuration.ranges import Range
from orchestrator.configuration.repayment import PlanRule
from orchestrator.domain import Channel, Purpose
from orchestrator.errors import ConfigError, Problem, problems_from

_ID = r"^[a-z0-9][a-z0-9_\-]{0,47}$"
Identifier = Annotated[str, Field(pattern=_ID)]


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Conditions(_Config):
    """Which accounts a segment takes. Every given condition must hold."""

    dpd: Range = Field(default_factory=Range, description="days past due (negative: before due)")
    amount: Range = Field(
        default_factory=Range, description="amount due, in the account's currency"
    )
    currencies: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    risk_score: Range | None = None

    def match(
        self, *, dpd: int, amount: Decimal, currency: str, product: str, risk: float | None
    ) -> bool:
        return (
            self.dpd.contains(dpd)
            and self.amount.contains(amount)
            and (not self.currencies or currency in self.currencies)
            and (not self.products or product in self.products)
            and (self.risk_score is None or self.risk_score.contains(risk))
        )


class Fallback(_Config):
    """A channel to try instead, with its own template when the step's does not fit it."""

    channel: Channel
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")] | None = None


class Step(_Config):
    """One rung of the ladder.

    Parameters:
      id: unique within the segment; the task's step key is ``segment.step``.
      day: days relative to the due date (``-3``: three days before it; ``7``: D+7).
      channel: the channel to use.
      template: the message template (``templates/{locale}/{channel}/{template}.j2``).
      at: preferred local send time in the borrower's zone; the compliance engine moves it to
        the next allowed instant when needed.
      fallback: channels to try, in order, when this one cannot be used (no contact point,
        opted out, blocked, provider refused); each may name its own template
        (``{channel: push, template: overdue_notice}``; a bare channel name reuses the step's).
      purpose: why it is sent; only a notice the law requires may pass a hold that allows it.
      stop_on: events that cancel this step once they have happened (``payment``,
        ``promise_to_pay``, ``dispute``): a softer touch is not sent after a promise.
      valid_days: how many days after its day the step may still go out (when shifted by
        holds or windows) before it expires.
      when: conditions the account must also meet for this step to be planned (the
        segment's own decide which ladder applies): a field visit only for large balances
        (``when: {amount: {min: "5000"}}``), 分级催收 by days past due × amount.
    """

    id: Identifier
    day: int = Field(ge=-60, le=730)
    channel: Channel
    template: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,64}$")]
    at: time = time(10, 0)
    fallback: tuple[Fallback, ...] = ()
    purpose: Purpose = Purpose.COLLECTION
    stop_on: tuple[str, ...] = ()
    valid_days: int = Field(default=2, ge=0, le=30)
    when: Conditions | None = None

    @field_validator("at", mode="before")
    @classmethod
    def _clock_time(cls, value: Any) -> Any:
        if isinstance(value, str) and not re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", value):
            raise ValueError(f"{value!r} is not a local time HH:MM")
        return value

    @field_validator("stop_on")
    @classmethod
    def _known_events(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        allowed = {"payment", "promise_to_pay", "dispute"}
        unknown = [v for v in value if v not in allowed]
        if unknown:
            raise ValueError(
                f"stop_on takes {', '.join(sorted(allowed))}, not {', '.join(unknown)}"
            )
        return value

    @field_validator("fallback", mode="before")
    @classmethod
    def _bare_channels(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"channel": v} if isinstance(v, str) else v for v in value]
        return value

    @model_validator(mode="after")
    def _fallback_differs(self) -> Self:
        channels = [f.channel for f in self.fallback]
        if self.channel in channels:
            raise ValueError(f"fallback repeats the step's own channel {self.channel}")
        if len(set(channels)) != len(channels):
            raise ValueError("fallback lists a channel twice")
        return self

    def routes(self) -> tuple[tuple[Channel, str], ...]:
        """(channel, template) to try, in order: the step's own, then its fallbacks."""
        fallbacks = [(f.channel, f.template or self.template) for f in self.fallback]
        return ((self.channel, self.template), *fallbacks)


class Variant(_Config):
    id: Identifier
    weight: int = Field(ge=0, le=10_000)
    steps: tuple[Step, ...] | None = Field(
        default=None, description="this variant's own ladder; the segment's when left out"
    )


class Segment(_Config):
    id: Identifier
    description: str = ""
    when: Conditions = Field(default_factory=Conditions)
    steps: tuple[Step, ...] = ()
    variants: tuple[Variant, ...] = ()

    @model_validator(mode="after")
    def _coherent(self) -> Self:
        if not self.steps and not all(v.steps for v in self.variants):
            raise ValueError("a segment needs steps (or every variant its own)")
        if self.variants:
            if sum(v.weight for v in self.variants) <= 0:
                raise ValueError("variant weights add up to zero")
            _unique((v.id for v in self.variants), "variant")
        for ladder in [self.steps, *(v.steps or () for v in self.variants)]:
            _unique((s.id for s in ladder), "step")
        return self

    def variant_for(self, key: str) -> Variant | None:
        """The variant an account falls in: a stable hash of the key (same answer every day,
        on every machine), spread over the weights."""
        if not self.variants:
            return None
        total = sum(v.weight for v in self.variants)
        digest = hashlib.blake2b(f"{self.id}:{key}".encode(), digest_size=8).digest()
        point = int.from_bytes(digest, "big") % total
        for variant in self.variants:
            if point < variant.weight:
                return variant
            point -= variant.weight
        raise AssertionError("unreachable: weights cover the range")

    def ladder(self, variant: Variant | None) -> tuple[Step, ...]:
        return variant.steps if variant is not None and variant.steps else self.steps


class Strategy(_Config):
    """A whole strategy.

    Parameters:
      name: its name; tasks record ``name@version``.
      catch_up_days: a step whose day passed while planning did not run (or before the
        account arrived) is still planned up to this many days late.
      pause_after_payment_days: after a partial payment, steps wait this many days.
      segments: tried in order; the first that matches applies.
      repayment_plans: the plans the self-service page offers, rules tried in order
        (:mod:`orchestrator.configuration.repayment`); none: the page offers none.
    """

    name: Identifier
    description: str = ""
    catch_up_days: int = Field(default=1, ge=0, le=14)
    pause_after_payment_days: int = Field(default=3, ge=0, le=60)
    segments: tuple[Segment, ...] = Field(min_length=1)
    repayment_plans: tuple[PlanRule, ...] = ()
    _offsets: frozenset[int] = PrivateAttr(default=frozenset())

    @model_validator(mode="after")
    def _unique_segments(self) -> Self:
        _unique((s.id for s in self.segments), "segment")
        _unique((r.id for r in self.repayment_plans), "repayment plan")
        return self

    def model_post_init(self, _context: Any) -> None:
        self._offsets = frozenset(step.day for _, step in self.steps())

    def segment_for(
        self, *, dpd: int, amount: Decimal, currency: str, product: str, risk: float | None
    ) -> Segment | None:
        for segment in self.segments:
            if segment.when.match(
                dpd=dpd, amount=amount, currency=currency, product=product, risk=risk
            ):
                return segment
        return None

    def steps(self) -> Iterable[tuple[Segment, Step]]:
        """Every (segment, step) of every ladder, variants included."""
        for segment in self.segments:
            seen: set[str] = set()
            for ladder in [segment.steps, *(v.steps or () for v in segment.variants)]:
                for step in ladder:
                    key = f"{step.id}/{step.channel}/{step.template}"
                    if key not in seen:
                        seen.add(key)
                        yield segment, step

    def day_offsets(self) -> frozenset[int]:
        """Every step's day: on any other day past due nothing can be due."""
        return self._offsets

    def templates(self) -> set[tuple[str, Channel]]:
        """Every (template, channel) a step or its fallbacks may render."""
        return {
            (template, channel) for _, step in self.steps() for channel, template in step.routes()
        }


def _unique(ids: Iterable[str], what: str) -> None:
    seen: set[str] = set()
    for value in ids:
        if value in seen:
            raise ValueError(f"{what} id {value!r} is used twice")
        seen.add(value)


def parse_strategy(data: Mapping[str, Any], source: str) -> Strategy:
    """A strategy from its YAML mapping; :class:`ConfigError` listing every problem."""
    try:
        return Strategy.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(source, problems_from(exc.errors())) from None
    except ValueError as exc:
        raise ConfigError(source, [Problem("", str(exc))]) from None
