"""Lender events: webhook endpoints (``/v1/webhook-endpoints``) and their deliveries
(``/v1/webhook-deliveries``), listed and replayed. docs/lender-events.md is the guide."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field, model_validator

from channels.egress import Egress
from orchestrator.api.auth import Caller
from orchestrator.api.dependencies import ClockDep, SettingsDep, StoreDep
from orchestrator.api.errors import ApiError, documented
from orchestrator.api.responses import JSONResponse
from orchestrator.errors import Problem
from orchestrator.outbound import deliveries, endpoints
from orchestrator.outbound.endpoints import EndpointInvalid
from orchestrator.outbox import EVENT_TYPES

router = APIRouter(prefix="/v1", tags=["lender events"])

EndpointIdPath = Path(
    pattern=r"^ep_[0-9a-f]{24}$", description="The endpoint's id", examples=["ep_" + "0" * 24]
)
DeliveryIdPath = Path(
    pattern=r"^dlv_[0-9a-f]{24}$", description="The delivery's id", examples=["dlv_" + "0" * 24]
)


# --- what the routes take -----------------------------------------------------------------


class EndpointCreate(BaseModel):
    """An endpoint to register."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(
        min_length=1,
        max_length=2048,
        description="https:// URL outside our network that takes a POST per event",
        examples=["https://lender.example/hooks/collections"],
    )
    description: str = Field("", max_length=200)
    event_types: list[str] = Field(
        default_factory=list,
        max_length=len(EVENT_TYPES),
        description="The event types it takes; empty (the default) for every type: "
        + ", ".join(f"`{t}`" for t in EVENT_TYPES),
    )


class SecretRotation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    overlap_hours: int = Field(
        24,
        ge=0,
        le=168,
        description="How long the previous secret keeps signing too (both signatures sent)",
    )


class ReplayRequest(BaseModel):
    """Which deliveries to replay: by id, or every one in a status (of one endpoint, since
    an instant). Either ``ids`` or ``status``, not both."""

    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = Field(None, min_length=1, max_length=1000)
    status: Literal["dead", "delivered", "cancelled"] | None = None
    endpoint_id: str | None = Field(None, pattern=r"^ep_[0-9a-f]{24}$")
    since: datetime | None = Field(None, description="Only deliveries created since (ISO 8601)")
    limit: int = Field(1000, ge=1, le=1000)

    @model_validator(mode="after")
    def _one_way(self) -> ReplayRequest:
        if (self.ids is None) == (self.status is None):
            raise ValueError("give either `ids` or `status` (with `endpoint_id`, `since`)")
        if self.since is not None and self.since.tzinfo is None:
            raise ValueError("`since` needs a time zone (e.g. 2026-11-02T15:00:00Z)")
        return self


# --- what they answer ---------------------------------------------------------------------


class EndpointView(BaseModel):
    id: str = Field(description="`ep_...`")
    url: str
    description: str
    event_types: list[str] = Field(description="Empty: every type")
    previous_secret_expires_at: str | None = Field(
        description="Until when the previous secret signs too, after a rotation"
    )
    created_at: str
    updated_at: str


class EndpointCreated(EndpointView):
    secret: str = Field(description="`whsec_...`: shown only now; keep it to verify requests")


class EndpointList(BaseModel):
    endpoints: list[EndpointView]


class EndpointDeleted(BaseModel):
    id: str
    deleted: bool


class SecretRotated(BaseModel):
    id: str
    secret: str = Field(description="The new `whsec_...` secret: shown only now")
    previous_secret_expires_at: str | None


class AttemptView(BaseModel):
    at: str
    status_code: int | None = Field(description="The endpoint's answer; null: none came")
    error: str | None
    duration_ms: int


class DeliveryView(BaseModel):
    id: str = Field(description="`dlv_...`")
    endpoint_id: str
    event_id: str = Field(description="`evt_...`, the `webhook-id` header")
    event_type: str
    account: str = Field(description="The account's external id")
    status: str = Field(description="`pending`, `delivered`, `dead` or `cancelled`")
    attempt_count: int = Field(description="Attempts since it was created or last replayed")
    next_attempt_at: str | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: str | None
    created_at: str
    attempts: list[AttemptView] = Field(description="Every POST, oldest first")


class DeliveryList(BaseModel):
    deliveries: list[DeliveryView]
    next: str | None = Field(description="Pass as `before` for the next (older) page")


class Replayed(BaseModel):
    replayed: list[str] = Field(description="Deliveries due again now")
    skipped: list[str] = Field(description="In flight, or of a deleted endpoint")


# --- endpoints ----------------------------------------------------------------------------


