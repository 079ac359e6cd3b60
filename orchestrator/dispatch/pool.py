"""The providers a worker can send through: the built adapters
(:class:`~orchestrator.dispatch.adapters.Adapters`) with their circuit breakers."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from channels.egress import Egress
from orchestrator.clock import Clock
from orchestrator.configuration.source import ConfigSet
from orchestrator.dispatch.adapters import MAX_ADAPTERS, Adapters, Provider
from orchestrator.dispatch.limits import CLOSED, CircuitBreaker
from orchestrator.domain import Channel

__all__ = ["MAX_ADAPTERS", "Provider", "ProviderPool"]


class ProviderPool:
    """The configured adapters (:class:`~orchestrator.dispatch.adapters.Adapters`) plus the
    circuit breakers dispatch consults before choosing one.

    Parameters:
    breaker: the shared circuit breakers.
    config, clock, http, egress, max_adapters: as for ``Adapters``, which builds and caches
      the adapters.
    """

    def __init__(
        self,
        config: Callable[[], ConfigSet],
        breaker: CircuitBreaker,
        clock: Clock,
        http: httpx.Client | None = None,
        egress: Egress | None = None,
        max_adapters: int = MAX_ADAPTERS,
    ) -> None:
        self.adapters = Adapters(config, clock, http, egress, max_adapters)
        self.breaker = breaker

    @property
    def cached(self) -> int:
        """How many built adapters are kept."""
        return self.adapters.cached

    @property
    def max_adapters(self) -> int:
        return self.adapters.max_adapters

    @property
    def http(self) -> httpx.Client:
        """The shared HTTP client of the platform's endpoints."""
        return self.adapters.http

    @property
    def clock(self) -> Clock:
        return self.adapters.clock

    def providers(
        self, tenant: str, channel: Channel, *, config: ConfigSet | None = None
    ) -> list[Provider]:
        """The channel's providers in configured order (see :meth:`Adapters.providers`)."""
        return self.adapters.providers(tenant, channel, config=config)

    def named(self, tenant: str, name: str) -> Provider | None:
        return self.adapters.named(tenant, name)

    def first_available(
        self,
        tenant: str,
        channel: Channel,
        *,
        avoid: frozenset[str] = frozenset(),
        config: ConfigSet | None = None,
    ) -> Provider | None:
        """The first provider, in configured order with those in ``avoid`` (e.g. the one
        that just failed this task) last, whose circuit lets a send through; ``None`` when
        every circuit is open.

        Circuits are asked one at a time and no further than the chosen one: asking a
        half-open circuit takes its one trial send, which only the send that follows may
        use.
        """
        return self.choose(tenant, channel, avoid=avoid, config=config, closed=set())

    def choose(
        self,
        tenant: str,
        channel: Channel,
        *,
        closed: set[str],
        avoid: frozenset[str] = frozenset(),
        config: ConfigSet | None = None,
    ) -> Provider | None:
        """:meth:`first_available` for one send of a batch: ``closed`` holds the providers
        whose circuit this batch already found closed (they are not asked again; a half-open
        circuit is asked every time, and gives its one trial to one send only)."""
        for provider in sorted(
            self.providers(tenant, channel, config=config), key=lambda p: p.name in avoid
        ):
            if provider.limits_key in closed:
                return provider
            state = self.breaker.admits(provider.limits_key, provider.config.breaker)
            if state == CLOSED:
                closed.add(provider.limits_key)
            if state:
                return provider
        return None

    def describe(self, tenant: str) -> list[dict[str, str]]:
        """Every configured provider and whether it can send: ``ready``, ``circuit open``, or
        why it cannot be built (a missing credential, by its variable's name)."""
        return self.adapters.states(tenant, self.breaker.is_open)
