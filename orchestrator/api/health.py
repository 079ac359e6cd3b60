"""Probes and metrics: ``/livez``, ``/readyz``, ``/healthz`` and ``/metrics`` (no
authentication, no personal data).

- ``/livez``: the process answers HTTP. A liveness probe: it never looks at a dependency, so
  a database outage does not get every API process restarted.
- ``/readyz``: the process should get traffic: the database answers with its schema at this
  code's migration head, and Redis answers. A readiness probe (and a load balancer's check):
  during a rolling deploy a process whose migrations have not run yet takes no requests.
- ``/healthz``: each dependency, for a human or a monitor (the design's name, kept).

Anyone can call them, so they say only whether each dependency answers: why one does not
(its host, port, database name, the driver's error) goes to the log, for the operator.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from orchestrator.api.dependencies import RedisDep, ServicesDep, StoreDep
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import Health, Readiness
from orchestrator.dispatch.gauges import QueueCollector
from orchestrator.logs import get_logger
from orchestrator.metrics import exposition
from orchestrator.store.migrate import current, heads

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


@router.get(
    "/livez",
    summary="Is this process alive? (a liveness probe: no dependency is checked)",
    response_model=dict[str, str],
)
def livez() -> JSONResponse:
    """200 ``{"status": "ok"}`` whenever the process answers at all."""
    return JSONResponse({"status": "ok"})


@router.get(
    "/readyz",
    summary="Should this process get traffic? (a readiness probe)",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: which check failed"}},
)
def readyz(store: StoreDep, client: RedisDep) -> JSONResponse:
    """200 when the database answers with its schema at this code's migration head and
    Redis answers; 503 naming the check that failed (``behind``: run ``orchestrator db
    upgrade``)."""
    checks: dict[str, Any] = {
        "database": _check("database", store.check),
        "redis": _check("redis", client.ping, hint="start it or set REDIS_URL"),
    }
    checks["schema"] = _schema(store) if checks["database"] == "ok" else "unavailable"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {"status": "ok" if ready else "unavailable", **checks},
        status_code=200 if ready else 503,
    )


def _schema(store: Any) -> str:
    try:
        behind = set(current(store.engine)) != set(heads(store.engine))
    except Exception as exc:  # noqa: BLE001 - any failure is "unavailable"; the log says which
        log.error("readiness check failed", dependency="schema", error=str(exc))
        return "unavailable"
    if behind:
        log.warning("not ready: the schema is behind", hint="run `orchestrator db upgrade`")
        return "behind"
    return "ok"


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
def metrics(found: ServicesDep) -> Response:
    """Every process's counters and histograms (the multiprocess folder), and the send
    queue's depth, the open tasks and the providers' circuits as they are now."""
    queues = QueueCollector(found.settings, found.store, found.redis, found.clock)
    return Response(exposition(queues), media_type=CONTENT_TYPE_LATEST)
