"""Liveness and metrics: ``/healthz`` and ``/metrics`` (no authentication, no personal data)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import Health
from orchestrator.errors import ServiceUnavailable

router = APIRouter(tags=["operations"])


@router.get(
    "/healthz",
    summary="Is the service and what it depends on up?",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is unavailable"}},
)
def healthz(request: Request) -> JSONResponse:
    """200 when the database and Redis answer, 503 naming what does not."""
    state = request.app.state
    checks: dict[str, Any] = {}
    try:
        state.store.check()
        checks["database"] = "ok"
    except ServiceUnavailable as exc:
        checks["database"] = str(exc)
    try:
        state.redis.ping()
        checks["redis"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any Redis failure is "not ok", reported as text
        checks["redis"] = f"Cannot reach Redis ({exc}): start it or set REDIS_URL."
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status_code=200 if healthy else 503,
    )


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {
            "description": "The Prometheus text format",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        }
    },
)
def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
