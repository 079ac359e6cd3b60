"""Dispatch: Dramatiq workers send planned tasks through the channel adapters.

Public surface: :class:`Dispatcher` (one task, start to end), :class:`Reconciler` (sends a
crash left ambiguous), :class:`ProviderPool`, :func:`build_dispatch` (wired from what
:mod:`~orchestrator.dispatch.needs` names: the store, the clock, the configuration, the
public URL and Redis).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from orchestrator.dispatch.adapters import Adapters, Provider
from orchestrator.dispatch.limits import CircuitBreaker, RateLimiter
from orchestrator.dispatch.needs import WiringNeeds
from orchestrator.dispatch.pool import ProviderPool
from orchestrator.dispatch.reconcile import Reconciler
from orchestrator.dispatch.sending import Dispatcher, Outcome, RetryLater

__all__ = [
    "Adapters",
    "CircuitBreaker",
    "Dispatcher",
    "Outcome",
    "Provider",
    "ProviderPool",
    "RateLimiter",
    "Reconciler",
    "RetryLater",
    "build_dispatch",
]


def build_dispatch(
    services: WiringNeeds,
    enqueue: Callable[[int], None],
    *,
    http: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[Dispatcher, Reconciler]:
    """A dispatcher and a reconciler sharing one provider pool."""
    namespace = services.settings.queue_namespace
    breaker = CircuitBreaker(services.redis, namespace)
    pool = ProviderPool(services.config.get, breaker, services.clock, http)
    # The bucket runs on Redis's clock: waiting for it always takes real time.
    limiter = RateLimiter(services.redis, namespace)
    dispatcher = Dispatcher(services, pool, limiter, enqueue, sleep=sleep)
    return dispatcher, Reconciler(services, pool, enqueue)
