"""What dispatch needs from the process, and nothing more: the store, the clock, the
configuration in force and where providers reach our webhooks (plus Redis, for breakers and
rate limits, when :func:`~orchestrator.dispatch.build_dispatch` wires them).

:class:`orchestrator.services.Services` has all of these; dispatch names only these, so it
does not depend on the rest of that bag (the portfolio planner, which dispatch never calls).
"""

from __future__ import annotations

from typing import Protocol

import redis

from orchestrator.clock import Clock
from orchestrator.configuration.source import ConfigSet
from orchestrator.store.db import Store


class CurrentConfig(Protocol):
    """The configuration in force, read once per task (it may be reloaded meanwhile)."""

    def get(self) -> ConfigSet: ...


class DispatchSettings(Protocol):
    @property
    def public_url(self) -> str:
        """Where providers reach our webhooks."""

    @property
    def queue_namespace(self) -> str:
        """The Redis key prefix of the deployment."""

    @property
    def link_secret(self) -> str | None:
        """The key self-service links are signed with (none: messages carry no link)."""

    @property
    def self_service_base(self) -> str:
        """Where borrowers reach the self-service page."""

    @property
    def link_ttl_days(self) -> int:
        """How long a new self-service link lives."""


class DispatchNeeds(Protocol):
    """What a dispatcher, a reserver and a reconciler read."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...

    @property
    def config(self) -> CurrentConfig: ...

    @property
    def settings(self) -> DispatchSettings: ...


class WiringNeeds(DispatchNeeds, Protocol):
    """What :func:`~orchestrator.dispatch.build_dispatch` also needs: Redis."""

    @property
    def redis(self) -> redis.Redis: ...
