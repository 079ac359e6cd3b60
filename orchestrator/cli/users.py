"""``orchestrator users``: the named people who sign in to the ops console."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli import runtime
from orchestrator.ops_users import OpsRole

if TYPE_CHECKING:
    from orchestrator.ops_users import Credential

app = typer.Typer(
    help=(
        "Named ops users of the console (/console), each with one role in one tenant:\n\n"
        "[bold]viewer[/] reads everything, contact data masked; [bold]operator[/] edits "
        "channels, templates and strategies; [bold]compliance[/] edits rule overlays and "
        "waivers and reads contact data; [bold]admin[/] manages users and keys and may do "
        "everything. Lender API keys stay for machines (`orchestrator tenants`)."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
)
out = Console()
err = Console(stderr=True, soft_wrap=True)

LinkOption = typer.Option(
    False,
    "--link",
    help="Print a one-time link (24 hours) to set a password, instead of a password.",
)


def _handed_over(found: Credential, what: str) -> None:
    settings = runtime.settings()
    if found.link_token is not None:
        url = f"{settings.public_url.rstrip('/')}/console/set-password?token={found.link_token}"
        out.print(f"{what} Send [bold]{found.name}[/] this one-time link to set a password:")
        out.print(url, soft_wrap=True, highlight=False)
        expires = f"{found.link_expires_at:%Y-%m-%d %H:%M} UTC" if found.link_expires_at else ""
        out.print(f"[dim]Valid once, until {expires}; only its hash is stored.[/]")
    else:
        out.print(f"{what} Initial password for [bold]{found.name}[/]:")
        out.print(found.password, soft_wrap=True, highlight=False)
        out.print("[dim]Shown once; only its scrypt hash is stored. Sign in at /console.[/]")


def _fail(message: str) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}")
    return typer.Exit(2)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="The sign-in name, e.g. ann.lee (lower case)."),
    tenant: str = typer.Option(..., "--tenant", "-t", help="The tenant the user works for."),
    role: OpsRole = typer.Option(..., "--role", "-r", help="viewer, operator, compliance, admin."),
    link: bool = LinkOption,
) -> None:
    """Create a user and print their initial password (or a one-time link), once.

    The first admin of a tenant is made here; after that admins make the others."""
    from orchestrator.clock import SystemClock
    from orchestrator.ops_users import UserError, create_user, password_cost
    from orchestrator.tenancy import tenant_id_for

    settings = runtime.settings()
    store = runtime.open_store(settings)
    try:
        with store.transaction() as conn:
            tenant_id = tenant_id_for(conn, tenant)
            if tenant_id is None:
                raise _fail(f"no tenant named {tenant!r} (see `orchestrator tenants list`)")
            found = create_user(
                conn,
                tenant_id,
                name,
                role,
                now=SystemClock().now(),
                link=link,
                cost=password_cost(settings),
            )
    except UserError as exc:
        raise _fail(str(exc)) from None
    _handed_over(found, f"Created {role} [bold]{name}[/] in {tenant}.")


@app.command("list")
def list_command(
    tenant: str = typer.Option(None, "--tenant", "-t", help="Only this tenant's users."),
) -> None:
    """List users: tenant, role, and whether they are disabled, locked or still to set a
    password."""
    from orchestrator.clock import SystemClock
    from orchestrator.ops_users import list_users
    from orchestrator.tenancy import tenant_id_for

    store = runtime.open_store(runtime.settings())
    now = SystemClock().now()
    table = Table("user", "tenant", "role", "created", "last sign-in (UTC)", "state")
    with store.snapshot() as conn:
        tenant_id = None
        if tenant is not None:
            tenant_id = tenant_id_for(conn, tenant)
            if tenant_id is None:
                raise _fail(f"no tenant named {tenant!r} (see `orchestrator tenants list`)")
        for row in list_users(conn, tenant_id):
            if row.disabled_at is not None:
                state = f"disabled {row.disabled_at:%Y-%m-%d %H:%M}"
            elif row.locked_until is not None and row.locked_until > now:
                state = f"locked until {row.locked_until:%H:%M} UTC"
            elif not row.has_password:
                state = "waiting to set a password"
            else:
                state = "active"
            last = f"{row.last_sign_in:%Y-%m-%d %H:%M}" if row.last_sign_in else "never"
            table.add_row(row.name, row.slug, row.role, f"{row.created_at:%Y-%m-%d}", last, state)
    # The terminal's width as it is now (a module-level console measured it at import).
    Console().print(table)


@app.command("disable")
def disable(name: str = typer.Argument(..., help="The user.")) -> None:
    """Stop a user signing in and end their sessions at once (`reset` enables them
    again)."""
    from orchestrator.clock import SystemClock
    from orchestrator.ops_users import UserError, disable_user

    store = runtime.open_store(runtime.settings())
    try:
        with store.transaction() as conn:
            disable_user(conn, name, now=SystemClock().now())
    except UserError as exc:
        raise _fail(str(exc)) from None
    out.print(f"Disabled {name}; their sessions have ended.")


@app.command("reset")
def reset(name: str = typer.Argument(..., help="The user."), link: bool = LinkOption) -> None:
    """Give a user a new initial password (or a one-time link): unlocks them, enables them
    if disabled, and ends their sessions."""
    from orchestrator.clock import SystemClock
    from orchestrator.ops_users import UserError, password_cost, reset_user

    settings = runtime.settings()
    store = runtime.open_store(settings)
    try:
        with store.transaction() as conn:
            found = reset_user(
                conn, name, now=SystemClock().now(), link=link, cost=password_cost(settings)
            )
    except UserError as exc:
        raise _fail(str(exc)) from None
    _handed_over(found, f"Reset {name}.")


@app.command("role")
def role_command(
    name: str = typer.Argument(..., help="The user."),
    role: OpsRole = typer.Argument(..., help="viewer, operator, compliance, admin."),
) -> None:
    """Give a user another role; it applies from their next request."""
    from orchestrator.ops_users import UserError, set_role

    store = runtime.open_store(runtime.settings())
    try:
        with store.transaction() as conn:
            before = set_role(conn, name, role)
    except UserError as exc:
        raise _fail(str(exc)) from None
    out.print(f"{name} was {before}; now {role}.")
