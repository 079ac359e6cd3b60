"""``orchestrator tenants``: lenders and their API keys."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from orchestrator.cli import runtime

app = typer.Typer(help="Create tenants (lenders) and manage their API keys.", no_args_is_help=True)
out = Console()
err = Console(stderr=True, soft_wrap=True)


@app.command("create")
def create(
    name: str = typer.Argument(..., help="Short name: lower-case letters, digits, dashes."),
    display_name: str = typer.Option(None, help="The lender's name as borrowers see it."),
    support_phone: str = typer.Option(None, help="Where a borrower reaches a person."),
    payment_url: str = typer.Option(
        None, help="Where to pay; {reference} is replaced by the account's id."
    ),
    contact_person: str = typer.Option(None, help="A person voicemails may name."),
    ops: bool = typer.Option(False, "--ops", help="Issue an ops key (can edit configs)."),
) -> None:
    """Create a tenant and print its first API key (shown once: store it now).

    Messages need the tenant's support phone and payment URL; set them here or later with
    `orchestrator tenants profile NAME`."""
    from orchestrator.clock import SystemClock
    from orchestrator.tenancy import (
        Role,
        TenantExists,
        create_tenant,
        issue_key,
    )

    clock = SystemClock()
    store = runtime.open_store(runtime.settings())
    try:
        with store.transaction() as conn:
            tenant = create_tenant(
                conn,
                name,
                name=display_name or name,
                now=clock.now(),
                profile={
                    key: value
                    for key, value in {
                        "lender_name": display_name or name,
                        "support_phone": support_phone,
                        "payment_url": payment_url,
                        "contact_person": contact_person,
                    }.items()
                    if value
                },
            )
            key = issue_key(conn, tenant, role=Role.OPS if ops else Role.LENDER, now=clock.now())
    except (ValueError, TenantExists) as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from None
    out.print(f"Created tenant [bold]{name}[/]. Its {'ops' if ops else 'lender'} API key:")
    out.print(key, soft_wrap=True, highlight=False)
    out.print(
        "[dim]Shown once; only its hash is stored. Use it as `Authorization: Bearer <key>`.[/]"
    )


@app.command("key")
def key(
    name: str = typer.Argument(..., help="The tenant."),
    ops: bool = typer.Option(False, "--ops", help="Issue an ops key (can edit configs)."),
    label: str = typer.Option("", help="What the key is for."),
) -> None:
    """Issue another API key for a tenant (e.g. to rotate keys)."""
    from orchestrator.clock import SystemClock
    from orchestrator.tenancy import (
        Role,
        issue_key,
        tenant_id_for,
    )

    clock = SystemClock()
    store = runtime.open_store(runtime.settings())
    with store.transaction() as conn:
        tenant = tenant_id_for(conn, name)
        if tenant is None:
            err.print(
                f"[bold red]error:[/] no tenant named {name!r} (see `orchestrator tenants list`)"
            )
            raise typer.Exit(2)
        value = issue_key(
            conn, tenant, role=Role.OPS if ops else Role.LENDER, now=clock.now(), label=label
        )
    out.print(value, soft_wrap=True, highlight=False)


@app.command("revoke")
def revoke(
    prefix: str = typer.Argument(..., help="The key's prefix: the 8 letters after co_."),
) -> None:
    """Revoke an API key at once."""
    from orchestrator.clock import SystemClock
    from orchestrator.tenancy import (
        revoke_key,
    )

    store = runtime.open_store(runtime.settings())
    with store.transaction() as conn:
        done = revoke_key(conn, prefix, now=SystemClock().now())
    if not done:
        err.print(f"[bold red]error:[/] no active key with prefix {prefix!r}")
        raise typer.Exit(2)
    out.print(f"Revoked key co_{prefix}_…")


@app.command("list")
def list_tenants() -> None:
    """List tenants and their keys (prefixes only)."""
    import sqlalchemy as sa

    from orchestrator.store.tables import ApiKey, Tenant

    store = runtime.open_store(runtime.settings())
    table = Table("tenant", "name", "key", "role", "created", "revoked")
    with store.snapshot() as conn:
        rows = conn.execute(
            sa.select(
                Tenant.slug,
                Tenant.name,
                ApiKey.prefix,
                ApiKey.role,
                ApiKey.created_at,
                ApiKey.revoked_at,
            )
            .outerjoin(ApiKey, ApiKey.tenant_id == Tenant.id)
            .order_by(Tenant.slug, ApiKey.created_at)
        )
        for r in rows:
            table.add_row(
                r.slug,
                r.name,
                f"co_{r.prefix}_…" if r.prefix else "",
                r.role or "",
                f"{r.created_at:%Y-%m-%d %H:%M}" if r.created_at else "",
                f"{r.revoked_at:%Y-%m-%d %H:%M}" if r.revoked_at else "",
            )
    out.print(table)


@app.command("profile")
def profile(
    name: str = typer.Argument(..., help="The tenant."),
    lender_name: str = typer.Option(None, help="The business name borrowers know."),
    support_phone: str = typer.Option(None, help="Where a borrower reaches a person."),
    payment_url: str = typer.Option(
        None, help="Where to pay; {reference} is replaced by the account's id."
    ),
    contact_person: str = typer.Option(
        None, help="A person to ask for (limited-content voicemails must name one)."
    ),
    unsubscribe_url: str = typer.Option(
        None, help="An email opt-out link; {reference} is replaced by the account's id."
    ),
) -> None:
    """Show or change what borrowers see of the tenant in every message."""
    import sqlalchemy as sa

    from orchestrator.store.tables import Tenant

    store = runtime.open_store(runtime.settings())
    changes = {
        key: value
        for key, value in {
            "lender_name": lender_name,
            "support_phone": support_phone,
            "payment_url": payment_url,
            "contact_person": contact_person,
            "unsubscribe_url": unsubscribe_url,
        }.items()
        if value is not None
    }
    with store.transaction() as conn:
        row = conn.execute(sa.select(Tenant.id, Tenant.profile).where(Tenant.slug == name)).first()
        if row is None:
            err.print(
                f"[bold red]error:[/] no tenant named {name!r} (see `orchestrator tenants list`)"
            )
            raise typer.Exit(2)
        current = {**(row.profile or {}), **changes}
        if changes:
            conn.execute(sa.update(Tenant).where(Tenant.id == row.id).values(profile=current))
    table = Table("field", "value", title=f"{name}'s profile", title_justify="left")
    for key in ("lender_name", "support_phone", "payment_url", "contact_person", "unsubscribe_url"):
        table.add_row(key, str(current.get(key) or "[dim](not set)[/]"))
    out.print(table)
