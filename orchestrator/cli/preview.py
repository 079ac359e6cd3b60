"""``orchestrator templates preview STEP --account ID``: a step's message for a real account,
exactly as dispatch would render it now (the tenant's profile, the rule pack's disclosures)."""

from __future__ import annotations

import typer
from rich.console import Console

from orchestrator.cli import runtime

err = Console(stderr=True, soft_wrap=True)


def register(templates: typer.Typer) -> None:
    templates.command("preview")(preview_step)


def preview_step(
    step: str = typer.Argument(
        ..., help="The step: SEGMENT.STEP (e.g. standard.due_today) or just STEP."
    ),
    account: str = typer.Option(..., "--account", "-a", help="The account's external id."),
    tenant: str = typer.Option(..., "--tenant", "-t", help="Whose account it is."),
    channel: str = typer.Option(
        None, help="Render one of the step's fallback channels instead of its own."
    ),
    html: bool = typer.Option(False, "--html", help="Also print an email's HTML part."),
) -> None:
    """Render a strategy step's message for one account, as the borrower would receive it
    now: the account's data and locale, the tenant's profile, and the disclosures its rule
    pack requires (the debt-collector notice, the opt-out instructions)."""
    import sqlalchemy as sa

    from orchestrator.cli.templates import preview
    from orchestrator.domain import Channel
    from orchestrator.errors import TemplateError
    from orchestrator.intake.accounts import find_account
    from orchestrator.messages.account_context import message_context
    from orchestrator.planning.facts import RENDER_COLUMNS, load
    from orchestrator.services import Services
    from orchestrator.store.tables import Account, Attempt, Tenant

    services = Services.build(runtime.settings(), require_redis=False)
    config = services.config.get()
    found = [
        (segment, s)
        for segment, s in config.strategy_for(tenant).steps()
        if step in (s.id, f"{segment.id}.{s.id}")
    ]
    if not found:
        err.print(f"[bold red]error:[/] no step {step!r} in {tenant}'s strategy (try SEGMENT.STEP)")
        raise typer.Exit(2)
    _, chosen = found[0]
    routes = dict(chosen.routes())
    wanted = Channel(channel) if channel else chosen.channel
    if wanted not in routes:
        err.print(
            f"[bold red]error:[/] step {step!r} does not use {wanted}: it uses {', '.join(routes)}"
        )
        raise typer.Exit(2)
    now = services.clock.now()
    with services.store.snapshot() as conn:
        tenant_row = conn.execute(sa.select(Tenant).where(Tenant.slug == tenant)).first()
        if tenant_row is None:
            err.print(f"[bold red]error:[/] no tenant named {tenant!r}")
            raise typer.Exit(2)
        row = find_account(conn, tenant_row.id, account)
        if row is None:
            err.print(f"[bold red]error:[/] no account {account!r} for {tenant}")
            raise typer.Exit(2)
        selected = conn.execute(sa.select(*RENDER_COLUMNS).where(Account.id == row.id)).one()
        facts = load(conn, [selected], since=now - config.lookback_for(tenant))[row.id].facts
        contacted = conn.execute(
            sa.select(
                sa.exists().where(
                    Attempt.account_id == row.id,
                    Attempt.contact_kind.in_(["attempt", "conversation", "limited_content"]),
                )
            )
        ).scalar()
    pack = config.pack_for(row.jurisdiction, tenant)
    try:
        context = message_context(selected, facts, tenant_row.profile or {}, now=now)
        preview(
            config.templates_for(tenant),
            routes[wanted],
            wanted,
            row.locale,
            context,
            disclosures=pack.required_disclosures(wanted, initial=not contacted),
            show_html=html,
        )
    except TemplateError as exc:
        err.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from None
