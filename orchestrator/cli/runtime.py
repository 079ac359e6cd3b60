"""What every command needs: settings, a connected store, Redis — with one-sentence errors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orchestrator.errors import ServiceUnavailable
from orchestrator.settings import Settings, load_settings

if TYPE_CHECKING:  # imported when a command runs, so `orchestrator --help` starts fast
    import redis

    from orchestrator.store.db import Store


def settings() -> Settings:
    return load_settings()


def open_store(config: Settings, *, require_schema: bool = True) -> Store:
    """Connect to the store named by the settings; refuse a schema that is behind."""
    from orchestrator.store.db import Store
    from orchestrator.store.migrate import require_current

    store = Store.connect(config.effective_database_url, pool_size=config.db_pool_size)
    if require_schema:
        require_current(store.engine)
    return store


def open_redis(config: Settings) -> redis.Redis:
    import redis

    client = redis.Redis.from_url(config.redis_url)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        raise ServiceUnavailable(
            f"Cannot reach Redis at {config.redis_url} ({exc}): start redis-server, "
            "or point REDIS_URL at a running one."
        ) from None
    return client
