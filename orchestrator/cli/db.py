"""``orchestrator db``: the store's schema."""

from __future__ import annotations

import typer
from rich.console import Console

from orchestrator.cli import runtime

app = typer.Typer(help="Create or migrate the database schema (Alembic).", no_args_is_help=True)
out = Console()


@app.command("upgrade")
def upgrade_command(
    revision: str = typer.Argument("head", help="Target revision; the newest by default."),
) -> None:
    """Create the tables, or migrate them to the newest schema. Safe to run again."""
    from orchestrator.store.db import describe
    from orchestrator.store.migrate import current, upgrade

    config = runtime.settings()
    store = runtime.open_store(config, require_schema=False)
    before = current(store.engine)
    upgrade(store.engine, revision)
    after = current(store.engine)
    where = describe(config.effective_database_url)
    if before == after:
        out.print(f"{where} is already at revision {', '.join(after)}.")
    else:
        out.print(f"Migrated {where} to revision {', '.join(after)}.")


@app.command("status")
def status_command() -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    from orchestrator.store.db import describe
    from orchestrator.store.migrate import current, heads

    config = runtime.settings()
    store = runtime.open_store(config, require_schema=False)
    out.print(f"database: {describe(config.effective_database_url)}")
    out.print(f"current:  {', '.join(current(store.engine)) or '(empty)'}")
    out.print(f"newest:   {', '.join(heads(store.engine))}")


@app.command("rollups")
def rollups_command(
    tenant: str = typer.Option(
        None, "--tenant", "-t", help="Only this tenant (default: every tenant)."
    ),
    recount: bool = typer.Option(
        False, "--rebuild", help="Recount the totals from the rows instead of folding."
    ),
) -> None:
    """Bring the overview's kept counts up to date (docs/results.md, "The overview's reads").

    By default folds the changes written since the last pass into the totals, as the
    scheduler does every sweep. [bold]--rebuild[/] recounts them from the rows (the backfill
    migration 0011 does the same): a repair, and on PostgreSQL writers to accounts, tasks,
    attempts and the ledger wait until it commits. It also drops the kept months of
    champion/challenger results (docs/results.md), each counted again when next read.

    Example: [bold]orchestrator db rollups --rebuild -t acme[/]
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from orchestrator.store.rollup import REBUILD_STEPS, fold_all, rebuild
    from orchestrator.tenancy import tenant_id_for

    store = runtime.open_store(runtime.settings())
    ids: list[int] | None = None
    if tenant is not None:
        with store.snapshot() as conn:
            found = tenant_id_for(conn, tenant)
        if found is None:
            Console(stderr=True).print(
                f"[bold red]error:[/] no tenant named {tenant!r}: "
                "[bold]orchestrator tenants list[/] shows them."
            )
            raise typer.Exit(2)
        ids = [found]
    if not recount:
        from orchestrator.store import kept_results

        marks = kept_results.fold_all(store)
        out.print(f"Folded {fold_all(store):,} changes into the totals.")
        out.print(f"Folded {marks:,} marks into the kept months of results.")
        return
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[what]}"),
    )
    with progress, store.transaction() as conn:
        task = progress.add_task("recount", total=len(REBUILD_STEPS), what="locking")
        rebuild(conn, ids, progress=lambda what: progress.update(task, advance=1, what=what))
    out.print(f"Recounted the totals of {tenant or 'every tenant'}.")
    from orchestrator.store import kept_results

    dropped = kept_results.forget(store, ids)
    out.print(f"Dropped {dropped:,} kept months of results; each is counted again when next read.")
