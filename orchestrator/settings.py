"""Settings, from the environment only (secrets never live in files we commit).

``DATABASE_URL`` and ``REDIS_URL`` keep their conventional names; everything else is
``ORCHESTRATOR_*``. Defaults give a working embedded setup: a SQLite file (WAL) under
``./var`` and Redis on localhost.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_DIR = _PACKAGE_DIR.parent


def _data_folder(name: str) -> Path:
    """``config/`` and ``templates/`` live at the repository root in a checkout and inside
    the package (``_bundled/``) in a built wheel."""
    in_checkout = _REPO_DIR / name
    if in_checkout.is_dir():
        return in_checkout
    return _PACKAGE_DIR / "_bundled" / name


_BROKER_SCHEMES = ("amqp://", "amqps://", "redis://", "rediss://", "unix://")


class Settings(BaseSettings):
    """Everything the services read at start-up.

    Parameters (environment variables):
      DATABASE_URL: SQLAlchemy URL. Default: ``sqlite:///<data_dir>/orchestrator.db``.
        PostgreSQL: ``postgresql+psycopg://user@host:5432/db``.
      REDIS_URL: queues, rate-limit buckets and the scheduler lock.
      BROKER_URL: the Dramatiq broker: ``amqp://user:pass@host:5672/vhost`` for RabbitMQ;
        unset (or ``redis://…``) for Redis on REDIS_URL (see docs/operations.md, Broker).
      ORCHESTRATOR_DATA_DIR: where the embedded database and logs go (``./var``).
      ORCHESTRATOR_CONFIG_DIR: YAML configs (channels, strategies, rule packs).
      ORCHESTRATOR_TEMPLATES_DIR: message templates.
      ORCHESTRATOR_PUBLIC_URL: the URL providers reach our webhooks at.
      ORCHESTRATOR_QUEUE_NAMESPACE: Redis key namespace for the Dramatiq broker (and
        the prefix of RabbitMQ's queue names).
      ORCHESTRATOR_WORKER_PREFETCH: send messages a worker holds per thread: 1 on RabbitMQ,
        2 (Dramatiq's own) on Redis.
      ORCHESTRATOR_LOG_FORMAT: ``console`` or ``json``.
      ORCHESTRATOR_METRICS_DIR: the folder the processes of this host share metrics in
        (prometheus-client's multiprocess mode); default ``<data_dir>/metrics``.
      ORCHESTRATOR_CLOCK: run on virtual time, ``START[@SPEED]`` (demo and tests only).
      ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS: development only: a tenant's own provider
        endpoint may be on loopback (the sandbox) and plain http. Refused unless
        ORCHESTRATOR_PUBLIC_URL is itself on loopback, so a deployment reachable from
        outside never runs with it.
      ORCHESTRATOR_FAST_PASSWORD_HASHING: tests only: new ops passwords are hashed with a
        cheap scrypt (``orchestrator.ops_users.FAST_FOR_TESTS``) instead of OWASP's. Refused
        unless ORCHESTRATOR_PUBLIC_URL is on loopback, like loopback providers.
      ORCHESTRATOR_CONSOLE_SECURE_COOKIES: the ops console's session cookie is ``Secure``
        (sent over HTTPS only); ``false`` only for plain-http development.
      ORCHESTRATOR_IDEMPOTENCY_TTL_HOURS: how long an ``Idempotency-Key``'s stored answer
        is kept (24); a retry after that is a new request.
      ORCHESTRATOR_LINK_SECRET: the key borrowers' self-service links are signed with (at
        least 32 characters). Unset: messages carry no self-service link and the page
        answers 404. Changing it revokes every link at once.
      ORCHESTRATOR_SELF_SERVICE_URL: where borrowers reach the page (the API's public
        address, short: it goes in text messages). Default: ORCHESTRATOR_PUBLIC_URL.
      ORCHESTRATOR_LINK_TTL_DAYS: how long a new self-service link lives (30).
      ORCHESTRATOR_SELF_SERVICE_SESSION_MINUTES: how long the second factor keeps the page
        open (15), on the service's clock.
    """

    model_config = SettingsConfigDict(
        env_prefix="ORCHESTRATOR_", extra="ignore", frozen=True, populate_by_name=True
    )

    data_dir: Path = Path("var")
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "ORCHESTRATOR_DATABASE_URL")
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        validation_alias=AliasChoices("REDIS_URL", "ORCHESTRATOR_REDIS_URL"),
    )
    broker_url: str | None = Field(
        default=None, validation_alias=AliasChoices("BROKER_URL", "ORCHESTRATOR_BROKER_URL")
    )
    config_dir: Path = Field(default_factory=lambda: _data_folder("config"))
    templates_dir: Path = Field(default_factory=lambda: _data_folder("templates"))
    public_url: str = "http://127.0.0.1:8000"
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    sandbox_url: str = "http://127.0.0.1:8900"
    queue_namespace: str = "orchestrator"
    # Unset: see prefetch_per_thread.
    worker_prefetch: int | None = Field(default=None, ge=1, le=100)
    log_format: str = "console"
    # A virtual clock for demos and tests: START[@SPEED] (e.g. 2026-11-02T15:00:00Z@60).
    clock: str | None = None
    log_level: str = "INFO"
    metrics_dir: Path | None = None
    # Bounded work per request and per statement.
    batch_limit: int = 10_000
    idempotency_ttl_hours: int = Field(default=24, ge=1, le=24 * 30)
    db_pool_size: int = 10

    allow_loopback_providers: bool = False
    fast_password_hashing: bool = False
    console_secure_cookies: bool = True
    link_secret: str | None = Field(default=None, min_length=32, repr=False)
    self_service_url: str | None = None
    link_ttl_days: int = Field(default=30, ge=1, le=365)
    self_service_session_minutes: int = Field(default=15, ge=1, le=100_000)

    @field_validator("broker_url")
    @classmethod
    def _a_broker_we_know(cls, value: str | None) -> str | None:
        if value and not value.startswith(_BROKER_SCHEMES):
            raise ValueError(
                f"BROKER_URL {value.split('://')[0]}://… is not a broker this service runs on: "
                "use amqp:// or amqps:// (RabbitMQ), redis:// or rediss:// (Redis), or unset it"
            )
        return value or None

    @model_validator(mode="after")
    def _loopback_only_in_development(self) -> Settings:
        host = urlsplit(self.public_url).hostname or ""
        if self.allow_loopback_providers and host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(
                "ORCHESTRATOR_ALLOW_LOOPBACK_PROVIDERS is for development: it is refused "
                f"while ORCHESTRATOR_PUBLIC_URL ({self.public_url}) is not on loopback"
            )
        if self.fast_password_hashing and host not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(
                "ORCHESTRATOR_FAST_PASSWORD_HASHING is for tests: it is refused "
                f"while ORCHESTRATOR_PUBLIC_URL ({self.public_url}) is not on loopback"
            )
        return self

    @property
    def prefetch_per_thread(self) -> int:
        """Send messages a worker holds per thread (docs/operations.md, Broker).

        RabbitMQ pushes the next message as soon as one is acknowledged, so one per thread
        keeps every thread busy (a send holds its thread for a provider's round trip) without
        parking messages in one worker while another is idle. Dramatiq's Redis consumer
        polls, and backs off when its prefetch is full, so Redis keeps Dramatiq's 2."""
        if self.worker_prefetch is not None:
            return self.worker_prefetch
        return 1 if (self.broker_url or "").startswith(("amqp://", "amqps://")) else 2

    @property
    def heartbeat_folder(self) -> Path:
        """Where workers and schedulers prove they live (``orchestrator alive``; see
        :mod:`orchestrator.liveness`): ``<data_dir>/heartbeats``, one per host."""
        return self.data_dir / "heartbeats"

    @property
    def metrics_folder(self) -> Path:
        """Where ``api``, ``worker`` and ``scheduler`` share metrics (see metrics_dir)."""
        return self.metrics_dir or self.data_dir / "metrics"

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value not in ("console", "json"):
            raise ValueError("ORCHESTRATOR_LOG_FORMAT must be 'console' or 'json'")
        return value

    @property
    def self_service_base(self) -> str:
        """The page's address without a trailing slash; links are ``{base}/s/{token}``."""
        return (self.self_service_url or self.public_url).rstrip("/")

    @cached_property
    def effective_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            # Accept the plain scheme most tools print; we speak psycopg 3.
            if url.startswith("postgres://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgres://")
            elif url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        return f"sqlite:///{(self.data_dir / 'orchestrator.db').resolve()}"


def load_settings(**overrides: object) -> Settings:
    """Read settings from the environment, with explicit overrides (tests, the demo)."""
    return Settings(**overrides)  # type: ignore[arg-type]
