"""The HTTP application: the lender API, provider webhooks, the ops config API, the ops
console, health."""

from __future__ import annotations

import time
from typing import Any

from fastapi import FastAPI, Request, Response

from orchestrator import __version__, tracing
from orchestrator.api import (
    accounts,
    config,
    console,
    dashboard,
    errors,
    health,
    lender_events,
    results,
    self_service,
    visits,
    webhooks,
)
from orchestrator.api.body_limits import BodyLimits
from orchestrator.api.responses import JSONResponse
from orchestrator.dispatch.adapters import Adapters
from orchestrator.metrics import HTTP_REQUESTS
from orchestrator.services import Services

DESCRIPTION = """
Lenders push overdue accounts and account events; the orchestrator plans SMS, email, push and
call contacts, checks quiet hours, frequency caps and holds when it plans and again when it
sends, and records every decision in a ledger that explains itself.

Authenticate every `/v1` call with your tenant's API key: `Authorization: Bearer co_...`
(`orchestrator tenants create NAME` prints one). Errors always look like
`{"error": {"code", "message", "problems": [{"field", "message"}]}}`.
"""


def create_app(services: Services) -> FastAPI:
    """Build the application on the process's shared services (store, Redis, clock,
    configuration, planner)."""
    app = FastAPI(
        title="Contact Orchestrator",
        version=__version__,
        description=DESCRIPTION,
        default_response_class=JSONResponse,
    )
    # Routes read these through typed dependencies (orchestrator.api.dependencies).
    app.state.services = services
    # Webhooks are verified by the adapters the channel config builds; verifying sends
    # nothing, so no circuit breaker (the dashboard reads the circuits' state separately).
    app.state.webhook_pool = Adapters(services.config.get, services.clock)
    errors.install(app)
    app.include_router(accounts.router)
    app.include_router(webhooks.router)
    app.include_router(lender_events.router)
    app.include_router(config.router)
    app.include_router(dashboard.router)
    app.include_router(results.router)
    app.include_router(health.router)
    app.include_router(self_service.router)
    app.include_router(visits.router)
    console.install(app)
    # Added first, so it runs inside the timing middleware: refused bodies are measured too.
    app.add_middleware(BodyLimits)

    @app.middleware("http")
    async def _measure(request: Request, call_next: Any) -> Response:
        # The request's span is FastAPI's own (its native OpenTelemetry support: a server
        # span continuing the caller's ``traceparent`` once a tracer provider is set).
        started = time.perf_counter()
        response: Response = await call_next(request)
        route = request.scope.get("route")
        HTTP_REQUESTS.labels(
            getattr(route, "path", "unmatched"), request.method, f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response

    return app


def from_environment() -> FastAPI:
    """The application as ``orchestrator api`` serves it: everything from the environment."""
    from orchestrator import logs
    from orchestrator.metrics import track_process_exit
    from orchestrator.settings import load_settings

    settings = load_settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    tracing.configure("orchestrator-api")
    track_process_exit()
    return create_app(Services.build(settings))
