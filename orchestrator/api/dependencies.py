"""What the API's routes use from the process's services, as typed FastAPI dependencies.

The application keeps one :class:`~orchestrator.services.Services` (``app.state.services``,
set by :func:`orchestrator.api.app.create_app`); a route names what it reads
(``store: StoreDep``, ``clock: ClockDep``) and gets it typed, instead of picking loosely
typed aliases off ``app.state``. A test can replace any of them through
``app.dependency_overrides``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, cast

import redis
from fastapi import Depends, Request
from sqlalchemy.engine import Connection

from orchestrator.clock import Clock
from orchestrator.configuration.source import ConfigSource
from orchestrator.dispatch.adapters import Adapters
from orchestrator.dispatch.limits import CircuitBreaker
from orchestrator.services import Services
from orchestrator.settings import Settings
from orchestrator.store.db import Store

AccountsChanged = Callable[[Connection, int, set[int], datetime], None]


def services(request: Request) -> Services:
    """The process's services, as :func:`~orchestrator.api.app.create_app` was given them."""
    return cast(Services, request.app.state.services)


ServicesDep = Annotated[Services, Depends(services)]


def store(found: ServicesDep) -> Store:
    return found.store


def clock(found: ServicesDep) -> Clock:
    return found.clock


def settings(found: ServicesDep) -> Settings:
    return found.settings


def config(found: ServicesDep) -> ConfigSource:
    return found.config


def redis_client(found: ServicesDep) -> redis.Redis:
    return found.redis


def accounts_changed(found: ServicesDep) -> AccountsChanged:
    """Re-plans accounts whose documents or events changed, in the caller's transaction."""
    return found.accounts_changed


def adapters(request: Request) -> Adapters:
    """The adapters built from the channel config, which verify and read webhooks (built by
    :func:`~orchestrator.api.app.create_app`; no circuit breaker: verifying sends nothing)."""
    return cast(Adapters, request.app.state.webhook_pool)


def circuits(found: ServicesDep) -> CircuitBreaker:
    """The dispatch circuits' state, read for the dashboard."""
    return CircuitBreaker(found.redis, found.settings.queue_namespace)


StoreDep = Annotated[Store, Depends(store)]
ClockDep = Annotated[Clock, Depends(clock)]
SettingsDep = Annotated[Settings, Depends(settings)]
ConfigDep = Annotated[ConfigSource, Depends(config)]
RedisDep = Annotated[redis.Redis, Depends(redis_client)]
ReplanDep = Annotated[AccountsChanged, Depends(accounts_changed)]
AdaptersDep = Annotated[Adapters, Depends(adapters)]
CircuitsDep = Annotated[CircuitBreaker, Depends(circuits)]
