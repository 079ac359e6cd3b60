"""The field-visit work queue (上门), for ops keys: field agents and their regions, open
visits, assignment and outcomes (:mod:`orchestrator.inbound.visits`; docs/channels.md,
"Field visits")."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from orchestrator.api.auth import OpsCaller
from orchestrator.api.dependencies import ClockDep, ReplanDep, StoreDep
from orchestrator.api.errors import ApiError, documented
from orchestrator.api.responses import JSONResponse
from orchestrator.errors import Problem
from orchestrator.inbound import visits
from orchestrator.inbound.visits import VisitError
from orchestrator.planning.visits import VisitOutcome

router = APIRouter(tags=["field visits"])

# Ids the store can hold: a larger number is a 422 naming the field, never an overflow.
VisitId = Path(ge=1, le=2**62, description="the visit's id (GET /v1/visits)")


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


# Printable text only: a control character (NUL above all, which PostgreSQL cannot store)
# is refused with the field's path rather than reaching the store.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class AgentIn(_Body):
    name: str = Field(
        min_length=1, max_length=200, pattern=_PRINTABLE, description="the agent's name"
    )
    regions: list[Annotated[str, Field(min_length=1, max_length=100, pattern=_PRINTABLE)]] = Field(
        min_length=1,
        max_length=200,
        description="regions or cities the agent covers, matched against a visit address's "
        "region or city (case-insensitive)",
    )


class AssignIn(_Body):
    agent_id: int = Field(
        ge=1, le=2**62, description="the field agent's id (POST /v1/field-agents)"
    )


class OutcomeIn(_Body):
    outcome: VisitOutcome
    promise_amount: Decimal | None = Field(
        default=None, description="promise_to_pay only: the amount promised"
    )
    promise_date: date | None = Field(
        default=None, description="promise_to_pay only: the day promised (ISO date)"
    )


def _error(exc: VisitError) -> ApiError:
    return ApiError(
        exc.status, exc.code, exc.message, [Problem(exc.field, exc.message)] if exc.field else []
    )


def _json(value: Any, status: int = 200) -> JSONResponse:
    return JSONResponse(value, status_code=status)


@router.post(
    "/v1/field-agents",
    summary="Register a field agent with the regions they cover",
    status_code=201,
    responses=documented(400, 401, 403, 409, 413, 422),
)
def create_agent(body: AgentIn, who: OpsCaller, store: StoreDep, clock: ClockDep) -> JSONResponse:
    try:
        with store.transaction() as conn:
            agent = visits.register_agent(conn, who.tenant_id, body.name, body.regions, clock.now())
    except VisitError as exc:
        raise _error(exc) from None
    return _json(agent, 201)


@router.get(
    "/v1/field-agents",
    summary="The field agents and their regions",
    responses=documented(401, 403, 413),
)
def read_agents(who: OpsCaller, store: StoreDep) -> JSONResponse:
    with store.snapshot() as conn:
        return _json({"agents": visits.list_agents(conn, who.tenant_id)})


@router.get(
    "/v1/visits",
    summary="Field visits in the work queue, by deadline",
    responses=documented(401, 403, 413, 422),
)
def read_visits(
    who: OpsCaller,
    store: StoreDep,
    status: Annotated[
        str,
        Query(description=f"one of {', '.join(visits.STATUSES)} (open: no outcome yet)"),
    ] = "open",
    region: Annotated[
        str | None, Query(max_length=100, description="a region or city of the address")
    ] = None,
) -> JSONResponse:
    try:
        with store.snapshot() as conn:
            found = visits.list_visits(conn, who.tenant_id, status=status, region=region)
    except VisitError as exc:
        raise _error(exc) from None
    return _json({"visits": found})


@router.post(
    "/v1/visits/{visit_id}/assign",
    summary="Assign (or reassign) a visit to a field agent",
    responses=documented(400, 401, 403, 404, 409, 413, 422),
)
def assign_visit(
    body: AssignIn, who: OpsCaller, store: StoreDep, clock: ClockDep, visit_id: int = VisitId
) -> JSONResponse:
    try:
        with store.locking_transaction() as conn:
            view = visits.assign(conn, who.tenant_id, visit_id, body.agent_id, clock.now())
    except VisitError as exc:
        raise _error(exc) from None
    return _json(view)


@router.post(
    "/v1/visits/{visit_id}/outcome",
    summary="Record how a visit ended",
    responses=documented(400, 401, 403, 404, 409, 413, 422),
)
def record_outcome(
    body: OutcomeIn,
    who: OpsCaller,
    store: StoreDep,
    clock: ClockDep,
    replan: ReplanDep,
    visit_id: int = VisitId,
) -> JSONResponse:
    """``met_borrower``, ``not_home``, ``refused``, ``promise_to_pay`` (with
    ``promise_amount`` and ``promise_date``: collection pauses until then), ``wrong_address``
    (the postal address is marked invalid) or ``third_party_met`` (nothing about the debt is
    recorded). The same outcome posted again is answered with the visit as it stands and
    recorded once; another outcome for a visit done, or any after the visit's deadline, is
    refused (409)."""
    now = clock.now()
    try:
        with store.locking_transaction() as conn:
            promised = visits.promise_for(
                body.outcome, body.promise_amount, body.promise_date, now.date()
            )
            view, changed = visits.record_outcome(
                conn, who.tenant_id, visit_id, body.outcome, now, promised=promised
            )
            replan(conn, who.tenant_id, changed, now)
    except VisitError as exc:
        raise _error(exc) from None
    return _json(view)
