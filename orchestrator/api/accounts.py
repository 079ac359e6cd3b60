"""The lender API: accounts and their events (``/v1/accounts``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.engine import Connection

from orchestrator import links
from orchestrator.api.auth import Caller
from orchestrator.api.dependencies import ClockDep, ReplanDep, SettingsDep, StoreDep
from orchestrator.api.errors import ApiError, ErrorBody, documented
from orchestrator.api.idempotency import HEADER, IdempotencyDep
from orchestrator.api.responses import JSONResponse
from orchestrator.api.schemas import (
    AccountView,
    AccountWritten,
    BatchWritten,
    EventRecorded,
    PersonalDataErased,
    Timeline,
)
from orchestrator.errors import Problem, problems_from
from orchestrator.intake import accounts as account_store
from orchestrator.intake import erasure
from orchestrator.intake.batch import BatchRequest, BatchShapeError, check_batch_body
from orchestrator.intake.document import UNKEYED_PAYMENT, AccountDocument, EventDocument
from orchestrator.intake.plausibility import document_warnings
from orchestrator.intake.prepared import IntakeResult, PreparedAccount
from orchestrator.intake.upsert import EventConflict, prepare, write_accounts
from orchestrator.tenancy import Principal
from orchestrator.timeline import timeline

router = APIRouter(prefix="/v1", tags=["accounts"])

ExternalIdPath = Path(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-]*$",
    max_length=128,
    description="The lender's own id for the account",
    examples=["loan-88231"],
)


def _schema(model: Any) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema()}},
        }
    }


async def _read_body(request: Request) -> bytes:
    """The body, at most the route's limit (:mod:`orchestrator.api.body_limits`)."""
    raw = await request.body()
    if not raw.strip():
        raise ApiError(400, "invalid_json", "The body is empty; send a JSON document.")
    return raw


def _load_object(raw: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_json", "The body must be a JSON object.")
    return data


def _invalid(exc: ValidationError) -> ApiError:
    return ApiError(
        422,
        "invalid_request",
        "The request is not valid: see problems.",
        problems_from(exc.errors()),
    )


@router.put(
    "/accounts/{external_id}",
    summary="Create or replace one overdue account",
    openapi_extra=_schema(AccountDocument),
    response_model=AccountWritten,
    responses={
        200: {"description": "Updated or unchanged"},
        201: {"model": AccountWritten, "description": "Created"},
        409: {
            "model": ErrorBody,
            "description": "An event's event_id already names a different event",
        },
        **documented(400, 401, 413, 422),
    },
)
async def put_account(
    request: Request,
    who: Caller,
    clock: ClockDep,
    replan: ReplanDep,
    idempotency: IdempotencyDep,
    external_id: str = ExternalIdPath,
) -> JSONResponse:
    """Upsert an account document. Sending the same document again changes nothing.

    ``external_id`` in the body may be left out; when present it must match the path.
    Events in the body are recorded once each (a re-send adds nothing).
    """
    data = _load_object(await _read_body(request))
    body_id = data.setdefault("external_id", external_id)
    if body_id != external_id:
        raise ApiError(
            422,
            "invalid_request",
            "The body's external_id differs from the one in the path.",
            [Problem("external_id", f"{body_id!r} is not {external_id!r}")],
        )
    try:
        document = AccountDocument.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc) from None
    now = clock.now()
    prepared = prepare(document, now=now)

    def work(conn: Connection) -> tuple[int, dict[str, Any]]:
        result = _write(conn, who.tenant_id, [prepared], now)
        replan(conn, who.tenant_id, result.touched, now)
        view = _account_view(conn, who, external_id)
        return (201 if result.created else 200), {
            "created": bool(result.created),
            "changed": bool(result.created or result.updated),
            "account": view,
            "warnings": document_warnings(document),
        }

    return await run_in_threadpool(idempotency.run, request, who, None, work)


