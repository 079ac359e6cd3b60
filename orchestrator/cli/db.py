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
