"""The console's users page, for admins: the tenant's people and its API keys.

People: list (role, last sign-in, state), create with a one-time link to set a password,
disable, reset (a new link: unlocks and enables again), change role. Keys: list by prefix,
issue (the key shown once), revoke. Every change goes through the functions the
``orchestrator users`` and ``orchestrator tenants key/revoke`` commands call
(:mod:`orchestrator.ops_users`, :mod:`orchestrator.tenancy`), scoped to the admin's own
tenant; an admin may not disable, reset or demote themselves (another admin can).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from orchestrator.api.console.session import (
    ConsoleRefused,
    PersonDep,
    in_thread,
    read_form,
    render,
    require,
)
from orchestrator.api.dependencies import ClockDep, SettingsDep, StoreDep
from orchestrator.ops_users import (
    Can,
    Credential,
    OpsPerson,
    OpsRole,
    UserError,
    create_user,
    disable_user,
    list_users,
    reset_user,
    set_role,
)
from orchestrator.tenancy import Role, issue_key, list_keys, revoke_key

router = APIRouter(prefix="/console", include_in_schema=False)

T = TypeVar("T")

NamePath = Path(max_length=64)
PrefixPath = Path(min_length=8, max_length=8, pattern="^[a-z2-7]{8}$")


def state_of(row: Any, now: datetime) -> str:
    """A user's state as the page and ``orchestrator users list`` say it."""
    if row.disabled_at is not None:
        return "disabled"
    if row.locked_until is not None and row.locked_until > now:
        return f"locked until {row.locked_until:%H:%M} UTC"
    if not row.has_password:
        return "waiting to set a password"
    return "active"


def _role(raw: str) -> OpsRole:
    try:
        return OpsRole(raw)
    except ValueError:
        known = ", ".join(r.value for r in OpsRole)
        raise ConsoleRefused(400, f"Unknown role {raw!r} (one of {known}).") from None


def _page(
    request: Request,
    person: OpsPerson,
    store: Any,
    clock: Any,
    *,
    notice: str = "",
    error: str = "",
    link: str = "",
    link_for: str = "",
    key: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    now = clock.now()
    with store.snapshot() as conn:
        users = list_users(conn, person.tenant_id)
        keys = list_keys(conn, person.tenant_id)
    return render(
        request,
        "users.html",
        person=person,
        active="users",
        users=[{"row": u, "state": state_of(u, now)} for u in users],
        keys=keys,
        roles=[r.value for r in OpsRole],
        key_roles=[r.value for r in Role],
        notice=notice,
        error=error,
        link=link,
        link_for=link_for,
        key=key,
        form=form or {},
        status=status,
    )


def _link(settings: Any, found: Credential) -> str:
    return f"{settings.public_url.rstrip('/')}/console/set-password?token={found.link_token}"


async def _change(
    request: Request,
    person: OpsPerson,
    store: Any,
    clock: Any,
    work: Callable[[Any], T],
    *,
    done: Callable[[T], dict[str, str]],
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """Run ``work`` in one transaction; show the page with what ``done`` says of its
    result, or with the :class:`UserError` it raised (422, nothing changed)."""

    def run() -> T:
        with store.transaction() as conn:
            return work(conn)

    try:
        result = await in_thread(run)
    except UserError as exc:
        return await in_thread(
            _page, request, person, store, clock, error=str(exc), status=422, form=form
        )
    return await in_thread(_page, request, person, store, clock, **done(result))


@router.get("/users", response_class=HTMLResponse)
def users_page(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep
) -> HTMLResponse:
    require(person, Can.MANAGE_USERS)
    return _page(request, person, store, clock)


@router.post("/users", response_class=HTMLResponse)
async def create_form(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep, settings: SettingsDep
) -> HTMLResponse:
    """Create a user of this tenant; the page shows their one-time link, once."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.MANAGE_USERS)
    name = fields.get("name", "").strip()
    role = _role(fields.get("role", ""))
    return await _change(
        request,
        person,
        store,
        clock,
        lambda conn: create_user(conn, person.tenant_id, name, role, now=clock.now(), link=True),
        done=lambda found: {
            "notice": f"Created {role} {name}. Send them this link to set a password.",
            "link": _link(settings, found),
            "link_for": name,
        },
        form={"name": name, "role": role.value},
    )


@router.post("/users/{name}", response_class=HTMLResponse)
async def user_form(
    request: Request,
    person: PersonDep,
    store: StoreDep,
    clock: ClockDep,
    settings: SettingsDep,
    name: str = NamePath,
) -> HTMLResponse:
    """``action=disable``, ``reset`` (a new one-time link) or ``role`` (with ``role``)."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.MANAGE_USERS)
    action = fields.get("action", "")
    if name == person.name:
        raise ConsoleRefused(
            400, "You may not disable, reset or change your own user: ask another admin."
        )
    tenant = person.tenant_id
    if action == "disable":
        return await _change(
            request,
            person,
            store,
            clock,
            lambda conn: disable_user(conn, name, now=clock.now(), tenant_id=tenant),
            done=lambda _: {"notice": f"Disabled {name}; their sessions have ended."},
        )
    if action == "reset":
        return await _change(
            request,
            person,
            store,
            clock,
            lambda conn: reset_user(conn, name, now=clock.now(), link=True, tenant_id=tenant),
            done=lambda found: {
                "notice": f"Reset {name}: unlocked and enabled, their sessions ended. Send "
                "them this new link to set a password.",
                "link": _link(settings, found),
                "link_for": name,
            },
        )
    if action == "role":
        role = _role(fields.get("role", ""))
        return await _change(
            request,
            person,
            store,
            clock,
            lambda conn: set_role(conn, name, role, tenant_id=tenant),
            done=lambda before: {"notice": f"{name} was {before}; now {role}."},
        )
    raise ConsoleRefused(400, f"Unknown action {action!r}.")


@router.post("/keys", response_class=HTMLResponse)
async def key_form(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep
) -> HTMLResponse:
    """Issue an API key of this tenant; the page shows it once."""
    fields = await read_form(request, person.csrf_token)
    require(person, Can.MANAGE_USERS)
    try:
        role = Role(fields.get("role", Role.LENDER.value))
    except ValueError:
        raise ConsoleRefused(400, "A key's role is lender or ops.") from None
    label = fields.get("label", "").strip()
    if len(label) > 200:
        raise ConsoleRefused(400, "A key's label may have at most 200 characters.")
    return await _change(
        request,
        person,
        store,
        clock,
        lambda conn: issue_key(conn, person.tenant_id, role=role, now=clock.now(), label=label),
        done=lambda key: {
            "notice": f"Issued a {role} key. Copy it now: it is shown this once.",
            "key": key,
        },
    )


@router.post("/keys/{prefix}/revoke", response_class=HTMLResponse)
async def revoke_form(
    request: Request, person: PersonDep, store: StoreDep, clock: ClockDep, prefix: str = PrefixPath
) -> HTMLResponse:
    await read_form(request, person.csrf_token)
    require(person, Can.MANAGE_USERS)

    def revoke(conn: Any) -> bool:
        if not revoke_key(conn, prefix, now=clock.now(), tenant_id=person.tenant_id):
            raise UserError(f"No active key co_{prefix}_… in {person.tenant_slug}.")
        return True

    return await _change(
        request,
        person,
        store,
        clock,
        revoke,
        done=lambda _: {"notice": f"Revoked key co_{prefix}_…: it stops working at once."},
    )