@router.post(
    "/accounts:batch",
    summary="Create or replace up to 10,000 accounts",
    openapi_extra=_schema(BatchRequest),
    response_model=BatchWritten,
    responses={
        409: {
            "model": ErrorBody,
            "description": "An event's event_id already names a different event, or a "
            "request with the same Idempotency-Key is still in progress",
        },
        **documented(400, 401, 413, 422),
    },
)
async def batch_accounts(
    request: Request,
    who: Caller,
    clock: ClockDep,
    settings: SettingsDep,
    replan: ReplanDep,
    idempotency: IdempotencyDep,
) -> JSONResponse:
    """Upsert many accounts in one call.

    Valid accounts are committed; invalid ones come back in ``rejected`` with their index in
    the batch and the errors of each field. Sending the same batch twice changes nothing.
    Honours an ``Idempotency-Key`` header.
    """
    raw = await _read_body(request)
    limit = settings.batch_limit

    def work(conn: Connection) -> tuple[int, dict[str, Any]]:
        now = clock.now()
        try:
            checked = check_batch_body(raw, limit=limit)
        except BatchShapeError as exc:
            raise ApiError(exc.status, "invalid_batch", str(exc), exc.problems) from None
        prepared = [prepare(doc, now=now) for _, doc in checked.accepted]
        result = _write(conn, who.tenant_id, prepared, now)
        replan(conn, who.tenant_id, result.touched, now)
        body = {
            "accepted": result.accepted,
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "events_added": result.events_added,
            "rejected": [r.as_json() for r in checked.rejected],
            "warnings": [
                {"index": index, "external_id": doc.external_id, "warnings": found}
                for index, doc in checked.accepted
                if (found := document_warnings(doc))
            ],
        }
        if checked.rejected and not checked.accepted:
            raise ApiError(
                422,
                "invalid_request",
                "No account in the batch is valid: see rejected.",
                [Problem(f"accounts[{r.index}]", "rejected") for r in checked.rejected[:50]],
            )
        return 200, body

    return await run_in_threadpool(idempotency.run, request, who, raw, work)


@router.post(
    "/accounts/{external_id}/events",
    summary="Record an account event (payment, dispute, opt-out...)",
    openapi_extra=_schema(EventDocument),
    status_code=201,
    response_model=EventRecorded,
    responses={
        200: {
            "model": EventRecorded,
            "description": "Already recorded (a retry): the event first recorded",
        },
        409: {
            "model": ErrorBody,
            "description": "The event_id already names a different event, or a request "
            "with the same Idempotency-Key is still in progress",
        },
        **documented(400, 401, 404, 413, 422),
    },
)
async def post_event(
    request: Request,
    who: Caller,
    clock: ClockDep,
    replan: ReplanDep,
    idempotency: IdempotencyDep,
    external_id: str = ExternalIdPath,
) -> JSONResponse:
    """Record one event. ``at`` defaults to now; a date means the start of that day in the
    borrower's zone. Holds take effect at once: pending contacts they forbid are cancelled.
    Recording the same event twice records it once (200 with ``"duplicate": true`` and the
    event first recorded). ``event_id`` is the event's business key: the same id with other
    content is refused (409). A payment needs an ``event_id``, an ``at`` or an
    ``Idempotency-Key`` (422 otherwise): else a retry would count as a second payment."""
    raw = await _read_body(request)
    try:
        event = EventDocument.model_validate(_load_object(raw))
    except ValidationError as exc:
        raise _invalid(exc) from None
    unkeyed = event.unkeyed_money and request.headers.get(HEADER) is None

    def work(conn: Connection) -> tuple[int, dict[str, Any]]:
        account = account_store.find_account(conn, who.tenant_id, external_id)
        if account is None:
            raise _not_found(external_id)
        if unkeyed:
            raise ApiError(
                422,
                "invalid_request",
                f"A payment needs `event_id`, `at` or an {HEADER} header.",
                [Problem("event_id", f"{UNKEYED_PAYMENT}; or send an {HEADER} header")],
            )
        now = clock.now()
        try:
            recorded = account_store.record_event(conn, account, event, now=now, source="api")
        except EventConflict as exc:
            raise _conflict(exc) from None
        if recorded.created:
            replan(conn, who.tenant_id, {account.id}, now)
        return (201 if recorded.created else 200), {
            "duplicate": not recorded.created,
            "event": account_store.event_json(recorded.row),
        }

    return await run_in_threadpool(idempotency.run, request, who, raw, work)


@router.get(
    "/accounts/{external_id}",
    summary="An account's state",
    response_model=AccountView,
    responses=documented(401, 404, 413, 422),
)
def get_account(who: Caller, store: StoreDep, external_id: str = ExternalIdPath) -> JSONResponse:
    """The account as last sent, its contact points (with provider verdicts), its events and
    the holds in force now."""
    with store.snapshot() as conn:
        return JSONResponse(_account_view(conn, who, external_id))


