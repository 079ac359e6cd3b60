"""The HTTP application: the lender API, provider webhooks, the ops config API, health."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import redis
from fastapi import FastAPI, Request, Response
from sqlalchemy.engine import Connection

from orchestrator import __version__
from orchestrator.api import accounts, errors, health
from orchestrator.api.responses import JSONResponse
from orchestrator.clock import Clock, SystemClock
from orchestrator.metrics import HTTP_REQUESTS
from orchestrator.settings import Settings
from orchestrator.store.db import Store

AccountsChanged = Callable[[Connection, int, set[int], datetime], None]

DESCRIPTION = """
Lenders push overdue accounts and account events; the orchestrator plans SMS, email, push and
call contacts, checks quiet hours, frequency caps and holds when it plans and again when it
sends, and records every decision in a ledger that explains itself.

Authenticate every `/v1` call with your tenant's API key: `Authorization: Bearer co_...`
(`orchestrator tenants create NAME` prints one). Errors always look like
`{"error": {"code", "message", "problems": [{"field", "message"}]}}`.
"""


def create_app(
    settings: Settings,
    *,
    store: Store,
    clock: Clock | None = None,
    redis_client: redis.Redis | None = None,
    on_accounts_changed: AccountsChanged | None = None,
) -> FastAPI:
    """Build the application.

    Parameters:
      settings: the service settings.
      store: the connected store (its schema must be current).
      clock: injected time (tests and the demo pass a virtual one).
      redis_client: for health checks (and, in later parts, queues).
      on_accounts_changed: called inside the writing transaction with the ids of accounts
        whose content or events changed, so pending contacts are re-planned at once.
    """
    app = FastAPI(
        title="Contact Orchestrator",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JSONResponse,
    )
    app.state.settings = settings
    app.state.store = store
    app.state.clock = clock or SystemClock()
    app.state.redis = redis_client or redis.Redis.from_url(settings.redis_url)
    app.state.on_accounts_changed = on_accounts_changed or _nothing_to_replan
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(health.router)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Response:
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        HTTP_REQUESTS.labels(
            getattr(route, "path", "unmatched"), request.method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response

    return app


def _nothing_to_replan(_conn: Connection, _tenant: int, _ids: set[int], _now: datetime) -> None:
    """Without a planner attached (API-only deployments) there is nothing to re-plan."""


def from_environment() -> FastAPI:
    """The application as ``orchestrator api`` serves it: everything from the environment."""
    from orchestrator import logs
    from orchestrator.cli import runtime

    settings = runtime.settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    return create_app(settings, store=runtime.open_store(settings))
