"""``GET /v1/results``: champion against challengers, per strategy segment, over a period,
as JSON or CSV (ops keys). The figures and their definitions are
:mod:`orchestrator.reporting.results`'s (docs/results.md)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from orchestrator.api.auth import OpsCaller
from orchestrator.api.dependencies import ClockDep, ConfigDep, StoreDep
from orchestrator.api.errors import ApiError, documented
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import ResultsView
from orchestrator.errors import Problem
from orchestrator.reporting.results import PeriodError, period_results

router = APIRouter(tags=["operations"])

DEFAULT_DAYS = 30
_CSV = "text/csv; charset=utf-8"


def wants_csv(request: Request, fmt: str | None) -> bool:
    if fmt is not None:
        return fmt == "csv"
    return "text/csv" in request.headers.get("accept", "").lower()


@router.get(
    "/v1/results",
    summary="Champion against challengers, per strategy segment, over a period",
    response_model=ResultsView,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "JSON or CSV",
        },
        **documented(401, 403, 413, 422),
    },
)
def read_results(
    request: Request,
    who: OpsCaller,
    store: StoreDep,
    config: ConfigDep,
    clock: ClockDep,
    start: Annotated[
        date | None,
        Query(alias="from", description="first day, ISO date (default: 30 days before `to`)"),
    ] = None,
    end: Annotated[
        date | None,
        Query(alias="to", description="the day after the last, ISO date (default: tomorrow, UTC)"),
    ] = None,
    fmt: Annotated[
        Literal["json", "csv"] | None,
        Query(alias="format", description="`csv` for a CSV file (or send `Accept: text/csv`)"),
    ] = None,
) -> Response:
    """Per segment and arm (the variant; ``champion`` where a segment has none): accounts,
    attempts, contact rate, right-party-contact rate, promise-to-pay rate, kept-promise
    rate, payment rate, amount collected per currency, and per channel the messages the
    providers accepted and their cost at the configured prices. An account counts in the arm
    of its first task in the period. docs/results.md defines every figure."""
    end = end or clock.now().date() + timedelta(days=1)
    start = start or end - timedelta(days=DEFAULT_DAYS)
    channels = config.get().channels_for(who.tenant_slug)
    try:
        found = period_results(
            store,
            tenant_id=who.tenant_id,
            tenant=who.tenant_slug,
            start=start,
            end=end,
            channels=channels,
            now=clock.now(),
        )
    except PeriodError as exc:
        raise ApiError(
            422,
            "invalid_request",
            "The period is not valid: see problems.",
            [Problem(exc.field, str(exc))],
        ) from None
    if wants_csv(request, fmt):
        name = f"results-{who.tenant_slug}-{start}-{end}.csv"
        return Response(
            found.as_csv(),
            media_type=_CSV,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return JSONResponse(found.as_json())