@router.get(
    "/accounts/{external_id}/timeline",
    summary="Every contact decision, explained",
    response_model=Timeline,
    responses=documented(401, 404, 413, 422),
)
def get_timeline(
    who: Caller,
    store: StoreDep,
    external_id: str = ExternalIdPath,
    limit: int = Query(200, ge=1, le=1000, description="entries per page"),
    before: str | None = Query(None, description="the `next` cursor of the previous page"),
) -> JSONResponse:
    """Everything that happened to the account, newest first: events, planned contacts,
    contacts sent or blocked (with the rule and the law behind each block), and delivery
    reports."""
    with store.snapshot() as conn:
        account = account_store.find_account(conn, who.tenant_id, external_id)
        if account is None:
            raise _not_found(external_id)
        try:
            entries, cursor = timeline(conn, account.id, limit=limit, before=before)
        except ValueError as exc:
            raise ApiError(
                422, "invalid_request", str(exc), [Problem("before", "not a cursor")]
            ) from None
    return JSONResponse({"external_id": external_id, "entries": entries, "next": cursor})


@router.delete(
    "/accounts/{external_id}/personal-data",
    summary="Erase the borrower's personal data (GDPR art. 17, PIPL art. 47)",
    response_model=PersonalDataErased,
    responses={
        409: {
            "model": ErrorBody,
            "description": "A message to the borrower is being sent right now; nothing was "
            "erased, retry shortly",
        },
        **documented(401, 404, 413, 422),
    },
)
def erase_personal_data(
    who: Caller, store: StoreDep, clock: ClockDep, external_id: str = ExternalIdPath
) -> JSONResponse:
    """Remove the borrower's name, address, contact points, the text and addresses of the
    messages sent and the providers' payloads about them; cancel pending contacts; never
    contact or fill the account again. The facts a collector must keep (the debt, each
    contact's channel, time and outcome, every decision and its rules, events' types and
    times) stay, and the ledger records the erasure. Erasing again answers the first
    erasure (``already_erased``)."""
    with store.locking_transaction() as conn:
        account = account_store.find_account(conn, who.tenant_id, external_id)
        if account is None:
            raise _not_found(external_id)
        try:
            done = erasure.erase_personal_data(conn, account, now=clock.now())
        except erasure.SendInFlight as exc:
            error = ApiError(409, "send_in_flight", str(exc))
            error.headers["Retry-After"] = "60"
            raise error from None
    return JSONResponse(
        {
            "external_id": external_id,
            "erased_at": done.erased_at.isoformat().replace("+00:00", "Z"),
            "already_erased": done.already,
            "removed": {
                "contact_points": done.contact_points,
                "messages": done.messages,
                "reports": done.reports,
            },
            "tasks_cancelled": done.tasks_cancelled,
            "kept": erasure.KEPT,
        }
    )


@router.delete(
    "/accounts/{external_id}/self-service-link",
    summary="Revoke the borrower's self-service link",
    status_code=200,
    responses=documented(401, 404, 413, 422),
)
def revoke_link(
    who: Caller, store: StoreDep, clock: ClockDep, external_id: str = ExternalIdPath
) -> JSONResponse:
    """Every live self-service link of the account stops opening at once (a borrower says
    their phone was lost, a message went to the wrong number); the next message carries a
    new link."""
    with store.transaction() as conn:
        account = account_store.find_account(conn, who.tenant_id, external_id)
        if account is None:
            raise _not_found(external_id)
        revoked = links.revoke(conn, account.id, now=clock.now(), reason="revoked by the lender")
    return JSONResponse({"external_id": external_id, "revoked": revoked})


def _account_view(conn: Connection, who: Principal, external_id: str) -> dict[str, Any]:
    account = account_store.find_account(conn, who.tenant_id, external_id)
    if account is None:
        raise _not_found(external_id)
    return account_store.account_json(
        account,
        account_store.contact_points(conn, account.id),
        account_store.events(conn, account.id),
    )


def _write(
    conn: Connection, tenant_id: int, prepared: list[PreparedAccount], now: datetime
) -> IntakeResult:
    try:
        return write_accounts(conn, tenant_id, prepared, now=now, source="api")
    except EventConflict as exc:
        raise _conflict(exc) from None


def _conflict(exc: EventConflict) -> ApiError:
    return ApiError(
        409,
        "event_conflict",
        f"event_id {exc.event_id!r} already names a different event of account "
        f"{exc.external_id!r}; nothing was recorded.",
        [Problem("event_id", str(exc))],
    )


def _not_found(external_id: str) -> ApiError:
    return ApiError(404, "not_found", f"No account {external_id!r} for this API key's tenant.")
