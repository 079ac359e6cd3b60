"""What every process of the service shares: the store, Redis, the clock, the current
configuration and the planner. Built once per process from the settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from sqlalchemy.engine import Connection

from orchestrator.clock import Clock, clock_from_setting
from orchestrator.configuration.source import ConfigSource
from orchestrator.epoch import shared_clock
from orchestrator.errors import ServiceUnavailable
from orchestrator.planning.portfolio import PortfolioPlanner
from orchestrator.settings import Settings
from orchestrator.store.db import Store
from orchestrator.store.migrate import require_current


@dataclass
class Services:
    """Parameters:
    settings: the settings the rest was built from.
    store: the connected store, schema current.
    redis: the Redis client (queues, rate limits, locks).
    clock: the injected clock.
    config: the current configuration, hot-reloaded.
    planner: plans the portfolio and re-plans accounts when they change.
    """

    settings: Settings
    store: Store
    redis: redis.Redis
    clock: Clock
    config: ConfigSource
    planner: PortfolioPlanner

    @classmethod
    def build(
        cls,
        settings: Settings,
        *,
        clock: Clock | None = None,
        store: Store | None = None,
        config: ConfigSource | None = None,
        require_redis: bool = True,
    ) -> Services:
        if store is None:
            store = Store.connect(settings.effective_database_url, pool_size=settings.db_pool_size)
            require_current(store.engine)
        client = redis.Redis.from_url(settings.redis_url)
        if require_redis:
            try:
                client.ping()
            except redis.exceptions.ConnectionError as exc:
                raise ServiceUnavailable(
                    f"Cannot reach Redis at {settings.redis_url} ({exc}): start redis-server, "
                    "or point REDIS_URL at a running one."
                ) from None
        if clock is None:
            try:
                clock = shared_clock(settings.clock, client, settings.queue_namespace)
            except redis.exceptions.ConnectionError:
                if require_redis:
                    raise
                # A lone command (a preview) has no deployment to agree with.
                clock = clock_from_setting(settings.clock)
        if config is None:
            config = ConfigSource(settings.config_dir, settings.templates_dir, store, now=clock.now)
        planner = PortfolioPlanner(store, config.get)
        return cls(settings, store, client, clock, config, planner)

    def accounts_changed(
        self, conn: Connection, tenant_id: int, account_ids: set[int], now: datetime
    ) -> None:
        """Plan new or changed accounts now and re-check their pending contacts: a hold
        recorded through the API stops what it forbids at once."""
        if account_ids:
            self.planner.plan_accounts(conn, tenant_id, account_ids, now)
