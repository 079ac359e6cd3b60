"""The ``orchestrator`` command: one entry point for every part of the service."""

from __future__ import annotations

import sys

import typer
from rich.console import Console
from rich.markup import escape

from orchestrator.errors import ConfigError, ServiceUnavailable

app = typer.Typer(
    name="orchestrator",
    help=(
        "A compliant omnichannel collections contact orchestrator.\n\n"
        "Lenders push overdue accounts; it plans SMS, email, push, call, WeChat and letter "
        "contacts, keeps quiet hours, frequency caps and holds, sends through provider "
        "adapters and records every decision in a ledger.\n\n"
        "Start with [bold]orchestrator demo[/bold]; settings come from the environment "
        "(DATABASE_URL, REDIS_URL, ORCHESTRATOR_*): see README.md."
    ),
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)


def _register() -> None:
    from channels.sandbox.command import sandbox
    from orchestrator.cli import (
        accounts,
        alive,
        bench,
        config,
        db,
        demo,
        keys,
        letters,
        preview,
        queue,
        results,
        scheduler,
        serve,
        simulate,
        tenants,
        users,
    )
    from orchestrator.cli.templates import templates_app

    preview.register(templates_app)
    app.add_typer(db.app, name="db")
    app.add_typer(config.app, name="config")
    app.add_typer(templates_app, name="templates")
    app.add_typer(tenants.app, name="tenants")
    app.add_typer(users.app, name="users")
    app.add_typer(accounts.app, name="accounts")
    app.add_typer(bench.app, name="bench")
    app.add_typer(queue.app, name="queue")
    app.add_typer(keys.app, name="keys")
    app.add_typer(letters.app, name="letters")
    serve.register(app)
    simulate.register(app)
    results.register(app)
    scheduler.register(app)
    demo.register(app)
    alive.register(app)
    app.command("sandbox")(sandbox)


def main() -> None:
    _register()
    try:
        app()
    except ServiceUnavailable as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    except ConfigError as exc:
        err.print(f"[bold red]error:[/] {escape(str(exc))}")
        sys.exit(2)
