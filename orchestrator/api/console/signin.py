"""Signing in and out of the console, and setting a password through a one-time link.

The sign-in and set-password forms are sent before there is a session, so their CSRF token
is a double submit: a random value in a ``SameSite=Strict`` cookie that the form must repeat.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from orchestrator.api.console.session import (
    COOKIE,
    HEADERS,
    SIGN_IN_COOKIE,
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    secure_cookies,
)
from orchestrator.api.dependencies import ClockDep, SettingsDep, StoreDep
from orchestrator.ops_users import (
    SESSION_LIFETIME,
    SignedIn,
    UserError,
    password_cost,
    set_password_with_link,
    sign_in,
    sign_out,
)

router = APIRouter(prefix="/console", include_in_schema=False)
SecureDep = Annotated[bool, Depends(secure_cookies)]


def _safe_next(value: str | None) -> str:
    """Only a console path: never another site (``//evil``, ``https://…``)."""
    if value and value.startswith("/console") and not value.startswith("//"):
        return value
    return "/console/"


def _form_page(
    request: Request, template: str, secure: bool, status: int = 200, **context: Any
) -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, template, person=None, status=status, sign_in_token=token, **context)
    response.set_cookie(
        SIGN_IN_COOKIE,
        token,
        max_age=3600,
        path="/console",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    return response


async def _pre_session_form(request: Request) -> dict[str, str]:
    return await read_form(request, request.cookies.get(SIGN_IN_COOKIE) or secrets.token_hex())


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_page(request: Request, secure: SecureDep, next: str | None = None) -> HTMLResponse:
    return _form_page(request, "sign_in.html", secure, after=_safe_next(next))


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in_form(
    request: Request, store: StoreDep, clock: ClockDep, settings: SettingsDep, secure: SecureDep
) -> Response:
    fields = await _pre_session_form(request)
    name = fields.get("name", "").strip().lower()
    after = _safe_next(fields.get("next"))

    def attempt() -> SignedIn | UserError:
        with store.transaction() as conn:
            return sign_in(
                conn,
                name,
                fields.get("password", ""),
                now=clock.now(),
                cost=password_cost(settings),
            )

    outcome = await in_thread(attempt)
    if isinstance(outcome, UserError):
        return _form_page(
            request, "sign_in.html", secure, 401, after=after, name=name, error=str(outcome)
        )
    response = RedirectResponse(after, status_code=303, headers=HEADERS)
    response.set_cookie(
        COOKIE,
        outcome.token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/console",
        secure=secure,
        httponly=True,
        samesite="strict",
    )
    response.delete_cookie(SIGN_IN_COOKIE, path="/console")
    return response


@router.post("/sign-out")
async def sign_out_form(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep
) -> Response:
    await read_form(request, person.csrf_token)

    def end() -> None:
        with store.transaction() as conn:
            sign_out(conn, person.session_id, now=clock.now())

    await in_thread(end)
    response = RedirectResponse("/console/sign-in", status_code=303, headers=HEADERS)
    response.delete_cookie(COOKIE, path="/console")
    return response


@router.get("/set-password", response_class=HTMLResponse)
def set_password_page(
    request: Request, secure: SecureDep, token: str = Query("", max_length=200)
) -> HTMLResponse:
    return _form_page(request, "set_password.html", secure, link_token=token)


@router.post("/set-password", response_class=HTMLResponse)
async def set_password_form(
    request: Request, store: StoreDep, clock: ClockDep, settings: SettingsDep, secure: SecureDep
) -> Response:
    fields = await _pre_session_form(request)
    token = fields.get("token", "")
    password = fields.get("password", "")
    if not hmac.compare_digest(password, fields.get("again", "")):
        return _form_page(
            request,
            "set_password.html",
            secure,
            422,
            link_token=token,
            error="The two passwords differ: type the same password twice.",
        )

    def work() -> str:
        with store.transaction() as conn:
            return set_password_with_link(
                conn, token, password, now=clock.now(), cost=password_cost(settings)
            )

    try:
        name = await in_thread(work)
    except UserError as exc:
        return _form_page(
            request, "set_password.html", secure, 422, link_token=token, error=str(exc)
        )
    return _form_page(
        request,
        "sign_in.html",
        secure,
        after="/console/",
        name=name,
        notice="Your password is set: sign in with it.",
    )


def refused(request: Request, exc: ConsoleRefused) -> HTMLResponse:
    person = getattr(request.state, "person", None)
    return render(
        request,
        "refused.html",
        person=person,
        status=exc.status,
        code=exc.status,
        message=exc.message,
    )
