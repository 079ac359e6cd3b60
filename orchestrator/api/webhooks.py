"""``POST /v1/webhooks/{provider}``: delivery reports, call outcomes and inbound messages.

No API key: each provider's own signature is the authentication (Twilio's request signature,
SendGrid's signed event webhook, the dialer's HMAC, Aliyun's callback token). A request whose
signature is missing or wrong is refused with 401 and changes nothing; a replay is stored
once and changes nothing the second time.

``/v1/webhooks/{provider}`` reads the global channel config; a tenant with provider accounts
of its own configures ``/v1/webhooks/{provider}/{tenant}`` at its providers.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from channels.base import WebhookRequest
from orchestrator.api.dependencies import AdaptersDep, ServicesDep
from orchestrator.api.errors import ApiError, documented
from orchestrator.dispatch.adapters import Adapters
from orchestrator.errors import SignatureError
from orchestrator.inbound.apply import Applied, apply_reports
from orchestrator.logs import get_logger
from orchestrator.services import Services
from orchestrator.store.tables import Tenant

router = APIRouter(prefix="/v1/webhooks", tags=["webhooks"])
log = get_logger(__name__)
GLOBAL_SCOPE = ""
ProviderPath = Path(
    pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$",
    description="the adapter's registered name, e.g. twilio_sms",
)
# A tenant slug, as orchestrator.tenancy creates them.
TenantPath = Path(pattern=r"^[a-z0-9][a-z0-9\-]{1,62}$", description="your tenant's slug")
_ANSWERS: dict[int | str, dict[str, object]] = {
    200: {
        "description": "Accepted; the body is what the provider expects back",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/xml": {"schema": {"type": "string"}},
        },
    },
    **documented(401, 404, 413, 422),
}


@router.post(
    "/{provider}",
    summary="A provider's report (global provider accounts)",
    response_class=Response,
    responses=_ANSWERS,
)
async def global_webhook(
    request: Request,
    services: ServicesDep,
    adapters: AdaptersDep,
    provider: str = ProviderPath,
) -> Response:
    return await _handle(request, services, adapters, provider, None)


@router.post(
    "/{provider}/{tenant}",
    summary="A provider's report (a tenant's own accounts)",
    response_class=Response,
    responses=_ANSWERS,
)
async def tenant_webhook(
    request: Request,
    services: ServicesDep,
    adapters: AdaptersDep,
    provider: str = ProviderPath,
    tenant: str = TenantPath,
) -> Response:
    return await _handle(request, services, adapters, provider, tenant)


async def _handle(
    request: Request,
    services: Services,
    adapters: Adapters,
    provider: str,
    tenant: str | None,
) -> Response:
    # An unknown tenant is answered before anything is built or read: the path segment is
    # the caller's to choose, and each tenant's adapters are built and kept.
    tenant_id = None if tenant is None else await run_in_threadpool(_tenant_id, services, tenant)
    adapter_found = adapters.named(tenant or GLOBAL_SCOPE, provider)
    if adapter_found is None:
        raise ApiError(404, "not_found", f"No provider {provider!r} is configured here.")
    adapter = adapter_found.adapter
    raw = await request.body()
    public = services.settings.public_url.rstrip("/")
    query = request.url.query
    webhook = WebhookRequest(
        method=request.method,
        url=f"{public}{request.url.path}" + (f"?{query}" if query else ""),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=raw,
    )
    try:
        adapter.verify(webhook)
        reports = adapter.parse(webhook)
    except SignatureError as exc:
        log.warning("webhook refused", provider=provider, reason=str(exc))
        raise ApiError(
            401, "invalid_signature", f"The {provider} signature does not verify."
        ) from None

    def apply() -> Applied:
        with services.store.transaction() as conn:
            tenants = None if tenant_id is None else [tenant_id]
            return apply_reports(
                conn,
                provider,
                reports,
                now=services.clock.now(),
                route=tenant or GLOBAL_SCOPE,
                tenants=tenants,
                replies_inline=adapter.replies_inline,
                accounts_changed=services.accounts_changed,
            )

    applied = await run_in_threadpool(apply)
    # Only reports seen for the first time may answer the borrower: a replayed STOP must
    # not confirm the opt-out a second time.
    content_type, body = adapter.webhook_reply(applied.fresh)
    return Response(content=body, media_type=content_type)


def _tenant_id(services: Services, slug: str) -> int:
    with services.store.snapshot() as conn:
        found = conn.execute(select(Tenant.id).where(Tenant.slug == slug)).scalar()
    if found is None:
        raise ApiError(404, "not_found", f"No tenant {slug!r}.")
    return int(found)
