"""The borrower's self-service page: ``/s/{token}``, reached from the link in a message.

Server-rendered, mobile-first, in the borrower's locale, with no script and no asset from
anywhere else. The link shows nothing until the second factor (the last four digits of a
phone number on the account) opens a short session; then the borrower sees what is owed
and why, and can pay, choose a repayment plan, promise to pay, dispute, set when and how to
be contacted, opt out of a channel, refuse contact at work or ask for a call back. Each
action is an account event with source ``self_service``, recorded and re-planned in one
transaction like the lender API's events (:mod:`orchestrator.api.borrower_actions`).
"""

from __future__ import annotations

import hmac
import urllib.parse
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, select_autoescape
from sqlalchemy.engine import Connection

from orchestrator import links
from orchestrator.api import borrower_access as access
from orchestrator.api.borrower_actions import (
    ACTIONS,
    PROMISE_HORIZON,
    WEEKDAYS,
    AccountView,
    FormProblem,
    events_for,
)
from orchestrator.api.borrower_text import page_locale, text
from orchestrator.api.dependencies import ServicesDep
from orchestrator.compliance import active_holds
from orchestrator.compliance.localtime import local_date
from orchestrator.configuration.repayment import PlanOption, plan_options
from orchestrator.domain import Channel, EventType, contact_point_key
from orchestrator.intake import accounts as account_store
from orchestrator.intake.document import DISPUTE_REASONS
from orchestrator.intake.upsert import EventConflict
from orchestrator.logs import get_logger, mask_address
from orchestrator.messages.formatting import format_day, format_money
from orchestrator.messages.locales import formatting_locale
from orchestrator.planning.facts import ACCOUNT_COLUMNS, load
from orchestrator.services import Services
from orchestrator.store.tables import Account, AccountEvent, Attempt, Tenant

router = APIRouter(include_in_schema=False)
log = get_logger(__name__)
SOURCE = "self_service"

_ENV = Environment(autoescape=select_autoescape(default=True), auto_reload=False)
_PAGE = _ENV.from_string(
    files("orchestrator.api").joinpath("pages/self_service.html").read_text(encoding="utf-8")
)
_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class Visit:
    """One request on a link: what it opened (or why not) and the client's address."""

    link: links.OpenLink | None
    refused: str | None
    locale: str
    lender: str
    address: str


def _limits(services: Services) -> access.RateLimits:
    return access.RateLimits(services.redis, services.settings.queue_namespace)


def _secret(services: Services) -> str | None:
    return services.settings.link_secret


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _page(status: int, **values: Any) -> HTMLResponse:
    values.setdefault("t", text("en-US"))
    values.setdefault("lender", "")
    values.setdefault("support_phone", "")
    return HTMLResponse(_PAGE.render(**values), status_code=status, headers=_HEADERS)


def _visit(services: Services, token: str, request: Request) -> Visit:
    secret = _secret(services)
    address = _client(request)
    if not secret:
        return Visit(None, "disabled", "en-US", "", address)
    with services.store.snapshot() as conn:
        try:
            link = links.open_link(conn, token, secret=secret, now=services.clock.now())
        except links.LinkRefused as refused:
            return Visit(None, refused.reason, "en-US", "", address)
        row = conn.execute(
            sa.select(Account.locale, Tenant.profile, Tenant.name)
            .join(Tenant, Tenant.id == Account.tenant_id)
            .where(Account.id == link.account_id)
        ).one()
    lender = str((row.profile or {}).get("lender_name") or row.name)
    return Visit(link, None, page_locale(row.locale), lender, address)


def _gate(services: Services, token: str, visit: Visit) -> HTMLResponse | None:
    """The page to answer instead (link refused, rate limited), or ``None`` to go on."""
    limits = _limits(services)
    checks = [(access.REQUESTS_PER_ADDRESS, visit.address)]
    if visit.link is not None:
        checks.append((access.REQUESTS_PER_LINK, str(visit.link.id)))
    if limits.hit(checks, services.clock.now().timestamp()):
        return _page(429, state="locked", t=text(visit.locale), lender=visit.lender)
    if visit.link is None:
        if visit.refused != "disabled":
            log.info("self_service.link_refused", reason=visit.refused, address=visit.address)
        status = 410 if visit.refused in ("expired", "revoked") else 404
        return _page(status, state="invalid", t=text(visit.locale))
    return None


def _session(request: Request, services: Services, visit: Visit) -> str | None:
    value = request.cookies.get(access.SESSION_COOKIE)
    secret = _secret(services)
    assert visit.link is not None
    assert secret
    if access.session_valid(secret, value, visit.link.id, services.clock.now().timestamp()):
        return value
    return None


