"""The channel config ops edit (``config/channels.yaml``): per channel, providers in order,
with their settings, rate limit, circuit breaker and retry policy.

Validated where it is consumed: each provider's ``settings`` through its adapter's own
``Settings`` model, so an unknown or mistyped field is refused with its full path
(``channels.sms.providers[0].settings.from_numbr``). Credentials appear only as the names of
environment variables; whether those are set is checked when a service builds the adapter
(or by ``orchestrator config validate --secrets``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from channels.registry import adapter_class
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError, Problem, problems_from
from orchestrator.retention import RetentionRule


class _Config(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RateLimit(_Config):
    """A provider's rate limit shared by every worker: ``per_second`` requests, at most
    ``burst`` at once; over any second at most ``per_second + burst`` reach the provider.

    ``burst`` defaults to a tenth of a second's requests (at least 1): a provider that
    counts requests per second sees at most 1.1 × ``per_second`` in any one (a burst of a
    whole second's worth would let twice the rate into one second).
    """

    per_second: float = Field(gt=0, le=100_000)
    burst: int | None = Field(default=None, ge=1, le=100_000)

    @property
    def capacity(self) -> int:
        return self.burst or max(1, int(self.per_second / 10))

    @property
    def most_in_a_second(self) -> int:
        """The most requests that may reach the provider in any one second:
        ``per_second + burst``, whole (at least 1)."""
        return max(1, math.floor(self.per_second + self.capacity))


class Breaker(_Config):
    """Open the circuit after ``failure_threshold`` consecutive transient failures; try one
    send again after ``reset_seconds``."""

    failure_threshold: int = Field(5, ge=1, le=1000)
    reset_seconds: float = Field(30, gt=0, le=3600)


class Retry(_Config):
    """Quick retries inside one send (tenacity): exponential backoff with jitter."""

    attempts: int = Field(3, ge=1, le=10)
    base_seconds: float = Field(1, gt=0, le=60)
    max_seconds: float = Field(30, gt=0, le=600)


class Cost(_Config):
    """What one message (or call) sent through a provider costs: what results report as
    the cost per channel. Sent means the provider accepted it (``docs/results.md``)."""

    per_message: Decimal = Field(ge=0, le=1000)
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code")


class ProviderConfig(_Config):
    """One provider of a channel.

    Parameters:
      adapter / settings: the adapter and its settings (validated by its ``Settings``).
      rate_limit / breaker / retry: dispatch's limits; with the platform's credentials, the
        platform's block's own apply whatever a tenant's block says.
      cost: what one message (or call) through this provider costs, for the results
        (``{per_message: "0.0079", currency: USD}``); without it, its messages are counted
        as unpriced.
      tenant_senders: the platform's config only: the senders each tenant may use with
        this (the platform's) account besides the platform's own, by tenant slug and
        sender setting (``{acme: {from_number: ["+15005550007"]}}``).
    """

    adapter: str
    settings: dict[str, Any]
    rate_limit: RateLimit | None = None
    breaker: Breaker = Field(default_factory=Breaker)
    retry: Retry = Field(default_factory=Retry)
    cost: Cost | None = None
    tenant_senders: dict[str, dict[str, tuple[str, ...]]] = Field(default_factory=dict)


class ChannelConfig(_Config):
    providers: tuple[ProviderConfig, ...] = Field(min_length=1)


class DispatchPolicy(_Config):
    """Bounds across attempts.

    Parameters:
      max_attempts: sends of one task (over all providers and retries) before it fails.
      retry_min_seconds / retry_max_seconds: Dramatiq's backoff between attempts.
      lease_seconds: how long a send may stay unanswered before it is reconciled; it must
        outlast every provider's longest send (its timeout on each in-call attempt plus the
        waits between them), or a request the provider is still taking could be resent.
      unknown_after_seconds: how long to wait for a provider's report on a send a crash left
        ambiguous (when the provider cannot be asked) before calling it unknown.
      window_margin_seconds: no send is reserved when its window closes within this many
        (real) seconds: the time between the check and the provider's receipt must not
        carry it past the close.
    """

    max_attempts: int = Field(5, ge=1, le=50)
    retry_min_seconds: float = Field(5, gt=0, le=3600)
    retry_max_seconds: float = Field(300, gt=0, le=86_400)
    lease_seconds: float = Field(300, ge=10, le=3600)
    unknown_after_seconds: float = Field(900, ge=60, le=86_400)
    window_margin_seconds: float = Field(5, ge=0, le=300)


class RetentionPolicy(_Config):
    """How long personal data kept for the record of a contact is kept
    (:mod:`orchestrator.retention`; docs/security.md, Retention).

    Parameters:
      message_bodies_days: the text of each message sent (90 by default).
      provider_payloads_days: what providers reported about them (30 by default).
    """

    message_bodies_days: int = Field(90, ge=1, le=3650)
    provider_payloads_days: int = Field(30, ge=1, le=3650)

    def rule(self) -> RetentionRule:
        return RetentionRule(
            message_bodies=timedelta(days=self.message_bodies_days),
            provider_payloads=timedelta(days=self.provider_payloads_days),
        )


class ChannelsConfig(_Config):
    version: int = 1
    channels: dict[Channel, ChannelConfig]
    dispatch: DispatchPolicy = Field(default_factory=DispatchPolicy)
    retention: RetentionPolicy = Field(default_factory=RetentionPolicy)

    @model_validator(mode="after")
    def _adapters_fit(self) -> Self:
        problems: list[Problem] = []
        for channel, config in self.channels.items():
            for index, provider in enumerate(config.providers):
                path = f"channels.{channel}.providers[{index}]"
                try:
                    cls = adapter_class(provider.adapter)
                except ConfigError as exc:
                    problems += [Problem(f"{path}.adapter", p.message) for p in exc.problems]
                    continue
                if cls.channel is not channel:
                    problems.append(
                        Problem(
                            f"{path}.adapter",
                            f"{provider.adapter} serves {cls.channel}, not {channel}",
                        )
                    )
                try:
                    cls.Settings.model_validate(provider.settings)
                except ValidationError as exc:
                    problems += [
                        Problem(f"{path}.settings.{'.'.join(str(p) for p in e['loc'])}", e["msg"])
                        for e in exc.errors()
                    ]
        if problems:  # a setting that is wrong (a timeout that is no number) is named above
            raise _Problems(problems)
        for channel, config in self.channels.items():
            for index, provider in enumerate(config.providers):
                timeout = float(provider.settings.get("timeout_seconds", 10.0))
                retry = provider.retry
                longest = timeout * retry.attempts + retry.max_seconds * (retry.attempts - 1)
                if self.dispatch.lease_seconds < longest + 10:
                    problems.append(
                        Problem(
                            "dispatch.lease_seconds",
                            f"{self.dispatch.lease_seconds:g}s is shorter than the longest send "
                            f"of channels.{channel}.providers[{index}] ({provider.adapter}: "
                            f"{longest:g}s) plus 10s: raise it, or lower that provider's "
                            "timeout or retries",
                        )
                    )
        if problems:
            raise _Problems(problems)
        return self

    def providers(self, channel: Channel) -> tuple[ProviderConfig, ...]:
        config = self.channels.get(channel)
        return config.providers if config else ()


class _Problems(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def parse_channels(data: Mapping[str, Any], source: str) -> ChannelsConfig:
    """The channel config from its YAML mapping; :class:`ConfigError` listing every problem."""
    try:
        return ChannelsConfig.model_validate(data)
    except ValidationError as exc:
        problems: list[Problem] = []
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, _Problems):
                problems += cause.problems
            else:
                problems += problems_from([error])
        raise ConfigError(source, problems) from None