@router.post(
    "/webhook-endpoints",
    summary="Register a webhook endpoint",
    status_code=201,
    response_model=EndpointCreated,
    responses=documented(400, 401, 413, 422),
)
def create_endpoint(
    body: EndpointCreate, who: Caller, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> JSONResponse:
    """Register a URL for the tenant's lender events. The answer holds the endpoint's
    signing secret, shown only here (rotate it to get a new one). The URL must be https://
    and reachable on the internet."""
    egress = Egress(allow_loopback=settings.allow_loopback_providers)
    with store.transaction() as conn:
        try:
            row, secret = endpoints.create(
                conn,
                who.tenant_id,
                url=body.url,
                description=body.description,
                event_types=body.event_types,
                egress=egress,
                now=clock.now(),
            )
        except EndpointInvalid as exc:
            raise _invalid(exc) from None
    return JSONResponse({**_endpoint(row), "secret": secret}, status_code=201)


@router.get(
    "/webhook-endpoints",
    summary="The tenant's webhook endpoints",
    response_model=EndpointList,
    responses=documented(401, 413),
)
def list_endpoints(who: Caller, store: StoreDep) -> JSONResponse:
    with store.snapshot() as conn:
        rows = endpoints.listed(conn, who.tenant_id)
    return JSONResponse({"endpoints": [_endpoint(r) for r in rows]})


@router.get(
    "/webhook-endpoints/{endpoint_id}",
    summary="One webhook endpoint",
    response_model=EndpointView,
    responses=documented(401, 404, 413, 422),
)
def get_endpoint(who: Caller, store: StoreDep, endpoint_id: str = EndpointIdPath) -> JSONResponse:
    with store.snapshot() as conn:
        row = endpoints.find(conn, who.tenant_id, endpoint_id)
    if row is None:
        raise _no_endpoint(endpoint_id)
    return JSONResponse(_endpoint(row))


@router.delete(
    "/webhook-endpoints/{endpoint_id}",
    summary="Delete a webhook endpoint",
    response_model=EndpointDeleted,
    responses=documented(401, 404, 413, 422),
)
def delete_endpoint(
    who: Caller, store: StoreDep, clock: ClockDep, endpoint_id: str = EndpointIdPath
) -> JSONResponse:
    """Stop posting to the endpoint; its pending deliveries are cancelled, its delivery
    history stays listed."""
    with store.transaction() as conn:
        if not endpoints.delete(conn, who.tenant_id, endpoint_id, clock.now()):
            raise _no_endpoint(endpoint_id)
    return JSONResponse({"id": endpoint_id, "deleted": True})


@router.post(
    "/webhook-endpoints/{endpoint_id}/rotate-secret",
    summary="Give an endpoint a new signing secret",
    response_model=SecretRotated,
    responses=documented(400, 401, 404, 413, 422),
)
def rotate_secret(
    who: Caller,
    store: StoreDep,
    clock: ClockDep,
    body: SecretRotation | None = None,
    endpoint_id: str = EndpointIdPath,
) -> JSONResponse:
    """A new secret signs from now on; the previous one signs too for ``overlap_hours``
    (24 by default), so requests verify with either while the receiver switches."""
    overlap = timedelta(hours=(body or SecretRotation()).overlap_hours)
    with store.transaction() as conn:
        rotated = endpoints.rotate(conn, who.tenant_id, endpoint_id, overlap, clock.now())
    if rotated is None:
        raise _no_endpoint(endpoint_id)
    row, secret = rotated
    return JSONResponse(
        {
            "id": row.ref,
            "secret": secret,
            "previous_secret_expires_at": _iso(row.previous_expires_at),
        }
    )


# --- deliveries ---------------------------------------------------------------------------


@router.get(
    "/webhook-deliveries",
    summary="The tenant's deliveries, newest first, with their attempts",
    response_model=DeliveryList,
    responses=documented(401, 413, 422),
)
def list_deliveries(
    who: Caller,
    store: StoreDep,
    status: Literal["pending", "delivered", "dead", "cancelled"] | None = Query(None),
    endpoint_id: str | None = Query(None, pattern=r"^ep_[0-9a-f]{24}$"),
    event_id: str | None = Query(None, pattern=r"^evt_[0-9a-f]{24}$"),
    limit: int = Query(50, ge=1, le=500),
    before: str | None = Query(
        None, pattern=r"^dlv_[0-9a-f]{24}$", description="The `next` of the previous page"
    ),
) -> JSONResponse:
    """Filter by ``status`` (``dead`` is the dead-letter list), ``endpoint_id`` or
    ``event_id``."""
    with store.snapshot() as conn:
        before_id = None
        if before is not None:
            before_id = deliveries.ids_of(conn, who.tenant_id, [before]).get(before)
            if before_id is None:
                raise ApiError(
                    422,
                    "invalid_request",
                    "`before` names no delivery of this tenant: pass a page's `next`.",
                    [Problem("before", "not a cursor")],
                )
        rows = deliveries.listed(
            conn,
            who.tenant_id,
            status=status,
            endpoint_ref=endpoint_id,
            event_ref=event_id,
            before_id=before_id,
            limit=limit,
        )
        attempts = deliveries.attempts_of(conn, [r.id for r in rows])
    return JSONResponse(
        {
            "deliveries": [_delivery(r, attempts[r.id]) for r in rows],
            "next": rows[-1].ref if len(rows) == limit else None,
        }
    )


@router.get(
    "/webhook-deliveries/{delivery_id}",
    summary="One delivery, with its attempts",
    response_model=DeliveryView,
    responses=documented(401, 404, 413, 422),
)
def get_delivery(who: Caller, store: StoreDep, delivery_id: str = DeliveryIdPath) -> JSONResponse:
    with store.snapshot() as conn:
        row = deliveries.find(conn, who.tenant_id, delivery_id)
        if row is None:
            raise _no_delivery([delivery_id])
        attempts = deliveries.attempts_of(conn, [row.id])[row.id]
    return JSONResponse(_delivery(row, attempts))


@router.post(
    "/webhook-deliveries/{delivery_id}/replay",
    summary="Deliver one delivery again",
    response_model=Replayed,
    responses=documented(401, 404, 413, 422),
)
def replay_one(
    who: Caller, store: StoreDep, clock: ClockDep, delivery_id: str = DeliveryIdPath
) -> JSONResponse:
    """Post the event again now, with a fresh retry schedule; it goes first in its
    account's line (receivers see the same ``webhook-id``)."""
    return JSONResponse(_replay(store, who.tenant_id, [delivery_id], clock.now()))


@router.post(
    "/webhook-deliveries:replay",
    summary="Deliver many deliveries again (the dead-letter list, say)",
    response_model=Replayed,
    responses=documented(400, 401, 404, 413, 422),
)
def replay_many(body: ReplayRequest, who: Caller, store: StoreDep, clock: ClockDep) -> JSONResponse:
    """``{"ids": [...]}`` replays those; ``{"status": "dead"}`` (optionally with
    ``endpoint_id`` and ``since``) replays every one in that status, oldest first, up to
    ``limit``."""
    now = clock.now()
    if body.ids is not None:
        return JSONResponse(_replay(store, who.tenant_id, body.ids, now))
    assert body.status is not None
    with store.transaction() as conn:
        ids = deliveries.selected(
            conn,
            who.tenant_id,
            status=body.status,
            endpoint_ref=body.endpoint_id,
            since=body.since,
            limit=body.limit,
        )
        replayed = deliveries.replay(conn, who.tenant_id, ids, now)
        refs = deliveries.refs_of(conn, ids)
    return JSONResponse(
        {"replayed": replayed, "skipped": [r for r in refs if r not in set(replayed)]}
    )


def _replay(store: Any, tenant_id: int, refs: list[str], now: datetime) -> dict[str, Any]:
    wanted = list(dict.fromkeys(refs))
    with store.transaction() as conn:
        found = deliveries.ids_of(conn, tenant_id, wanted)
        missing = [r for r in wanted if r not in found]
        if missing:
            raise _no_delivery(missing)
        replayed = set(deliveries.replay(conn, tenant_id, list(found.values()), now))
    return {
        "replayed": [r for r in wanted if r in replayed],
        "skipped": [r for r in wanted if r not in replayed],
    }


# --- shapes -------------------------------------------------------------------------------


def _endpoint(row: Any) -> dict[str, Any]:
    return {
        "id": row.ref,
        "url": row.url,
        "description": row.description,
        "event_types": list(row.event_types),
        "previous_secret_expires_at": _iso(row.previous_expires_at),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _delivery(row: Any, attempts: list[Any]) -> dict[str, Any]:
    return {
        "id": row.ref,
        "endpoint_id": row.endpoint,
        "event_id": row.event,
        "event_type": row.event_type,
        "account": row.external_id,
        "status": row.status,
        "attempt_count": row.attempts,
        "next_attempt_at": _iso(row.next_attempt_at),
        "last_status_code": row.last_status_code,
        "last_error": row.last_error,
        "delivered_at": _iso(row.delivered_at),
        "created_at": _iso(row.created_at),
        "attempts": [
            {
                "at": _iso(a.at),
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in attempts
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def _invalid(exc: EndpointInvalid) -> ApiError:
    return ApiError(
        422, "invalid_request", "The endpoint cannot be registered: see problems.", exc.problems
    )


def _no_endpoint(ref: str) -> ApiError:
    return ApiError(404, "not_found", f"No webhook endpoint {ref!r} for this API key's tenant.")


def _no_delivery(refs: list[str]) -> ApiError:
    return ApiError(
        404,
        "not_found",
        f"No delivery {', '.join(map(repr, refs[:10]))} for this API key's tenant; nothing "
        "was replayed.",
        [Problem("ids", f"{r} not found") for r in refs[:50]],
    )