def _base(token: str) -> str:
    return f"/s/{token}"


def _cookie(response: Response, name: str, value: str, token: str, request: Request) -> None:
    response.set_cookie(
        name,
        value,
        max_age=access.SESSION_SECONDS,
        path=_base(token),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


@router.get("/s/{token}", response_class=HTMLResponse)
def open_page(token: str, request: Request, services: ServicesDep) -> Response:
    """The link: straight to the account when a session is open, else the second factor."""
    visit = _visit(services, token, request)
    refused = _gate(services, token, visit)
    if refused is not None:
        return refused
    if _session(request, services, visit):
        return RedirectResponse(f"{_base(token)}/account", status_code=303)
    return _verify_page(services, token, request, visit, 200, None)


def _verify_page(
    services: Services,
    token: str,
    request: Request,
    visit: Visit,
    status: int,
    message: str | None,
) -> Response:
    assert visit.link is not None
    with services.store.snapshot() as conn:
        has_phone = bool(_phones(conn, visit.link.account_id))
    pre = request.cookies.get(access.PRE_COOKIE) or access.new_nonce()
    response = _page(
        status,
        state="verify",
        t=text(visit.locale),
        base=_base(token),
        pre=pre,
        has_phone=has_phone,
        message=message,
    )
    _cookie(response, access.PRE_COOKIE, pre, token, request)
    return response


@router.post("/s/{token}/verify", response_class=HTMLResponse)
async def verify(token: str, request: Request, services: ServicesDep) -> Response:
    """The second factor: the last four digits of a phone number on the account."""
    form = await _form(request)
    visit = await run_in_threadpool(_visit, services, token, request)
    refused = _gate(services, token, visit)
    if refused is not None:
        return refused
    assert visit.link is not None
    t = text(visit.locale)
    pre = request.cookies.get(access.PRE_COOKIE)
    if not pre or not hmac.compare_digest(form.get("csrf", ""), pre):
        return _verify_page(services, token, request, visit, 403, t["stale_form"])
    limits = _limits(services)
    now = services.clock.now().timestamp()
    failures = [
        (access.FAILURES_PER_LINK, str(visit.link.id)),
        (access.FAILURES_PER_ADDRESS, visit.address),
    ]
    if limits.over(failures, now):
        return _page(429, state="locked", t=t, lender=visit.lender)
    with services.store.snapshot() as conn:
        phones = _phones(conn, visit.link.account_id)
    if not access.last_four_matches(str(form.get("last4", "")), phones):
        limits.hit(failures, now)
        log.info("self_service.second_factor_failed", link=visit.link.id, address=visit.address)
        return _verify_page(services, token, request, visit, 401, t["verify_wrong"])
    secret = _secret(services)
    assert secret
    response = RedirectResponse(f"{_base(token)}/account", status_code=303)
    _cookie(
        response,
        access.SESSION_COOKIE,
        access.open_session(
            secret, visit.link.id, now, services.settings.self_service_session_minutes * 60
        ),
        token,
        request,
    )
    response.delete_cookie(access.PRE_COOKIE, path=_base(token))
    return response


@router.get("/s/{token}/account", response_class=HTMLResponse)
def account_page(token: str, request: Request, services: ServicesDep) -> Response:
    """What is owed and why, and the actions; only with an open session."""
    visit = _visit(services, token, request)
    refused = _gate(services, token, visit)
    if refused is not None:
        return refused
    session = _session(request, services, visit)
    if session is None:
        return _verify_page(
            services, token, request, visit, 401, text(visit.locale)["expired_session"]
        )
    done_key = request.query_params.get("done", "")
    t = text(visit.locale)
    done = t.get(f"done_{done_key}") or (t["already_done"] if done_key == "again" else None)
    problem = request.query_params.get("problem")
    message = t["bad_form"].format(problem=problem[:200]) if problem else None
    return _account_page(services, token, visit, session, 200, done=done, message=message)


def _account_page(
    services: Services,
    token: str,
    visit: Visit,
    session: str,
    status: int,
    *,
    done: str | None = None,
    message: str | None = None,
) -> Response:
    assert visit.link is not None
    secret = _secret(services)
    assert secret
    now = services.clock.now()
    with services.store.snapshot() as conn:
        facts = _account_facts(services, conn, visit.link.account_id, now)
    t = text(visit.locale)
    babel = formatting_locale(visit.locale)

    def money(amount: Decimal) -> str:
        return format_money(amount, facts.currency, babel)

    def day(value: date) -> str:
        return format_day(value, babel)

    def form_fields(action: str) -> dict[str, str]:
        """A form's one-time nonce and its CSRF token (the macro ``hidden`` prints them)."""
        nonce = access.new_nonce()
        return {"nonce": nonce, "csrf": access.csrf_token(secret, session, nonce)}

    options = []
    for option in facts.view.options:
        first = option.instalments[0]
        if option.id == "settle":
            key = "plan_settle_discount" if option.discount else "plan_settle"
            label = t[key].format(
                total=money(option.total), date=day(first.due), discount=money(option.discount)
            )
        else:
            label = t["plan_months"].format(
                count=len(option.instalments), amount=money(first.amount), date=day(first.due)
            )
        options.append({"id": option.id, "label": label})
    itemization = None
    validation = None
    if facts.jurisdiction.startswith("US"):
        # 12 CFR 1006.34(c)(2): the itemization date, the amount then, and interest, fees,
        # payments and credits since; what the creditor does not report is said so.
        lender = facts.itemization
        if lender:
            # The lender's own figures, as the validation notice prints them.
            itemization = {
                "date": day(date.fromisoformat(str(lender["date"]))),
                "owed": money(Decimal(str(lender["amount"]))),
                "interest": money(Decimal(str(lender.get("interest", 0)))),
                "fees": money(Decimal(str(lender.get("fees", 0)))),
                "payments": money(-Decimal(str(lender.get("payments", 0)))),
                "credits": money(-Decimal(str(lender.get("credits", 0)))),
            }
        else:
            itemization = {
                "date": day(facts.due_date),
                "owed": money(facts.amount_due + facts.paid),
                "interest": t["not_reported"],
                "fees": t["not_reported"],
                "payments": money(-facts.paid) if facts.paid else money(Decimal(0)),
                "credits": t["not_reported"],
            }
        validation = t["validation_us"].format(date=day(facts.validation_ends))
    return _page(
        status,
        state="account",
        t=t,
        lender=visit.lender,
        support_phone=facts.support_phone,
        base=_base(token),
        form_fields=form_fields,
        done=done,
        message=message,
        reference=facts.reference,
        due_date=day(facts.due_date),
        amount_due=money(facts.amount_due),
        paid=money(facts.paid) if facts.paid else None,
        itemization=itemization,
        validation=validation,
        holds=facts.holds,
        payment_url=facts.payment_url,
        options=options,
        today=facts.view.today.isoformat(),
        promise_max=(facts.view.today + PROMISE_HORIZON).isoformat(),
        reasons=DISPUTE_REASONS,
        weekdays=WEEKDAYS,
        channels=sorted({c for c, _ in facts.view.points}, key=_channel_order),
        points=[
            {"key": contact_point_key(c, a), "channel": c, "masked": mask_address(a)}
            for c, a in facts.view.points
        ],
    )


def _channel_order(channel: str) -> int:
    return [c.value for c in Channel].index(channel)


@dataclass(frozen=True, slots=True)
class _Facts:
    view: AccountView
    jurisdiction: str
    reference: str
    currency: str
    amount_due: Decimal
    due_date: date
    paid: Decimal
    validation_ends: date
    holds: list[str]
    payment_url: str
    support_phone: str
    tenant_id: int
    # The lender's ``debt.itemization`` (12 CFR 1006.34(c)(2)), US accounts only.
    itemization: dict[str, Any] | None = None


def _account_facts(services: Services, conn: Connection, account_id: int, now: datetime) -> _Facts:
    row = conn.execute(
        sa.select(*ACCOUNT_COLUMNS, Tenant.slug, Tenant.profile)
        .join(Tenant, Tenant.id == Account.tenant_id)
        .where(Account.id == account_id)
    ).one()
    loaded = load(conn, [row], since=now, include_pending=False)[row.id]
    facts = loaded.facts
    config = services.config.get()
    today = local_date(now, facts.zones[0])
    strategy = config.strategy_for(row.slug)
    options: list[PlanOption] = plan_options(
        strategy.repayment_plans,
        amount=row.amount_due,
        currency=row.currency,
        dpd=(today - row.due_date).days,
        today=today,
    )
    paid = sum(
        (
            e.amount or Decimal(0)
            for e in facts.events
            if e.type is EventType.PAYMENT and e.at.date() >= row.due_date
        ),
        Decimal(0),
    )
    first_contact = conn.execute(
        sa.select(sa.func.min(Attempt.at)).where(Attempt.account_id == account_id)
    ).scalar()
    # 12 CFR 1006.34(b)(5): the validation period ends 30 days after the consumer receives
    # the notice, assumed five days (excluding holidays and weekends) after it was sent.
    sent = local_date(first_contact, facts.zones[0]) if first_contact else today
    validation_ends = sent + timedelta(days=35)
    pack = config.pack_for(row.jurisdiction, row.slug)
    holds = [hold.detail for hold in active_holds(facts, now, pack)]
    profile = row.profile or {}
    itemization = None
    if row.jurisdiction.startswith("US"):
        # Opened only where the page shows it: the document is sealed.
        document = conn.execute(
            sa.select(Account.document).where(Account.id == account_id)
        ).scalar()
        itemization = ((document or {}).get("debt") or {}).get("itemization") or None
    return _Facts(
        view=AccountView(
            amount_due=row.amount_due,
            today=today,
            points=tuple(
                (p.channel.value, p.address)
                for p in facts.contact_points
                if p.channel is not Channel.PUSH
            ),
            options=tuple(options),
        ),
        jurisdiction=row.jurisdiction,
        reference=row.external_id,
        currency=row.currency,
        amount_due=row.amount_due,
        due_date=row.due_date,
        paid=paid,
        validation_ends=validation_ends,
        holds=holds,
        payment_url=str(profile.get("payment_url", "")).replace("{reference}", row.external_id),
        support_phone=str(profile.get("support_phone", "")),
        tenant_id=row.tenant_id,
        itemization=itemization,
    )


async def _form(request: Request) -> dict[str, str]:
    """A plain HTML form (``application/x-www-form-urlencoded``); a field sent several
    times (checkboxes) is joined with commas."""
    body = (await request.body()).decode("utf-8", errors="replace")
    fields = urllib.parse.parse_qs(body, keep_blank_values=True, max_num_fields=100)
    return {key: ",".join(values) for key, values in fields.items()}


def _phones(conn: Connection, account_id: int) -> list[str]:
    return [
        p.address
        for p in account_store.contact_points(conn, account_id)
        if p.channel in (Channel.SMS.value, Channel.CALL.value)
    ]


@router.post("/s/{token}/act/{action}", response_class=HTMLResponse)
async def act(token: str, action: str, request: Request, services: ServicesDep) -> Response:
    """One action: its events recorded with source ``self_service`` and the account
    re-planned in one transaction; then back to the page (post/redirect/get)."""
    form = await _form(request)
    return await run_in_threadpool(_act, services, token, action, request, form)


def _act(
    services: Services, token: str, action: str, request: Request, form: dict[str, str]
) -> Response:
    visit = _visit(services, token, request)
    refused = _gate(services, token, visit)
    if refused is not None:
        return refused
    assert visit.link is not None
    t = text(visit.locale)
    session = _session(request, services, visit)
    if session is None:
        return _verify_page(services, token, request, visit, 401, t["expired_session"])
    secret = _secret(services)
    assert secret
    nonce = form.get("nonce", "")
    if action not in ACTIONS or not access.csrf_valid(secret, session, nonce, form.get("csrf", "")):
        return _account_page(services, token, visit, session, 403, message=t["stale_form"])
    link = visit.link
    now = services.clock.now()
    try:
        with services.store.transaction() as conn:
            account = conn.execute(sa.select(Account).where(Account.id == link.account_id)).one()
            if _already(conn, account.id, nonce):
                return _back(token, "again")
            facts = _account_facts(services, conn, account.id, now)
            events = events_for(action, form, facts.view, nonce, now)
            for event in events:
                account_store.record_event(conn, account, event, now=now, source=SOURCE)
            services.accounts_changed(conn, account.tenant_id, {account.id}, now)
    except FormProblem as problem:
        return _back(token, None, problem=str(problem))
    except EventConflict:
        return _back(token, "again")
    log.info("self_service.action", action=action, link=link.id, events=len(events))
    return _back(token, action)


def _already(conn: Connection, account_id: int, nonce: str) -> bool:
    """Whether this form was already posted (its first event is recorded)."""
    return bool(
        conn.execute(
            sa.select(
                sa.exists().where(
                    AccountEvent.account_id == account_id,
                    AccountEvent.event_id.in_([f"ss-{nonce}", f"ss-{nonce}-1"]),
                )
            )
        ).scalar()
    )


def _back(token: str, done: str | None, *, problem: str | None = None) -> Response:
    query = {"done": done} if done else {"problem": problem or ""}
    return RedirectResponse(
        f"{_base(token)}/account?{urllib.parse.urlencode(query)}", status_code=303
    )


@router.post("/s/{token}/sign-out", response_class=HTMLResponse)
def sign_out(token: str) -> Response:
    response = RedirectResponse(_base(token), status_code=303)
    response.delete_cookie(access.SESSION_COOKIE, path=_base(token))
    return response
