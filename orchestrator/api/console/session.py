"""Who is signed in to the console, what they may do, and how a page is answered.

A console route takes :data:`PersonDep` (the signed-in person; a browser without a session
is sent to the sign-in page), checks a permission with :func:`require`, reads a form with
:func:`read_form` (which refuses a POST without the session's CSRF token) and answers with
:func:`render` (the shell, navigation and security headers). New pages add themselves to
:data:`NAV` and extend ``base.html``.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from orchestrator.api.dependencies import ClockDep, SettingsDep, StoreDep
from orchestrator.logs import mask_address, mask_text
from orchestrator.ops_users import Can, OpsPerson, session_person

T = TypeVar("T")

COOKIE = "co_console"
SIGN_IN_COOKIE = "co_console_sign_in"  # the sign-in form's CSRF token (double submit)

PAGES = Path(__file__).resolve().parent / "pages"
templates = Jinja2Templates(directory=str(PAGES))

HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


@dataclass(frozen=True, slots=True)
class NavItem:
    """One entry of the console's navigation: its label, its path, the key pages pass as
    ``active`` to mark it, and who sees it."""

    label: str
    path: str
    key: str
    permission: Can = Can.READ


NAV: list[NavItem] = [
    NavItem("Overview", "/console/", "overview"),
    NavItem("Accounts", "/console/accounts", "accounts"),
    NavItem("Visits", "/console/visits", "visits"),
    NavItem("Channels", "/console/channels", "channels"),
    NavItem("Strategies", "/console/strategies", "strategy"),
    NavItem("Templates", "/console/templates", "templates"),
    NavItem("Rules", "/console/rules", "rules"),
    NavItem("Results", "/console/results", "results"),
    NavItem("Users", "/console/users", "users", Can.MANAGE_USERS),
]


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page, then back to ``after``."""

    def __init__(self, after: str) -> None:
        super().__init__(after)
        self.after = after


class ConsoleRefused(Exception):
    """A console request refused with a page saying why (403: not allowed; 404: not
    there; 400: a form that cannot be read)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _person(request: Request, store: StoreDep, clock: ClockDep) -> OpsPerson:
    token = request.cookies.get(COOKIE)
    found = None
    if token:
        with store.transaction() as conn:
            found = session_person(conn, token, now=clock.now())
    if found is None:
        after = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInNeeded(after if request.method == "GET" else "/console/")
    request.state.person = found
    return found


PersonDep = Annotated[OpsPerson, Depends(_person)]


def require(person: OpsPerson, permission: Can) -> None:
    """Refuse (403) unless ``person``'s role allows ``permission``."""
    if not person.can(permission):
        raise ConsoleRefused(
            403, f"Your role ({person.role}) may not {permission}. Ask an admin if you need to."
        )


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request, expected_csrf: str) -> dict[str, str]:
    """The URL-encoded form a POST sent, after checking its ``csrf`` field against
    ``expected_csrf`` (and its Origin, when the browser sends one); refuses (403) otherwise,
    before anything is read from the store or changed."""
    raw = await request.body()
    try:
        fields = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise ConsoleRefused(400, "The form must be sent as UTF-8.") from None
    sent = fields.pop("csrf", "")
    if not _same_origin(request) or not hmac.compare_digest(sent, expected_csrf):
        raise ConsoleRefused(
            403,
            "This form's security token is missing or out of date, so nothing was changed: "
            "reload the page and send it again.",
        )
    return fields


def contact_shown(person: OpsPerson | None) -> Any:
    """How a page shows a phone number, email address or push token to ``person``:
    masked unless their role reads contact data."""

    def shown(value: str | None) -> str:
        if not value:
            return ""
        if person is not None and person.can(Can.SEE_CONTACT_DATA):
            return value
        return mask_address(value)

    return shown


def _text_shown(person: OpsPerson | None) -> Any:
    """Free text (a ledger sentence) with any number or address in it masked, unless the
    person's role reads contact data."""
    if person is not None and person.can(Can.SEE_CONTACT_DATA):
        return lambda text: text or ""
    return lambda text: mask_text(text or "")


def render(
    request: Request,
    template: str,
    *,
    person: OpsPerson | None,
    active: str = "",
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A console page: ``template`` (which extends ``base.html``) with the navigation, the
    person and their CSRF token, and the console's security headers."""
    response = templates.TemplateResponse(
        request,
        template,
        {
            "person": person,
            "nav": [n for n in NAV if person.can(n.permission)] if person is not None else [],
            "active": active,
            "csrf": person.csrf_token if person is not None else "",
            "contact": contact_shown(person),
            "masked": _text_shown(person),
            "Can": Can,
            **context,
        },
        status_code=status,
    )
    response.headers.update(HEADERS)
    return response


def secure_cookies(settings: SettingsDep) -> bool:
    return settings.console_secure_cookies


def sign_in_url(after: str) -> str:
    return f"/console/sign-in?next={quote(after, safe='/')}"


async def in_thread(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run store work off the event loop (the console's routes are ``async`` to read
    forms)."""
    return await run_in_threadpool(function, *args, **kwargs)
