"""The adapters built from the channel configuration, per tenant, kept while in use.

What dispatch sends through (with circuit breakers, :mod:`orchestrator.dispatch.pool`) and
what the API verifies webhooks with (no breaker: checking a signature sends nothing) are the
same adapters, built here once per configuration version, tenant and provider, and kept in
a bounded least-recently-used cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from channels.base import Adapter
from channels.egress import Egress, guarded_client, verified_tls
from channels.registry import adapter_class
from orchestrator.clock import Clock
from orchestrator.configuration import credentials, tenant_providers
from orchestrator.configuration.channel_config import ProviderConfig
from orchestrator.configuration.source import ConfigSet
from orchestrator.domain import Channel
from orchestrator.errors import ConfigError
from orchestrator.logs import get_logger
from orchestrator.tracing import inject

log = get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Provider:
    """One provider of a channel, ready to send."""

    name: str
    adapter: Adapter
    config: ProviderConfig
    key: str = ""
    """What its circuit breaker and rate limit are keyed by: the provider account used
    (``twilio_sms`` for the platform's, ``twilio_sms@acme`` for a tenant's own)."""

    @property
    def limits_key(self) -> str:
        return self.key or self.name

    @property
    def limited_content_only(self) -> bool:
        """Automated calls may only carry a limited-content message (12 CFR 1006.2(j))."""
        return self.adapter.limited_content_only


def traced(client: httpx.Client) -> httpx.Client:
    """``client``, its every request carrying the current trace context (``traceparent``)
    so a provider, or a proxy in front of it, can join the trace."""

    def add_traceparent(request: httpx.Request) -> None:
        for name, value in inject({}).items():
            request.headers.setdefault(name, value)

    hooks = client.event_hooks
    if add_traceparent.__qualname__ not in {h.__qualname__ for h in hooks.get("request", [])}:
        client.event_hooks = {**hooks, "request": [*hooks.get("request", []), add_traceparent]}
    return client


# Adapters kept built: every provider of every tenant with traffic, several times over.
MAX_ADAPTERS = 512


class Adapters:
    """Parameters:
    config: the current configuration (hot-reloaded: a new version builds new adapters).
    clock: handed to adapters.
    http: the shared HTTP client; one is made if not given (tests inject a transport).
      It serves the platform's own endpoints only.
    egress: the guard for endpoints a tenant named itself (default: from the
      environment); their adapters get a client of their own that goes through it.
    max_adapters: how many built adapters are kept; the least recently used one goes first
      (a config version's adapters once a newer version is in force, a quiet tenant's).
    """

    def __init__(
        self,
        config: Callable[[], ConfigSet],
        clock: Clock,
        http: httpx.Client | None = None,
        egress: Egress | None = None,
        max_adapters: int = MAX_ADAPTERS,
    ) -> None:
        self.config = config
        self.clock = clock
        self.http = traced(
            http or httpx.Client(limits=httpx.Limits(max_connections=200), verify=verified_tls())
        )
        self.egress = egress or Egress.from_environment()
        self._guarded: httpx.Client | None = None
        self.max_adapters = max_adapters
        self._built: OrderedDict[tuple[str, str, str, int], Adapter] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def cached(self) -> int:
        """How many built adapters are kept."""
        return len(self._built)

    def providers(
        self, tenant: str, channel: Channel, *, config: ConfigSet | None = None
    ) -> list[Provider]:
        """The channel's providers in configured order (adapters that cannot be built, e.g. a
        missing credential, are left out and logged), from ``config`` (default: the current
        configuration)."""
        config = config or self.config()
        found = []
        own = tenant in config.tenant_channels
        for index, provider in enumerate(config.channels_for(tenant).providers(channel)):
            adapter = self._adapter(config, tenant, channel, index, provider)
            if adapter is None:
                continue
            used = credentials.in_use(provider, config.channels, tenant, own_config=own)
            if used.platform is not None:
                # The platform's account: the platform's limits and breaker, never a tenant's.
                provider = provider.model_copy(
                    update={
                        "rate_limit": used.platform.rate_limit,
                        "breaker": used.platform.breaker,
                    }
                )
            found.append(Provider(provider.adapter, adapter, provider, used.key))
        return found

    def named(self, tenant: str, name: str) -> Provider | None:
        """The tenant's provider registered as ``name`` (a webhook's path segment)."""
        config = self.config()
        for channel in Channel:
            for provider in self.providers(tenant, channel, config=config):
                if provider.name == name:
                    return provider
        return None

    def states(self, tenant: str, circuit_open: Callable[[str], bool]) -> list[dict[str, str]]:
        """Every configured provider and whether it can send: ``ready``, ``circuit open``, or
        why it cannot be built (a missing credential, by its variable's name).

        Parameters:
          circuit_open: whether the circuit of a provider account (its limits key) is open.
        """
        config = self.config()
        found = []
        for channel in Channel:
            for index, provider in enumerate(config.channels_for(tenant).providers(channel)):
                try:
                    self._build(config, tenant, channel, index, provider)
                    own = tenant in config.tenant_channels
                    key = credentials.in_use(provider, config.channels, tenant, own_config=own).key
                    state = "circuit open" if circuit_open(key) else "ready"
                except ConfigError as exc:
                    state = "unusable: " + "; ".join(p.message for p in exc.problems)
                found.append(
                    {"channel": channel.value, "provider": provider.adapter, "state": state}
                )
        return found

    def _guarded_http(self) -> httpx.Client:
        """The client for endpoints tenants named, made on first use. Call with the lock
        held."""
        if self._guarded is None:
            self._guarded = traced(guarded_client(self.egress))
        return self._guarded

    def _adapter(
        self, config: ConfigSet, tenant: str, channel: Channel, index: int, provider: ProviderConfig
    ) -> Adapter | None:
        try:
            return self._build(config, tenant, channel, index, provider)
        except ConfigError as exc:
            log.error("provider unusable", provider=provider.adapter, error=str(exc))
            return None

    def _build(
        self, config: ConfigSet, tenant: str, channel: Channel, index: int, provider: ProviderConfig
    ) -> Adapter:
        key = (config.version, tenant, channel.value, index)
        with self._lock:
            built = self._built.get(key)
            if built is not None:
                self._built.move_to_end(key)
                return built
            # The platform's endpoints are trusted; one a tenant named goes through the
            # egress guard (no internal, loopback or link-local address).
            trusted = tenant not in config.tenant_channels or (
                tenant_providers.is_platform_endpoint(provider, config.channels)
            )
            built = adapter_class(provider.adapter).from_config(
                provider.settings,
                http=self.http if trusted else self._guarded_http(),
                clock=self.clock,
                path=f"channels.{channel}.providers[{index}].settings",
                egress=None if trusted else self.egress,
            )
            self._built[key] = built
            while len(self._built) > self.max_adapters:
                self._built.popitem(last=False)
            return built
