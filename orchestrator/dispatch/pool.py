"""The providers a worker can send through: adapters built lazily from the current channel
config (per tenant), with their breaker state, sharing one HTTP client."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from channels.base import Adapter
from channels.registry import adapter_class
from orchestrator.clock import Clock
from orchestrator.configuration import ConfigSet
from orchestrator.dispatch.limits import CircuitBreaker
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError
from orchestrator.logs import get_logger
from orchestrator.providers import ProviderConfig

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider of a channel, ready to send."""

    name: str
    adapter: Adapter
    config: ProviderConfig

    @property
    def limited_content_only(self) -> bool:
        """Automated calls may only carry a limited-content message (12 CFR 1006.2(j))."""
        return bool(getattr(self.adapter.settings, "require_limited_content", False))


# Adapters kept built: every provider of every tenant with traffic, several times over.
MAX_ADAPTERS = 512


class ProviderPool:
    """Parameters:
    config: the current configuration (hot-reloaded: a new version builds new adapters).
    breaker: the shared circuit breakers.
    clock: handed to adapters.
    http: the shared HTTP client; one is made if not given (tests inject a transport).
    max_adapters: how many built adapters are kept; the least recently used one goes first
      (a config version's adapters once a newer version is in force, a quiet tenant's).
    """

    def __init__(
        self,
        config: Callable[[], ConfigSet],
        breaker: CircuitBreaker,
        clock: Clock,
        http: httpx.Client | None = None,
        max_adapters: int = MAX_ADAPTERS,
    ) -> None:
        self.config = config
        self.breaker = breaker
        self.clock = clock
        self.http = http or httpx.Client(limits=httpx.Limits(max_connections=200))
        self.max_adapters = max_adapters
        self._built: OrderedDict[tuple[str, str, str, int], Adapter] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached(self) -> int:
        """How many built adapters are kept."""
        return len(self._built)

    def providers(self, tenant: str, channel: Channel) -> list[Provider]:
        """The channel's providers in configured order (adapters that cannot be built, e.g. a
        missing credential, are left out and logged)."""
        config = self.config()
        found = []
        for index, provider in enumerate(config.channels_for(tenant).providers(channel)):
            adapter = self._adapter(config.version, tenant, channel, index, provider)
            if adapter is not None:
                found.append(Provider(provider.adapter, adapter, provider))
        return found

    def first_available(
        self, tenant: str, channel: Channel, *, avoid: frozenset[str] = frozenset()
    ) -> Provider | None:
        """The first provider, in configured order with those in ``avoid`` (e.g. the one
        that just failed this task) last, whose circuit lets a send through; ``None`` when
        every circuit is open.

        Circuits are asked one at a time and no further than the chosen one: asking a
        half-open circuit takes its one trial send, which only the send that follows may
        use.
        """
        ordered = sorted(self.providers(tenant, channel), key=lambda p: p.name in avoid)
        return next((p for p in ordered if self.breaker.allows(p.name, p.config.breaker)), None)

    def describe(self, tenant: str) -> list[dict[str, str]]:
        """Every configured provider and whether it can send: ``ready``, ``circuit open``, or
        why it cannot be built (a missing credential, by its variable's name)."""
        config = self.config()
        found = []
        for channel in Channel:
            for index, provider in enumerate(config.channels_for(tenant).providers(channel)):
                try:
                    self._build(config.version, tenant, channel, index, provider)
                    state = "circuit open" if self.breaker.is_open(provider.adapter) else "ready"
                except ConfigError as exc:
                    state = "unusable: " + "; ".join(p.message for p in exc.problems)
                found.append(
                    {"channel": channel.value, "provider": provider.adapter, "state": state}
                )
        return found

    def named(self, tenant: str, name: str) -> Provider | None:
        for channel in Channel:
            for provider in self.providers(tenant, channel):
                if provider.name == name:
                    return provider
        return None

    def _adapter(
        self, version: str, tenant: str, channel: Channel, index: int, provider: ProviderConfig
    ) -> Adapter | None:
        try:
            return self._build(version, tenant, channel, index, provider)
        except ConfigError as exc:
            log.error("provider unusable", provider=provider.adapter, error=str(exc))
            return None

    def _build(
        self, version: str, tenant: str, channel: Channel, index: int, provider: ProviderConfig
    ) -> Adapter:
        key = (version, tenant, channel.value, index)
        with self._lock:
            built = self._built.get(key)
            if built is not None:
                self._built.move_to_end(key)
                return built
            built = adapter_class(provider.adapter).from_config(
                provider.settings,
                http=self.http,
                clock=self.clock,
                path=f"channels.{channel}.providers[{index}].settings",
            )
            self._built[key] = built
            while len(self._built) > self.max_adapters:
                self._built.popitem(last=False)
            return built
