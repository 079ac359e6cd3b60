"""Liveness and metrics: ``/healthz`` and ``/metrics`` (no authentication, no personal data).

Anyone can call them, so ``/healthz`` says only whether each dependency answers: why one does
not (its host, port, database name, the driver's error) goes to the log, for the operator.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orchestrator.api.dependencies import RedisDep, StoreDep
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import Health
from orchestrator.logs import get_logger
from orchestrator.metrics import exposition

router = APIRouter(tags=["operations"])
log = get_logger(__name__)


@router.get(
    "/healthz",
    summary="Is the service and what it depends on up?",
    response_model=Health,
    responses={503: {"model": Health, "description": "A dependency is unavailable"}},
)
def healthz(store: StoreDep, client: RedisDep) -> JSONResponse:
    """200 when the database and Redis answer, 503 saying which is ``unavailable`` (the
    log says why)."""
    checks: dict[str, Any] = {
        "database": _check("database", store.check),
        "redis": _check("redis", client.ping, hint="start it or set REDIS_URL"),
    }
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if healthy else "unavailable", **checks},
        status_code=200 if healthy else 503,
    )


def _check(dependency: str, probe: Any, hint: str | None = None) -> str:
    try:
        probe()
    except Exception as exc:  # noqa: BLE001 - any failure is "unavailable"; the log says which
        log.error("health check failed", dependency=dependency, error=str(exc), hint=hint)
        return "unavailable"
    return "ok"


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
    return Response(exposition(), media_type=CONTENT_TYPE_LATEST)
